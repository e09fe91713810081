"""Reward models: the pluggable half of text generation as RL."""

from textrl.rewards.base import RewardModel
from textrl.rewards.bleu import BLEUReward
from textrl.rewards.composite import CompositeReward, KLPenalty, at_last_token
from textrl.rewards.discriminator import REWARD_FORMS, CNNDiscriminator
from textrl.rewards.monte_carlo import MonteCarloReward, reference_q_values
from textrl.rewards.ranker import Ranker, rank_scores
from textrl.rewards.simple import ConstantReward, OracleReward

__all__ = ["REWARD_FORMS", "BLEUReward", "CNNDiscriminator", "CompositeReward", "ConstantReward",
           "KLPenalty", "MonteCarloReward", "OracleReward", "Ranker", "RewardModel", "at_last_token",
           "rank_scores", "reference_q_values"]

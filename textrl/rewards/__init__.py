"""Reward models: the pluggable half of text generation as RL."""

from textrl.rewards.answer import AnswerReward
from textrl.rewards.base import LearnedReward, Reward, as_reward, at_last_token, pay
from textrl.rewards.bleu import BLEUReward
from textrl.rewards.composite import CompositeReward, KLPenalty
from textrl.rewards.discriminator import REWARD_FORMS, CNNDiscriminator
from textrl.rewards.function import FunctionReward, load_reward
from textrl.rewards.monte_carlo import MonteCarloReward, reference_q_values
from textrl.rewards.ranker import Ranker, rank_scores
from textrl.rewards.reference_bleu import ReferenceBLEU
from textrl.rewards.simple import ConstantReward, OracleReward
from textrl.rewards.token_discriminator import InfillCritic, TokenDiscriminator

__all__ = ["REWARD_FORMS", "AnswerReward", "BLEUReward", "CNNDiscriminator", "CompositeReward",
           "ConstantReward", "FunctionReward", "InfillCritic", "KLPenalty", "LearnedReward",
           "MonteCarloReward", "OracleReward", "Ranker", "ReferenceBLEU", "Reward",
           "TokenDiscriminator", "as_reward", "at_last_token", "load_reward", "pay", "rank_scores",
           "reference_q_values"]

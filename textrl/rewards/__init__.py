"""Reward models: the pluggable half of text generation as RL."""

from textrl.rewards.base import RewardModel
from textrl.rewards.simple import ConstantReward, OracleReward

__all__ = ["ConstantReward", "OracleReward", "RewardModel"]

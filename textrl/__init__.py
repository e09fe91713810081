"""textrl: reinforcement learning on discrete sequences."""

from textrl.agents import PPO, ActorCritic, BehaviourCloning, PolicyGradient, Rollout
from textrl.data import CharTokenizer, Corpus, Vocab, WordTokenizer, length_mask
from textrl.envs import ENV_ID, TextGenerationEnv, TextVecEnv
from textrl.errors import DataError, UserError
from textrl.metrics import nll_oracle, nll_test, perplexity
from textrl.models import LMConfig, Policy, RecurrentLM, sample_categorical
from textrl.oracle import OracleLSTM
from textrl.recipes import RECIPES, recipe_config, train
from textrl.rewards import (
    BLEUReward,
    CNNDiscriminator,
    CompositeReward,
    ConstantReward,
    FunctionReward,
    KLPenalty,
    LearnedReward,
    MonteCarloReward,
    OracleReward,
    Ranker,
    Reward,
)
from textrl.training import AdversarialTrainer, load_run, run_training

__version__ = "0.1.0"

__all__ = ["ENV_ID", "PPO", "RECIPES", "ActorCritic", "AdversarialTrainer", "BLEUReward",
           "BehaviourCloning", "CNNDiscriminator", "CharTokenizer", "CompositeReward",
           "ConstantReward", "Corpus", "DataError", "FunctionReward", "KLPenalty", "LMConfig",
           "LearnedReward", "MonteCarloReward", "OracleLSTM", "OracleReward", "Policy",
           "PolicyGradient", "Ranker", "RecurrentLM", "Reward", "Rollout", "TextGenerationEnv",
           "TextVecEnv", "UserError", "Vocab", "WordTokenizer", "length_mask", "load_run",
           "nll_oracle", "nll_test", "perplexity", "recipe_config", "run_training",
           "sample_categorical", "train"]

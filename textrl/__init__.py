"""textrl: reinforcement learning on discrete sequences."""

from textrl.agents import PPO, ActorCritic, BehaviourCloning, PolicyGradient, Rollout
from textrl.algorithms import AdversarialConfig, recipe_config
from textrl.data import CharTokenizer, Corpus, Vocab, WordTokenizer, length_mask
from textrl.envs import ENV_ID, TextGenerationEnv, TextVecEnv
from textrl.errors import DataError, UserError
from textrl.metrics import nll_oracle, nll_test, perplexity
from textrl.models import LMConfig, RecurrentLM, sample_categorical
from textrl.oracle import OracleLSTM
from textrl.rewards import (
    BLEUReward,
    CNNDiscriminator,
    CompositeReward,
    ConstantReward,
    KLPenalty,
    MonteCarloReward,
    OracleReward,
    Ranker,
    RewardModel,
)
from textrl.training import AdversarialTrainer, MLEConfig, train_adversarial, train_mle

__version__ = "0.1.0"

__all__ = ["ENV_ID", "PPO", "ActorCritic", "AdversarialConfig", "AdversarialTrainer", "BLEUReward",
           "BehaviourCloning", "CNNDiscriminator", "CharTokenizer", "CompositeReward",
           "ConstantReward", "Corpus", "DataError", "KLPenalty", "LMConfig", "MLEConfig",
           "MonteCarloReward", "OracleLSTM", "OracleReward", "PolicyGradient", "Ranker",
           "RecurrentLM", "RewardModel", "Rollout", "TextGenerationEnv", "TextVecEnv", "UserError",
           "Vocab", "WordTokenizer", "length_mask", "nll_oracle", "nll_test", "perplexity",
           "recipe_config", "sample_categorical", "train_adversarial", "train_mle"]

"""textrl: reinforcement learning on discrete sequences."""

from textrl.agents import BehaviourCloning
from textrl.data import CharTokenizer, Corpus, Vocab, WordTokenizer, length_mask
from textrl.envs import ENV_ID, TextGenerationEnv, TextVecEnv
from textrl.errors import DataError, UserError
from textrl.metrics import nll_oracle, nll_test, perplexity
from textrl.models import LMConfig, RecurrentLM, sample_categorical
from textrl.oracle import OracleLSTM
from textrl.rewards import ConstantReward, OracleReward, RewardModel
from textrl.training import MLEConfig, train_mle

__version__ = "0.1.0"

__all__ = ["ENV_ID", "BehaviourCloning", "CharTokenizer", "ConstantReward", "Corpus", "DataError",
           "LMConfig", "MLEConfig", "OracleLSTM", "OracleReward", "RecurrentLM", "RewardModel",
           "TextGenerationEnv", "TextVecEnv", "UserError", "Vocab", "WordTokenizer", "length_mask",
           "nll_oracle", "nll_test", "perplexity", "sample_categorical", "train_mle"]

"""textrl: reinforcement learning on discrete sequences."""

from textrl.agents import BehaviourCloning
from textrl.data import CharTokenizer, Corpus, Vocab, WordTokenizer, length_mask
from textrl.errors import DataError, UserError
from textrl.metrics import nll_oracle, nll_test, perplexity
from textrl.models import LMConfig, RecurrentLM, sample_categorical
from textrl.oracle import OracleLSTM
from textrl.training import MLEConfig, train_mle

__version__ = "0.1.0"

__all__ = ["BehaviourCloning", "CharTokenizer", "Corpus", "DataError", "LMConfig", "MLEConfig",
           "OracleLSTM", "RecurrentLM", "UserError", "Vocab", "WordTokenizer", "length_mask",
           "nll_oracle", "nll_test", "perplexity", "sample_categorical", "train_mle"]

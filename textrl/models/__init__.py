"""Neural network modules: the recurrent policy and its sampler."""

from textrl.models.modes import eval_mode
from textrl.models.recurrent import LMConfig, RecurrentLM, Sample
from textrl.models.sampling import sample_categorical

__all__ = ["eval_mode", "LMConfig", "RecurrentLM", "Sample", "sample_categorical"]

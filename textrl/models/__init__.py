"""Neural network modules: the recurrent policy and its sampler."""

from textrl.models.recurrent import LMConfig, RecurrentLM, Sample
from textrl.models.sampling import sample_categorical

__all__ = ["LMConfig", "RecurrentLM", "Sample", "sample_categorical"]

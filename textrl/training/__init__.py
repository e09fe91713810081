"""Training loops, run directories and checkpoints."""

from textrl.training.mle import MLEConfig, train_mle
from textrl.training.runs import RunDir

__all__ = ["MLEConfig", "RunDir", "train_mle"]

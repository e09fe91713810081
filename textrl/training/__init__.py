"""Training loops, run directories and checkpoints."""

from textrl.training.adversarial import AdversarialTrainer, train_adversarial
from textrl.training.mle import MLEConfig, train_mle
from textrl.training.runs import RunDir

__all__ = ["AdversarialTrainer", "MLEConfig", "RunDir", "train_adversarial", "train_mle"]

"""Trainers, the one run loop, run directories and checkpoints."""

from textrl.training.adversarial import (
    AdversarialConfig,
    AdversarialTrainer,
    DStepConfig,
    RealSentences,
    RolloutConfig,
)
from textrl.training.base import Trainer
from textrl.training.loop import LoadedRun, RunOptions, load_run, run_training
from textrl.training.mle import MLEConfig, MLETrainer
from textrl.training.runs import RunDir

__all__ = ["AdversarialConfig", "AdversarialTrainer", "DStepConfig", "LoadedRun", "MLEConfig",
           "MLETrainer", "RealSentences", "RolloutConfig", "RunDir", "RunOptions", "Trainer",
           "load_run", "run_training"]

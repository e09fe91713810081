"""The narrow base of every trainer: the bookkeeping the run loop reads, set once here, so a
trainer says only what it does differently (its step, its evaluation, its state)."""

from __future__ import annotations

from typing import ClassVar

import torch

from textrl.data.corpus import Corpus
from textrl.datasets import DataConfig, data_fingerprint
from textrl.models.base import Policy


class Trainer:
    """What the run loop (:func:`textrl.training.run_training`) needs from a trainer.

    ``kind`` tags its checkpoints; ``unit`` names a step in the log ("epoch", "iteration");
    ``total``, ``eval_every`` and ``checkpoint_every`` count steps; ``generator`` is its
    random stream (saved with torch's global one); ``progress`` is set by the loop (show
    bars for long phases); ``plotted`` names the metrics of the learning curve (``None``:
    all). ``begin()`` returns the start of step 0's record (the starting policy's
    evaluation) or ``None``; then ``pretrain_rounds`` calls of ``pretrain_round(i)``
    (reward pretraining; each is checkpointed, so a run stopped there resumes there).
    ``train_step(step)`` runs step ``step`` (1-based) and ``evaluate(step)`` scores the
    policy after it; ``stopped`` ends the run early. ``data`` (with its ``fingerprint``,
    hashed once), ``vocab``, ``max_len`` and ``policy`` are what loading the run needs;
    ``state_dict`` and ``load_state_dict`` the rest of its state (optimisers, reward,
    rollout policy).
    """

    kind: ClassVar[str]
    unit: ClassVar[str]
    plotted: ClassVar[list[str] | None] = None
    pretrain_rounds = 0
    progress = False

    def __init__(self, policy: Policy, corpus: Corpus, data: DataConfig, total: int,
                 eval_every: int, checkpoint_every: int, generator: torch.Generator):
        self.policy, self.corpus, self.data = policy, corpus, data
        self.vocab, self.max_len = corpus.vocab, corpus.max_len
        self.fingerprint = data_fingerprint(data)  # hashed once, not at every checkpoint
        self.total, self.eval_every, self.checkpoint_every = total, eval_every, checkpoint_every
        self.generator = generator

    @property
    def stopped(self) -> bool:
        """Whether the run ends before ``total`` (texar's learning-rate rule)."""
        return False

    def begin(self) -> dict | None:
        return None

    def pretrain_round(self, index: int) -> dict:
        raise NotImplementedError  # called only when pretrain_rounds > 0

    def train_step(self, step: int) -> dict:
        raise NotImplementedError

    def evaluate(self, step: int) -> dict:
        raise NotImplementedError

    def state_dict(self) -> dict:
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError

"""texar's learning-rate rule for language models and VAEs (asyml/texar examples/vae_text,
``vae_train.py``): when the validation NLL has not improved for ``patience`` evaluations in
a row, go back to the weights and optimiser state of the best evaluation, halve the learning
rate, and stop training at the ``halvings``-th halving. The rule is behind texar's published
PTB numbers (101.92 per sentence for the VAE at 256/256, z = 32)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from textrl import distributed
from textrl.errors import UserError
from textrl.settings import check_at_least

FACTOR = 0.5  # texar's decay_factor


@dataclass
class LRPlateauConfig:
    """The learning rate over a run: fixed, or texar's halving on a validation plateau."""

    lr_patience: int = 0
    """halve the learning rate when the validation NLL has not improved for this many
    evaluations (every --eval-every epochs) in a row, first going back to the weights and
    optimiser state of the best evaluation (texar's rule; its PTB recipe: 2); the log's row at
    a halving scores the weights set aside, and checkpoint.pt also holds the best evaluation's
    model and optimiser; 0: a fixed learning rate"""
    lr_halvings: int = 5
    """with --lr-patience: training stops at this many halvings (texar: 5)"""

    def __post_init__(self) -> None:
        check_at_least(self, 0, ("lr_patience",))
        check_at_least(self, 1, ("lr_halvings",))

    def check_one_process(self) -> None:
        """The rule acts where the model is evaluated, on process 0 alone: refuse it under
        torchrun (call once the processes are started)."""
        if self.lr_patience and distributed.active():
            raise UserError("--lr-patience runs in one process only (the rule acts where the "
                            "model is evaluated); run without torchrun or drop it")


class PlateauHalving:
    """Applies ``config``'s rule to ``model`` and ``optimizer`` after each evaluation.

    >>> model = nn.Linear(2, 1)
    >>> rule = PlateauHalving(LRPlateauConfig(lr_patience=1, lr_halvings=2), model,
    ...                       torch.optim.Adam(model.parameters(), lr=0.1))
    >>> [rule.observe(nll)["lr"] for nll in (3.0, 2.0, 2.5, 2.1, 1.0, 1.5)]
    [0.1, 0.1, 0.05, 0.025, 0.025, 0.0125]
    >>> rule.stopped
    True
    """

    def __init__(self, config: LRPlateauConfig, model: nn.Module,
                 optimizer: torch.optim.Optimizer):
        self.config, self.model, self.optimizer = config, model, optimizer
        self.best_nll, self.waited, self.halvings = float("inf"), 0, 0
        self.best: dict | None = None  # the model and optimiser at the best evaluation

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    @property
    def stopped(self) -> bool:
        return bool(self.config.lr_patience) and self.halvings >= self.config.lr_halvings

    def observe(self, nll: float) -> dict:
        """Take one evaluation's validation NLL; returns ``{"lr": the rate from now on}`` (``{}``
        with the rule off)."""
        if not self.config.lr_patience:
            return {}
        if nll < self.best_nll:
            self.best_nll, self.waited = nll, 0
            self.best = {"model": copy.deepcopy(self.model.state_dict()),
                         "optimizer": copy.deepcopy(self.optimizer.state_dict())}
            return {"lr": self.lr}
        self.waited += 1
        if self.waited == self.config.lr_patience and self.best is not None:
            # Copies: the optimiser keeps the tensors it is given and updates them in place,
            # and the snapshot must survive for a later halving without a better evaluation.
            halved = self.lr * FACTOR
            self.model.load_state_dict(self.best["model"])
            self.optimizer.load_state_dict(copy.deepcopy(self.best["optimizer"]))
            for group in self.optimizer.param_groups:
                group["lr"] = halved
            self.waited, self.halvings = 0, self.halvings + 1
        return {"lr": self.lr}

    def state_dict(self) -> dict:
        return {"best_nll": self.best_nll, "waited": self.waited, "halvings": self.halvings,
                "best": self.best}

    def load_state_dict(self, state: dict | None) -> None:
        if state is not None:  # None: a checkpoint from before the rule existed
            self.best_nll, self.waited = state["best_nll"], state["waited"]
            self.halvings, self.best = state["halvings"], state["best"]

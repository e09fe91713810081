"""Maximum likelihood = behaviour cloning of the data, with optional scheduled sampling."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from textrl import distributed
from textrl.data.corpus import Split
from textrl.models.base import Policy
from textrl.models.sampling import sample_categorical
from textrl.optimization import adam, optimizer_step
from textrl.tasks.base import Task

SCHEDULES = ("none", "linear", "exponential", "inverse_sigmoid")


def teacher_forcing_prob(schedule: str, epoch: int, k: float, floor: float = 0.0) -> float:
    """Probability of feeding the true previous token in ``epoch`` (0-based), Bengio et al.
    2015: linear ``1 - k*epoch``, exponential ``k**epoch``, inverse sigmoid ``k/(k+e^(epoch/k))``.
    """
    if schedule == "none":
        return 1.0
    if schedule == "linear":
        p = 1.0 - k * epoch
    elif schedule == "exponential":
        p = k**epoch
    elif schedule == "inverse_sigmoid":
        p = k / (k + math.exp(epoch / k))
    else:
        raise ValueError(f"unknown schedule {schedule!r}; use one of {SCHEDULES}")
    return max(floor, min(1.0, p))


class BehaviourCloning:
    """MLE on demonstrations: Adam, gradient-norm clipping, shuffled mini-batches.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> lm = RecurrentLM(LMConfig(vocab_size=10))
    >>> data = Split(torch.randint(10, (32, 5)), torch.full((32,), 5))
    >>> stats = BehaviourCloning(lm, batch_size=8).train_epoch(data, torch.Generator())
    >>> sorted(stats)
    ['grad_norm', 'loss']
    """

    def __init__(self, policy: Policy, lr: float = 0.01, grad_clip: float = 5.0,
                 batch_size: int = 64):
        self.policy = policy
        self.optimizer = adam(policy.parameters(), lr=lr)
        self.grad_clip = grad_clip
        self.batch_size = batch_size

    def update(self, tokens: torch.Tensor, lengths: torch.Tensor, teacher_forcing: float = 1.0,
               generator: torch.Generator | None = None, context: Any = None,
               chosen: torch.Tensor | None = None) -> dict[str, float]:
        """One gradient step on ``tokens [B, T]`` under ``context``; returns the batch's mean
        NLL per scored token: the positions ``chosen [B, T]`` the policy writes (the blanked
        words of an in-filling template), every real position when not given."""
        inputs = None
        if teacher_forcing < 1.0:
            inputs = self._scheduled_inputs(tokens, teacher_forcing, generator, context)
        log_probs = self.policy.log_prob(tokens, lengths, context, inputs=inputs)
        scored = lengths.sum() if chosen is None else chosen.sum()
        loss = -log_probs.sum() / distributed.mean_denominator(scored)
        grad_norm = optimizer_step(self.optimizer, loss, "MLE update", self.grad_clip)
        return {"loss": loss.item(), "grad_norm": grad_norm}

    @torch.no_grad()
    def _scheduled_inputs(self, tokens: torch.Tensor, teacher_forcing: float,
                          generator: torch.Generator | None, context: Any) -> torch.Tensor:
        """``[B, T]`` inputs for scheduled sampling: the start token, then at each position the
        true previous token with probability ``teacher_forcing``, else one sampled from the
        policy's own prediction after the inputs so far.

        Sampled inputs carry no gradient, so the unroll that picks them runs without autograd
        and the loss comes from one teacher-forced pass over the chosen inputs: the same
        gradient as a differentiable unroll, at the cost of a forward pass.
        """
        policy = self.policy
        batch, length = tokens.shape
        state = policy.initial_state(batch, context)
        inputs = tokens.new_full((batch, length), policy.start_id)
        for t in range(length - 1):
            logits, state = policy.step(inputs[:, t], state)
            sampled, _ = sample_categorical(logits, generator=generator, reuse_logits=True)
            truth = torch.rand(batch, generator=generator, device=tokens.device) < teacher_forcing
            inputs[:, t + 1] = torch.where(truth, tokens[:, t], sampled)
        return inputs

    def train_epoch(self, data: Split, generator: torch.Generator, teacher_forcing: float = 1.0,
                    on_batch: Callable[[], object] | None = None,
                    sampler: torch.Generator | None = None, task: Task | None = None
                    ) -> dict[str, float]:
        """One pass over ``data`` in an order drawn from ``generator``; mean batch stats.
        ``on_batch()`` is called after each batch (a progress bar's update). Scheduled
        sampling draws from ``sampler`` (default: ``generator``), and so does ``task`` the
        context of each batch (an in-filler's fresh masks) and the positions it scores.
        In a distributed run every process draws the same order and trains on its share of
        each batch."""
        self.policy.train()
        sampler = sampler or generator
        totals = {"loss": 0.0, "grad_norm": 0.0}
        batches = 0
        for tokens, lengths in data.batches(self.batch_size, generator, distributed.share):
            context = chosen = None
            if task is not None:
                condition = task.condition(tokens, lengths, sampler)
                chosen = task.chosen(tokens, lengths, condition)
                context = task.policy_context(condition)
            stats = self.update(tokens, lengths, teacher_forcing, sampler, context, chosen)
            for key in totals:
                totals[key] += stats[key]
            batches += 1
            if on_batch is not None:
                on_batch()
        return {key: value / max(batches, 1) for key, value in totals.items()}

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])

"""The one reward contract: what every environment, agent and trainer may assume of a reward.

A reward is a :class:`Reward` (fixed: a metric, an oracle, a user function) or a
:class:`LearnedReward` (fitted while the policy trains: the IRL / GAN half). Whether a
reward is learned is decided once, by its class; what it returns (``token_level``), whether
it can be paid step by step (``causal``), which task it scores (``task``) and whether it can
be split across processes (``distributable``) are class attributes with declared defaults,
never guessed with ``getattr``. :func:`pay` turns any reward's output into per-token
rewards, the one way trainers and environments pay them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from textrl.errors import UserError
from textrl.optimization import optimizer_step

Batch = tuple[torch.Tensor, torch.Tensor]  # (tokens [N, T], lengths [N])


class Reward:
    """Scores finished sequences in textrl's mask convention.

    ``__call__(tokens [B, T], lengths [B], context=None) -> [B]`` (``token_level = False``:
    one reward per sequence, paid at its last step), or ``-> [B, T]`` (``token_level = True``:
    one reward per token). Positions ``t >= lengths[b]`` are padding. ``context`` is what
    the sentences were generated from (an in-filling template), or what the reward compares
    them with (a ranker's real reference sets, from ``draw_context``), or ``None``.

    Declared by the class, where a recipe reads them before anything is built (an instance
    may refine them, as ``OracleReward(per_token=True)`` or a composite of its terms does):

    - ``token_level``: returns ``[B, T]``;
    - ``causal``: a token-level value at position t reads tokens ``<= t`` only (a KL penalty,
      a left-to-right per-token discriminator), so environments can pay it step by step.
      Monte-Carlo Q values are not causal (their last position is the finished sentence's
      reward);
    - ``task``: the task whose contexts it scores (``"infill"`` for a per-word discriminator
      that reads templates), or ``None`` for any task;
    - ``distributable``: it scores each sentence on its own, so processes may each score a
      share of a batch (a ranker, which ranks a sentence among its batch, is not).

    ``draw_context()`` returns the data a reward scores one batch against when it draws its
    own (RankGAN's real comparison and reference sets); the rollout collector draws it once
    per batch and passes it to every call for that batch. ``None`` by default.
    ``value_critic()`` returns the critic a reward offers actor-critic agents as their
    baseline (MaskGAN's, a head on its discriminator), ``None`` by default.
    """

    token_level: ClassVar[bool] = False
    causal: ClassVar[bool] = False
    task: ClassVar[str | None] = None
    distributable: ClassVar[bool] = True

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        raise NotImplementedError

    def draw_context(self) -> Any:
        return None

    def value_critic(self) -> nn.Module | None:
        return None

    @property
    def label(self) -> str:
        """How messages name this reward."""
        return type(self).__name__


class LearnedReward(nn.Module, Reward):
    """A reward fitted while the policy trains: ``update(real, fake, context) -> stats`` is one
    step on a batch of real and a batch of generated ``(tokens, lengths)`` (rows aligned with
    ``context`` when the task pairs them), and ``optimizer`` is its optimiser; the run
    checkpoints ``state_dict()`` and ``optimizer.state_dict()`` and trains it by d-steps.
    Implement ``forward(tokens, lengths, context)`` (the reward) and ``update``, and call
    :meth:`optimize` on the loss inside ``update``. A reward that can judge each token may
    offer ``critic``: per-token values that actor-critic agents use as their baseline.
    """

    optimizer: torch.optim.Optimizer

    def update(self, real: Batch, fake: Batch, context: Any = None) -> dict[str, float]:
        raise NotImplementedError

    def optimize(self, loss: torch.Tensor, what: str) -> None:
        """One step of ``optimizer`` on ``loss`` through :func:`textrl.optimization.optimizer_step`
        (backward, gradients averaged over torchrun's processes, a finiteness check naming
        ``what``, the step)."""
        optimizer_step(self.optimizer, loss, what)


def check_learned(reward: LearnedReward, name: str) -> None:
    """Refuse a learned reward the loop could not train or checkpoint, naming what is missing."""
    if type(reward).update is LearnedReward.update:
        raise UserError(f"reward {name}: a LearnedReward must define update(real, fake, "
                        "context) -> dict, one training step on real and generated sentences")
    if not isinstance(getattr(reward, "optimizer", None), torch.optim.Optimizer):
        raise UserError(f"reward {name}: a LearnedReward must set self.optimizer (a "
                        "torch.optim.Optimizer over its parameters) so the run can train and "
                        "checkpoint it")


def check_class(target: type, name: str) -> None:
    """Refuse a reward class that half-conforms: ``update`` without being a LearnedReward
    would be given d-step settings and never trained."""
    if hasattr(target, "update") and not issubclass(target, LearnedReward):
        raise UserError(f"reward {name}: {target.__name__} defines update() but is not a "
                        "textrl.rewards.LearnedReward; subclass it (and set self.optimizer) so "
                        "the run trains it with d-steps and checkpoints it")


def as_reward(value: Reward | Callable[..., Any]) -> Reward:
    """A :class:`Reward` as it is; any other callable ``(tokens, lengths, context)`` wrapped
    in a :class:`~textrl.rewards.function.FunctionReward`, which reads its ``token_level``
    and ``causal`` attributes (default False) once, here."""
    if isinstance(value, Reward):
        return value
    if not callable(value):
        raise TypeError(f"a reward must be callable (tokens, lengths, context), got {value!r}")
    from textrl.rewards.function import FunctionReward

    return FunctionReward(value, token_level=getattr(value, "token_level", False),
                          causal=getattr(value, "causal", False))


def at_last_token(rewards: torch.Tensor, lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Sequence-level ``[B]`` -> token-level ``[B, T]``, paid at position ``lengths - 1`` of
    each row (its last token)."""
    out = torch.zeros(len(rewards), max_len, device=rewards.device)
    out[torch.arange(len(rewards), device=rewards.device), lengths - 1] = rewards.float()
    return out


def pay(reward: Reward, tokens: torch.Tensor, lengths: torch.Tensor, context: Any = None,
        acted: torch.Tensor | None = None) -> torch.Tensor:
    """``[B, T]`` float rewards for the sentences ``tokens [B, T]`` of ``lengths [B]``: a
    token-level reward as it comes, a sequence-level one at each sentence's last action (the
    last position of ``acted [B, T]`` where the policy chose the token, such as the last
    blank an in-filler wrote; the last token when not given). The one way a reward is paid,
    by the trainers' rollouts and by the environments' steps. A reward that is not a finite
    number is a UserError naming the reward (it is not the learning rate's fault)."""
    scores = reward(tokens, lengths, context).float()
    bad = ~torch.isfinite(scores)
    if bad.any():
        rows = int(bad.view(len(scores), -1).any(1).sum())
        raise UserError(f"the reward {reward.label} returned {scores[bad][0].item()} for {rows} "
                        f"of {len(scores)} sentences; a reward must be a finite number")
    if not reward.token_level:
        last = lengths
        if acted is not None:  # the position after each row's last action (none: its end)
            after = tokens.shape[1] - acted.long().flip(1).argmax(1)
            last = torch.where(acted.any(1), after, lengths)
        scores = at_last_token(scores, last, tokens.shape[1])
    return scores

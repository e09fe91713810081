"""The reward-model interface every environment and agent speaks."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

Batch = tuple[torch.Tensor, torch.Tensor]  # (tokens [N, T], lengths [N])


@runtime_checkable
class RewardModel(Protocol):
    """Scores finished sequences in textrl's mask convention.

    ``__call__(tokens [B, T], lengths [B], context=None) -> [B]`` (``token_level = False``:
    one reward per sequence, paid at its last step), or ``-> [B, T]`` (``token_level = True``:
    one reward per token). Positions ``t >= lengths[b]`` are padding. ``context`` is what
    the sentences were generated from (an in-filling template), or what the reward compares
    them with (a ranker's real reference sets, from ``draw_context``), or ``None``.

    A token-level reward is ``causal`` when its value at position t depends on tokens
    ``<= t`` only (a KL penalty, a left-to-right per-token discriminator): the environments
    then pay it step by step. Monte-Carlo Q values are not (their last position is the
    finished sentence's reward), so they are paid by the native agents after the episode.

    Optional: ``draw_context() -> context``, for a reward that scores each batch against
    data it draws itself (RankGAN's real comparison and reference sets); the rollout
    collector draws it once per batch and passes it to every call for that batch.
    """

    token_level: bool
    causal: bool

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor: ...


@runtime_checkable
class LearnedReward(RewardModel, Protocol):
    """A reward fitted while the policy trains (the IRL / GAN half): ``update(real, fake)`` is
    one step on a batch of real and a batch of generated ``(tokens, lengths)``, and returns
    its statistics. ``state_dict``/``load_state_dict`` hold its weights; ``optimizer`` its
    optimiser, so a run can checkpoint and resume both. A reward that can judge each token
    may offer ``critic``: per-token values that actor-critic agents use as their baseline."""

    optimizer: torch.optim.Optimizer

    def update(self, real: Batch, fake: Batch, context: Any = None) -> dict[str, float]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> Any: ...

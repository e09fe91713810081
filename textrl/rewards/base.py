"""The reward-model interface every environment and agent speaks."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class RewardModel(Protocol):
    """Scores finished sequences in textrl's mask convention.

    ``__call__(tokens [B, T], lengths [B]) -> [B]`` (``token_level = False``: one reward per
    sequence, paid at its last step), or ``-> [B, T]`` (``token_level = True``: one reward
    per token). Positions ``t >= lengths[b]`` are padding.

    A token-level reward is ``causal`` when its value at position t depends on tokens
    ``<= t`` only (a KL penalty, a left-to-right per-token discriminator): the environments
    then pay it step by step. Monte-Carlo Q values are not (their last position is the
    finished sentence's reward), so they are paid by the native agents after the episode.
    """

    token_level: bool

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor: ...

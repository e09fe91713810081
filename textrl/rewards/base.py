"""The reward-model interface every environment and agent speaks."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class RewardModel(Protocol):
    """Scores finished sequences in textrl's mask convention.

    ``__call__(tokens [B, T], lengths [B]) -> [B]`` (``token_level = False``: one reward per
    sequence, paid at its last step). Positions ``t >= lengths[b]`` are padding.
    """

    token_level: bool

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor: ...

"""Unconditional generation: a sentence from the start token, every position an action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from textrl.data.corpus import Split, length_mask
from textrl.device import device_of, seeded_generator
from textrl.metrics.nll import nll_oracle, nll_test
from textrl.models.base import Policy
from textrl.oracle import OracleLSTM
from textrl.tasks.base import Batch, Generate, RealSampler, Task


@dataclass
class UnconditionalConfig:
    """Unconditional generation: nothing to set."""


class Unconditional(Task):
    """A sentence from the start token; nothing conditions it, every real position is an
    action, and every sentence of a batch shares the one (empty) context."""

    name = "unconditional"
    needs = frozenset({"unconditional", "likelihood"})

    def condition(self, tokens: torch.Tensor, lengths: torch.Tensor,
                  generator: torch.Generator | None) -> None:
        return None

    def chosen(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any) -> torch.Tensor:
        return length_mask(lengths, tokens.shape[1])

    def contexts(self, n: int, real: RealSampler, generator: torch.Generator
                 ) -> tuple[None, None]:
        return None, None

    def pairs(self, n: int, real: RealSampler, generate: Generate, generator: torch.Generator
              ) -> tuple[Batch, Batch, None]:
        fake = generate(n, None)
        return real(n), fake, None

    def reported_reward(self, rewards: torch.Tensor, lengths: torch.Tensor,
                        acted: torch.Tensor) -> float:
        """The mean of each sentence's reward at its last token (a sequence-level reward's
        value; Monte-Carlo Q values end with it)."""
        return rewards[torch.arange(len(lengths)), lengths - 1].mean().item()

    def validate(self, policy: Policy, split: Split, oracle: OracleLSTM | None,
                 n_samples: int, seed: int) -> dict[str, float]:
        out = {"nll_valid": nll_test(policy, split)}
        if oracle is not None:
            g = seeded_generator(seed, device_of(policy))
            out["nll_oracle"] = nll_oracle(policy, oracle, n_samples, generator=g)
        return out

    def sample_contexts(self, split: Split, n: int, generator: torch.Generator) -> None:
        return None


def build_unconditional(config: UnconditionalConfig, **_: Any) -> Unconditional:
    return Unconditional()

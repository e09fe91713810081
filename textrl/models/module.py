"""What every textrl generator module shares, whatever its layers: shifted teacher inputs,
SeqGAN's delayed copy, sampling through the one generation loop, and its checkpoint dict."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

import torch
from torch import nn

from textrl.models.base import Sample
from textrl.models.generation import generate


class PolicyModule(nn.Module):
    """Base of the policies: a subclass sets ``config_class`` (a dataclass with ``start_id``)
    and keeps its config in ``self.config``; its word embeddings are named ``embedding``."""

    config_class: ClassVar[type]
    config: Any

    def teacher_inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` targets -> ``[B, T]`` inputs: the start token, then targets shifted right."""
        start = tokens.new_full((tokens.shape[0], 1), self.config.start_id)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    @torch.no_grad()
    def blend_from(self, source: PolicyModule, rate: float) -> None:
        """SeqGAN's delayed copy: embeddings copied, every other weight
        ``self <- rate * self + (1 - rate) * source``."""
        for (name, beta), theta in zip(self.named_parameters(), source.parameters(), strict=True):
            if name.startswith("embedding."):
                beta.copy_(theta)
            else:
                beta.mul_(rate).add_(theta, alpha=1.0 - rate)

    @torch.no_grad()
    def sample(self, n: int, max_len: int, temperature: float = 1.0, context: Any = None,
               prefix: torch.Tensor | None = None, generator: torch.Generator | None = None,
               chunk: int = 512) -> Sample:
        """Draw ``n`` sequences of at most ``max_len`` tokens (no gradients), under
        ``context`` when the policy takes one.

        ``prefix [n, P]`` (P < max_len, no EOS) is kept as given and continued. The returned
        ``log_probs`` are those of the tempered sampling distribution, 0 on the prefix, on
        given tokens and on padding; for gradients recompute them with ``log_prob``. Call
        ``eval()`` first to sample without dropout.
        """
        return generate(self, n, max_len, temperature, context, prefix, generator, chunk)

    def to_dict(self) -> dict:
        """Class, config and weights, loadable with ``torch.load(weights_only=True)``."""
        return {"class": type(self).__name__, "config": asdict(self.config),
                "state_dict": self.state_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> PolicyModule:
        model = cls(cls.config_class(**data["config"]))
        model.load_state_dict(data["state_dict"])
        return model

"""Masks for in-filling (MaskGAN): which positions of a sentence are given and which the
generator must fill.

A mask is ``present [B, T]`` (bool): True where the token is given. Position 0 is always
given (the in-filling starts from a real first token, as the MaskGAN authors' code does),
and so is padding (nothing is filled past a sentence's length). The encoder reads the
*template*: the sentence with every missing token replaced by the mask id.

Strategies, at ``rate`` (the share of tokens blanked; MaskGAN's ``1 - is_present_rate``):

- ``contiguous``: one block per sentence, as the authors' ``generate_mask`` draws it:
  ``int(rate * L) - 1`` tokens (at least one) starting uniformly in ``[1, L - block]``.
  With L = 20 and rate 0.5 that is 9 tokens, not the paper's "half" (10): the authors'
  code produced the paper's numbers, so textrl follows it.
- ``random``: each position after the first blanked independently with probability ``rate``.
- ``unconditional``: every position but the first (how the authors generate sentences).
"""

from __future__ import annotations

import torch

from textrl.data.corpus import length_mask

STRATEGIES = ("contiguous", "random", "unconditional")


def make_mask(lengths: torch.Tensor, max_len: int, strategy: str = "contiguous",
              rate: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """``present [B, max_len]`` for sentences of ``lengths [B]`` (see the module docstring).

    >>> make_mask(torch.tensor([5, 3]), 5, "unconditional").int().tolist()
    [[1, 0, 0, 0, 0], [1, 0, 0, 1, 1]]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"mask strategy must be one of {STRATEGIES}, got {strategy!r}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"mask rate must be in [0, 1], got {rate}")
    device = lengths.device
    positions = torch.arange(max_len, device=device)
    fillable = length_mask(lengths, max_len) & (positions > 0)
    if strategy == "unconditional":
        return ~fillable
    if strategy == "random":
        draw = torch.rand(len(lengths), max_len, generator=generator, device=device)
        return ~(fillable & (draw < rate))
    block = ((rate * lengths).long() - 1).clamp(min=1)
    block = torch.minimum(block, (lengths - 1).clamp(min=0))
    room = (lengths - block).clamp(min=1)  # starts 1 .. lengths - block
    start = 1 + (torch.rand(len(lengths), generator=generator, device=device) * room).long()
    start = torch.minimum(start, room)  # a draw of exactly 1.0 cannot overshoot
    masked = (positions >= start[:, None]) & (positions < (start + block)[:, None])
    return ~(masked & fillable)


def template(tokens: torch.Tensor, present: torch.Tensor, mask_id: int) -> torch.Tensor:
    """``tokens [B, T]`` with every missing position replaced by ``mask_id``."""
    return torch.where(present, tokens, torch.full_like(tokens, mask_id))

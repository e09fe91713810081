"""Exact categorical sampling, fast on the CPU.

Inverse-CDF sampling (one uniform per row, ``searchsorted`` on the cumulative sum) draws
from the same distribution as ``torch.multinomial``. From logits, softmax included on both
sides, it is 7.5x faster at ``[64, 5000]`` and 7.1x at ``[1024, 5000]`` here (2 threads;
benchmarks/bench_speed.py); from probabilities alone it is ~50x (0.13 ms vs 6.2 ms).
Gumbel-max and float64 cumulative sums were measured too and are slower.
"""

from __future__ import annotations

import torch


def sample_categorical(
    logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One draw per row of ``softmax(logits / temperature)``.

    Args:
        logits: ``[B, V]`` unnormalised log-probabilities.
        temperature: > 0 scales the logits; 0 takes the argmax (greedy).
        generator: the random stream; the same generator state gives the same draws.

    Returns:
        ``(ids [B], log_probs [B])``: the drawn ids and their log-probabilities under the
        tempered distribution.

    >>> ids, logp = sample_categorical(torch.tensor([[0.0, 0.0, -1e9]]))
    >>> bool(ids[0] < 2)
    True
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    logits = logits.float()
    if temperature not in (0.0, 1.0):
        logits = logits / temperature  # a full pass over [B, V]: skipped when it changes nothing
    if temperature == 0:
        ids = logits.argmax(dim=-1)
        return ids, torch.log_softmax(logits, dim=-1).gather(1, ids[:, None]).squeeze(1)
    probs = torch.softmax(logits, dim=-1)
    cdf = probs.cumsum(dim=-1)
    total = cdf[:, -1:]
    u = torch.rand(total.shape, generator=generator, device=logits.device) * total
    # rand * total may round up to total; keep u below it so the row's last token with
    # non-zero mass is the largest index searchsorted can return.
    u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))
    ids = torch.searchsorted(cdf, u, right=True).squeeze(1)
    # A drawn token has non-zero probability, so its log is finite.
    return ids, probs.gather(1, ids[:, None]).squeeze(1).log()

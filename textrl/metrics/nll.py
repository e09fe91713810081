"""Likelihood metrics: NLL-oracle (SeqGAN), NLL-test and perplexity."""

from __future__ import annotations

import math

import torch

from textrl.data.corpus import Split
from textrl.models.base import Policy
from textrl.models.modes import eval_mode
from textrl.oracle import OracleLSTM


def nll_oracle(policy: Policy, oracle: OracleLSTM, n: int = 10_000,
               temperature: float = 1.0, generator: torch.Generator | None = None) -> float:
    """SeqGAN's NLL-oracle: the oracle's mean per-token NLL of ``n`` policy samples (lower is
    better; the oracle's own samples score its entropy rate, ~5.75 for the authors' file)."""
    with eval_mode(policy):
        tokens = policy.sample(n, oracle.seq_len, temperature, generator=generator).tokens
    return oracle.nll(tokens)


@torch.no_grad()
def nll_test(policy: Policy, split: Split, batch_size: int = 512,
             temperature: float = 1.0, positions: torch.Tensor | None = None) -> float:
    """The policy's mean per-token NLL of a held-out split (pass the test split, never train),
    under its distribution at ``temperature`` (the diversity axis of a temperature sweep);
    ``positions [N, T]``: only these tokens count (a completion after its prompt), else
    every real one."""
    if len(split) == 0:
        raise ValueError("cannot score an empty split")
    total = 0.0
    with eval_mode(policy):
        for lo in range(0, len(split), batch_size):
            lengths = split.lengths[lo:lo + batch_size]
            width = int(lengths.max())
            log_probs = policy.log_prob(split.tokens[lo:lo + batch_size, :width], lengths,
                                        temperature=temperature)
            if positions is not None:
                log_probs = log_probs * positions[lo:lo + batch_size, :width]
            total -= float(log_probs.sum())
    count = split.lengths.sum() if positions is None else positions.sum()
    return total / max(float(count), 1.0)


def perplexity(nll: float) -> float:
    """``exp(nll)`` of a per-token NLL in nats (``inf`` past float range)."""
    return math.exp(nll) if nll < 709.0 else math.inf

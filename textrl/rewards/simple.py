"""Rewards that need no training: the oracle's likelihood and a constant."""

from __future__ import annotations

from typing import Any

import torch

from textrl.data.corpus import length_mask
from textrl.oracle import OracleLSTM
from textrl.rewards.base import Reward


class OracleReward(Reward):
    """The oracle's mean per-token log-likelihood of each sequence (a diagnostic reward:
    maximising it drives NLL-oracle down); with ``per_token``, the log-probability of each
    token (token-level and causal: position t reads tokens up to t), 0 on padding.

    >>> oracle = OracleLSTM.random(seed=0, vocab_size=30, seq_len=5)
    >>> x = oracle.sample(3, generator=torch.Generator().manual_seed(0))
    >>> OracleReward(oracle)(x, torch.full((3,), 5)).shape
    torch.Size([3])
    """

    def __init__(self, oracle: OracleLSTM, per_token: bool = False):
        self.oracle = oracle
        self.token_level = self.causal = per_token

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        log_probs = self.oracle.log_prob(tokens) * length_mask(lengths, tokens.shape[1])
        return log_probs if self.token_level else log_probs.sum(1) / lengths.clamp(min=1)


class ConstantReward(Reward):
    """The same reward for every sequence: the control against which a learned reward
    must show that it carries information.

    >>> ConstantReward(1.0)(torch.zeros(2, 4, dtype=torch.long), torch.tensor([4, 2]))
    tensor([1., 1.])
    """

    def __init__(self, value: float = 1.0):
        self.value = value

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        return torch.full((tokens.shape[0],), float(self.value), device=tokens.device)

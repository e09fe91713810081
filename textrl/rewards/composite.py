"""Combining rewards: weighted sums, and a per-token KL penalty to a frozen reference."""

from __future__ import annotations

import copy
from typing import Any

import torch

from textrl.data.corpus import length_mask
from textrl.models.base import Policy
from textrl.models.modes import eval_mode
from textrl.rewards.base import RewardModel


def at_last_token(rewards: torch.Tensor, lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Sequence-level ``[B]`` -> token-level ``[B, T]``, paid at each sequence's last token."""
    out = torch.zeros(len(rewards), max_len, device=rewards.device)
    out[torch.arange(len(rewards), device=rewards.device), lengths - 1] = rewards.float()
    return out


class KLPenalty:
    """Per-token ``-(log pi(y_t) - log pi_ref(y_t))`` for a frozen copy of the policy taken at
    construction: summed over a sequence it is minus the sampled KL(pi || pi_ref), the
    penalty RL fine-tuning uses to stay near the reference.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> lm = RecurrentLM(LMConfig(vocab_size=6))
    >>> kl = KLPenalty(lm)
    >>> kl(torch.randint(6, (2, 3)), torch.tensor([3, 2])).abs().max().item()
    0.0
    """

    token_level = True
    causal = True

    def __init__(self, policy: Policy, reference: Policy | None = None):
        self.policy = policy
        self.reference = reference if reference is not None else copy.deepcopy(policy)
        self.reference.eval().requires_grad_(False)

    @torch.no_grad()
    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        with eval_mode(self.policy):
            ratio = (self.policy.log_prob(tokens, lengths, context)
                     - self.reference.log_prob(tokens, lengths, context))
        return -ratio


class CompositeReward:
    """``sum_i w_i * r_i``. Token-level as soon as one term is; sequence-level terms are then
    paid at the last token, so the undiscounted return from the start is unchanged.

    >>> from textrl.rewards import ConstantReward
    >>> r = CompositeReward((1.0, ConstantReward(2.0)), (0.5, ConstantReward(4.0)))
    >>> r(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 1])).tolist()
    [4.0, 4.0]
    """

    def __init__(self, *terms: tuple[float, RewardModel]):
        if not terms:
            raise ValueError("a composite reward needs at least one (weight, reward) term")
        self.terms = terms
        self.token_level = any(getattr(r, "token_level", False) for _, r in terms)
        # A sequence-level term would be paid at every prefix's last token if stepped.
        self.causal = all(getattr(r, "causal", False) for _, r in terms)

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        total = None
        for weight, reward in self.terms:
            value = reward(tokens, lengths, context).float()
            if self.token_level and not getattr(reward, "token_level", False):
                value = at_last_token(value, lengths, tokens.shape[1])
            total = weight * value if total is None else total + weight * value
        if self.token_level:
            total = total * length_mask(lengths, tokens.shape[1])
        return total

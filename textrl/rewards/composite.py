"""Combining rewards: weighted sums, and a per-token KL penalty to a frozen reference."""

from __future__ import annotations

import copy
from typing import Any

import torch

from textrl.data.corpus import length_mask
from textrl.models.base import Policy
from textrl.models.modes import eval_mode
from textrl.rewards.base import Reward, as_reward, at_last_token


class KLPenalty(Reward):
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


class CompositeReward(Reward):
    """``sum_i w_i * r_i``. Token-level as soon as one term is; sequence-level terms are then
    paid at the last token, so the undiscounted return from the start is unchanged.

    >>> from textrl.rewards import ConstantReward
    >>> r = CompositeReward((1.0, ConstantReward(2.0)), (0.5, ConstantReward(4.0)))
    >>> r(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 1])).tolist()
    [4.0, 4.0]
    """

    def __init__(self, *terms: tuple[float, Reward]):
        if not terms:
            raise ValueError("a composite reward needs at least one (weight, reward) term")
        self.terms = tuple((weight, as_reward(reward)) for weight, reward in terms)
        self.token_level = any(r.token_level for _, r in self.terms)
        # A sequence-level term would be paid at every prefix's last token if stepped.
        self.causal = all(r.causal for _, r in self.terms)
        self.distributable = all(r.distributable for _, r in self.terms)
        tasks = {r.task for _, r in self.terms} - {None}
        if len(tasks) > 1:
            raise ValueError(f"the terms score different tasks ({', '.join(sorted(tasks))})")
        self.task = tasks.pop() if tasks else None

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        total = None
        for weight, reward in self.terms:
            value = reward(tokens, lengths, context).float()
            if self.token_level and not reward.token_level:
                value = at_last_token(value, lengths, tokens.shape[1])
            total = weight * value if total is None else total + weight * value
        if self.token_level:
            total = total * length_mask(lengths, tokens.shape[1])
        return total

"""KL to a reference policy (a frozen copy of the start), for every agent: paid in the
reward (the k1 estimator per token) or added to the loss (k3), with a fixed coefficient or
the adaptive controller of Ziegler et al. 2019; the sampled KL is logged every update.

Shapes: ``B`` sequences, ``T`` positions; every per-token tensor is 0 where the agent did
not act (padding, a prompt, an in-filler's given words).
"""

from __future__ import annotations

import copy

import torch

from textrl import distributed
from textrl.models.base import Policy
from textrl.models.modes import eval_mode

PLACES = ("reward", "loss")


def k1(log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """``log pi - log pi_ref`` per sampled token: unbiased for KL(pi || pi_ref), any sign."""
    return log_probs - ref_log_probs


def k3(log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """``pi_ref/pi - log(pi_ref/pi) - 1`` per sampled token: unbiased, never negative, with
    a gradient through ``log_probs`` (GRPO's KL in the loss)."""
    log_ratio = ref_log_probs - log_probs
    return log_ratio.exp() - log_ratio - 1


class ReferenceKL:
    """The KL of a policy to a frozen copy of it taken now.

    ``place``: ``"reward"`` pays ``-coef * k1`` at each chosen token (no gradient through
    it: RLOO, REINFORCE++, RLHF-style PPO); ``"loss"`` adds ``coef * k3`` to each chosen
    token's loss (GRPO). With ``target`` the coefficient adapts after every update
    (Ziegler et al. 2019): ``e = clip(KL / target - 1, -0.2, 0.2)``, ``coef *= 1 + e * n /
    horizon``, where KL is the mean over sequences of the summed per-token k1 and ``n`` the
    number of sequences of the update.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> kl = ReferenceKL(RecurrentLM(LMConfig(vocab_size=5)), coef=0.1, target=1.0)
    >>> kl.observe(kl=3.0, sequences=100); round(kl.coef, 4)  # KL over target: coef grows
    0.1002
    """

    def __init__(self, policy: Policy, coef: float = 0.0, place: str = "loss",
                 target: float | None = None, horizon: int = 10_000):
        if place not in PLACES:
            raise ValueError(f"place must be one of {PLACES}, got {place!r}")
        if coef < 0 or (target is not None and target <= 0) or horizon < 1:
            raise ValueError("coef must be >= 0, target > 0 and horizon >= 1")
        self.reference = copy.deepcopy(policy).requires_grad_(False)
        self.coef, self.place, self.target, self.horizon = coef, place, target, horizon

    @torch.no_grad()
    def reference_log_probs(self, tokens: torch.Tensor, lengths: torch.Tensor,
                            context: object = None) -> torch.Tensor:
        """``[B, T]``: the reference's log-probability of each token."""
        with eval_mode(self.reference):
            return self.reference.log_prob(tokens, lengths, context)

    def penalty(self, log_probs: torch.Tensor, ref_log_probs: torch.Tensor,
                acted: torch.Tensor) -> torch.Tensor:
        """``[B, T]``: what the reward loses at each chosen token (``coef * k1``; 0 when the
        KL sits in the loss)."""
        if self.place != "reward":
            return torch.zeros_like(log_probs)
        return self.coef * k1(log_probs, ref_log_probs).detach() * acted

    def loss_term(self, log_probs: torch.Tensor, ref_log_probs: torch.Tensor,
                  acted: torch.Tensor) -> torch.Tensor:
        """``[B, T]``: what each chosen token's loss gains (``coef * k3``; 0 when the KL is
        paid in the reward)."""
        if self.place != "loss" or self.coef == 0:
            return torch.zeros_like(log_probs)
        return self.coef * k3(log_probs, ref_log_probs) * acted

    def measure(self, log_probs: torch.Tensor, ref_log_probs: torch.Tensor,
                acted: torch.Tensor) -> float:
        """The sampled KL per sequence (summed k1 over its chosen tokens), averaged over the
        global batch."""
        total = (k1(log_probs, ref_log_probs).detach() * acted).sum()
        count = torch.tensor(float(len(acted)), device=total.device)
        return float(distributed.global_sum(total) / distributed.global_sum(count))

    def observe(self, kl: float, sequences: int) -> None:
        """The adaptive controller's step after an update (nothing with a fixed coef)."""
        if self.target is None:
            return
        error = min(max(kl / self.target - 1.0, -0.2), 0.2)
        self.coef *= 1.0 + error * sequences / self.horizon

    def state_dict(self) -> dict:
        return {"coef": self.coef}

    def load_state_dict(self, state: dict) -> None:
        self.coef = float(state["coef"])

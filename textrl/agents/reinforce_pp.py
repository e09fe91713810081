"""REINFORCE++ (Hu 2025, arXiv:2501.03262; OpenRLHF): no critic, the KL paid per token in
the reward, returns whitened over the global batch; and REINFORCE++-baseline, which first
subtracts the mean reward of the prompt's group."""

from __future__ import annotations

import torch

from textrl.agents.base import Rollout
from textrl.agents.clipped import ClippedAgent, global_whiten, group_stats
from textrl.agents.kl import ReferenceKL
from textrl.agents.policy_gradient import returns_to_go
from textrl.models.base import Policy


class ReinforcePP(ClippedAgent):
    """Per-token returns ``G_t = sum_{k >= t} gamma^(k-t) r_k`` of the chosen tokens (the
    KL, paid in the reward with ``ReferenceKL(place="reward")``, is part of ``r``), whitened
    over every chosen token of the global batch (mean 0, std 1), under a token-level
    PPO-clip ratio, averaged over tokens. With ``group_baseline`` (REINFORCE++-baseline)
    each completion's task reward first loses its group's mean.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> agent = ReinforcePP(RecurrentLM(LMConfig(vocab_size=7)))
    >>> x = torch.randint(7, (2, 2))
    >>> rollout = Rollout(x, torch.full((2,), 2), torch.zeros(2, 2), torch.tensor([[0., 1],
    ...                                                                           [0, 0]]))
    >>> agent.advantages(rollout, None).tolist()  # returns [[1, 1], [0, 0]], whitened
    [[1.0, 1.0], [-1.0, -1.0]]
    """

    aggregation = "dapo"

    def __init__(self, policy: Policy, lr: float = 1e-3, grad_clip: float = 1.0,
                 epsilon: float = 0.2, epsilon_high: float | None = None, iterations: int = 1,
                 gamma: float = 1.0, group_baseline: bool = False, entropy_coef: float = 0.0,
                 kl: ReferenceKL | None = None):
        super().__init__(policy, lr, grad_clip, epsilon, epsilon_high, iterations,
                         entropy_coef, kl)
        self.gamma, self.group_baseline = gamma, group_baseline

    def advantages(self, rollout: Rollout, task_rewards: torch.Tensor) -> torch.Tensor:
        """The -baseline variant centres the task rewards (the KL's penalty left out, as
        OpenRLHF) at each completion's last token."""
        acted = rollout.acted()
        rewards = rollout.rewards.float() * acted
        if self.group_baseline:
            mean, _, _ = group_stats(task_rewards, rollout.group, "REINFORCE++-baseline")
            last = acted & (acted.flip(1).cumsum(1).flip(1) == 1)  # each row's last chosen token
            rewards = rewards - mean[:, None] * last
        returns = returns_to_go(rewards, rollout.valid(), self.gamma) * acted
        return global_whiten(returns, acted)

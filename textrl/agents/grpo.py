"""GRPO (Shao et al. 2024, DeepSeekMath, arXiv:2402.03300): each completion's reward
against its group's, as the advantage of every token it chose, under a PPO-clip ratio."""

from __future__ import annotations

import torch

from textrl import distributed
from textrl.agents.base import Rollout
from textrl.agents.clipped import STD_EPS, ClippedAgent, group_stats, sequence_rewards
from textrl.agents.kl import ReferenceKL
from textrl.models.base import Policy

LOSS_TYPES = ("grpo", "dapo", "dr_grpo")
SCALINGS = ("group", "batch", "none")


class GRPO(ClippedAgent):
    """``A_i = (r_i - mean(r_group)) / (std + 1e-4)`` for every token of completion i
    (``scale_rewards``: the group's std, the whole batch's, or none), the PPO-clip ratio
    with ``epsilon`` (and DAPO's clip-higher ``epsilon_high``), ``iterations`` (mu) passes
    per batch, and the loss aggregated as ``loss_type`` says (``grpo``, ``dapo``,
    ``dr_grpo``: see :class:`~textrl.agents.clipped.ClippedAgent`). The KL of the paper sits
    in the loss (k3): give a :class:`~textrl.agents.kl.ReferenceKL` with ``place="loss"``.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> agent = GRPO(RecurrentLM(LMConfig(vocab_size=7)))
    >>> x = torch.randint(7, (4, 3))
    >>> rewards = torch.tensor([[0., 0, 1], [0, 0, 0], [0, 0, 1], [0, 0, 0]])
    >>> rollout = Rollout(x, torch.full((4,), 3), torch.zeros(4, 3), rewards,
    ...                   group=torch.tensor([0, 0, 1, 1]))
    >>> [round(a, 4) for a in agent.advantages(rollout, None)[:, 0].tolist()]  # (1 - 0.5) / 0.7072
    [0.707, -0.707, 0.707, -0.707]
    """

    def __init__(self, policy: Policy, lr: float = 1e-3, grad_clip: float = 1.0,
                 epsilon: float = 0.2, epsilon_high: float | None = None, iterations: int = 1,
                 loss_type: str = "dapo", scale_rewards: str = "group",
                 entropy_coef: float = 0.0, kl: ReferenceKL | None = None):
        if loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
        if scale_rewards not in SCALINGS:
            raise ValueError(f"scale_rewards must be one of {SCALINGS}, got {scale_rewards!r}")
        super().__init__(policy, lr, grad_clip, epsilon, epsilon_high, iterations,
                         entropy_coef, kl)
        self.aggregation, self.scale_rewards = loss_type, scale_rewards

    def advantages(self, rollout: Rollout, task_rewards: torch.Tensor) -> torch.Tensor:
        rewards = sequence_rewards(rollout)
        mean, std, _ = group_stats(rewards, rollout.group, "GRPO")
        advantage = rewards - mean
        if self.scale_rewards == "group":
            advantage = advantage / (std + STD_EPS)
        elif self.scale_rewards == "batch":  # the std of every completion of the global batch
            count = distributed.global_sum(torch.tensor(float(len(rewards))))
            mean_all = distributed.global_sum(rewards.sum()) / count
            var = distributed.global_sum((rewards - mean_all).square().sum()) / (count - 1)
            advantage = advantage / (var.sqrt() + STD_EPS)
        return advantage[:, None].expand_as(rollout.rewards) * rollout.acted()

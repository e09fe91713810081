"""RLOO (Ahmadian et al. 2024, "Back to Basics", arXiv:2402.14740): REINFORCE on whole
completions with the leave-one-out mean of the other completions of the prompt as the
baseline."""

from __future__ import annotations

import torch

from textrl.agents.base import Rollout
from textrl.agents.clipped import ClippedAgent, group_stats, sequence_rewards


class RLOO(ClippedAgent):
    """``A_i = r_i - mean_{j != i} r_j = k/(k-1) (r_i - mean(r_group))`` over the k
    completions of a prompt; the loss ``-(1/B) sum_i A_i log pi(o_i | q)`` over whole
    completions (the sequence ``aggregation``), their probability ratio clipped to
    ``[1 - epsilon, 1 + epsilon_high]`` when a batch is reused (``iterations`` > 1). The
    paper folds the KL into the reward (``ReferenceKL(place="reward")``).

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> agent = RLOO(RecurrentLM(LMConfig(vocab_size=7)))
    >>> x = torch.randint(7, (3, 2))
    >>> rewards = torch.tensor([[0., 3], [0, 0], [0, 0]])
    >>> rollout = Rollout(x, torch.full((3,), 2), torch.zeros(3, 2), rewards,
    ...                   group=torch.zeros(3, dtype=torch.long))
    >>> agent.advantages(rollout, None)[:, 0].tolist()  # 3 - 0, 0 - 1.5, 0 - 1.5
    [3.0, -1.5, -1.5]
    """

    aggregation = "sequence"
    sequence_ratio = True

    def advantages(self, rollout: Rollout, task_rewards: torch.Tensor) -> torch.Tensor:
        """The paper's: the rewards with the KL folded in, left out of each other's mean."""
        rewards = sequence_rewards(rollout)
        mean, _, size = group_stats(rewards, rollout.group, "RLOO")
        advantage = size / (size - 1) * (rewards - mean)
        return advantage[:, None].expand_as(rollout.rewards) * rollout.acted()

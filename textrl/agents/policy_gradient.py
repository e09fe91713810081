"""REINFORCE on per-token rewards, SeqGAN's generator update."""

from __future__ import annotations

import torch

from textrl import distributed
from textrl.agents.base import Agent, Rollout
from textrl.agents.kl import ReferenceKL
from textrl.models.base import Policy
from textrl.models.modes import backward_in_eval_mode
from textrl.optimization import adam

BASELINES = ("none", "moving_average")


def returns_to_go(rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """``G_t = sum_{k >= t} gamma^(k-t) r_k`` over real positions; ``[B, T]`` -> ``[B, T]``."""
    rewards = rewards * mask
    out = torch.zeros_like(rewards)
    running = rewards.new_zeros(rewards.shape[0])
    for t in range(rewards.shape[1] - 1, -1, -1):
        running = rewards[:, t] + gamma * running
        out[:, t] = running
    return out * mask


class PolicyGradient(Agent):
    """REINFORCE: minimise ``-sum_{b,t} (G_t - baseline) log pi(y_t | y_<t)``.

    With SeqGAN's per-token rewards ``r_t = Q_t - Q_{t+1}`` (``r_T = Q_T``) and ``gamma=1``,
    ``G_t = Q_t`` and the gradient is SeqGAN's; paying ``r_t = Q_t`` with ``gamma=0`` gives
    the same gradient from rewards that never look ahead. The sum over batch and time and
    the absent baseline are SeqGAN's choices; ``baseline="moving_average"`` subtracts an
    exponential average of past mean returns. REINFORCE with a learned value baseline is
    ``ActorCritic(policy, gae_lambda=1.0)``: its advantage is then ``G_t - V(s_t)``.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> agent = PolicyGradient(RecurrentLM(LMConfig(vocab_size=7)))
    >>> x = torch.randint(7, (3, 4))
    >>> rollout = Rollout(x, torch.full((3,), 4), torch.zeros(3, 4), torch.ones(3, 4))
    >>> sorted(agent.update(rollout))
    ['baseline', 'grad_norm', 'loss', 'mean_return']
    """

    def __init__(self, policy: Policy, lr: float = 0.01, grad_clip: float = 5.0,
                 gamma: float = 1.0, baseline: str = "none", baseline_decay: float = 0.9,
                 kl: ReferenceKL | None = None):
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
        self.policy = policy
        self.optimizer = adam(policy.parameters(), lr=lr)
        self.grad_clip, self.gamma = grad_clip, gamma
        self.baseline, self.baseline_decay = baseline, baseline_decay
        self.baseline_value = 0.0
        self.kl = kl

    def loss(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """``(loss, returns [B, T], KL stats)``: returns run over every real position, from
        the rewards of the positions the agent chose (less the KL when it is paid there);
        the loss counts those positions only."""
        acted = rollout.acted()
        self.policy.eval()  # dropout off: the gradient is of the policy that sampled the tokens
        with backward_in_eval_mode(self.policy):
            log_probs = self.policy.log_prob(rollout.tokens, rollout.lengths, rollout.context)
        rollout, ref, kl_stats = self.kl_start(rollout, log_probs.detach())
        returns = returns_to_go(rollout.rewards.float() * acted, rollout.valid(), self.gamma) * acted
        advantages = (returns - self.baseline_value) * acted
        per_token = log_probs * advantages - self.kl_loss(log_probs, ref, acted)
        # A sum over the batch: each process's share counts as much as in one process, and
        # the gradient average over the processes (optimizer_step) divides by them.
        return -per_token.sum() * distributed.world(), returns, kl_stats

    def update(self, rollout: Rollout) -> dict[str, float]:
        """One gradient step; returns the loss, the mean return and the baseline used."""
        baseline_used = self.baseline_value
        loss, returns, kl_stats = self.loss(rollout)
        grad_norm = self.optimize(loss, "policy-gradient update")
        mean_return = (distributed.global_sum(returns.sum())
                       / distributed.global_sum(rollout.acted().sum())).item()
        if self.baseline == "moving_average":
            d = self.baseline_decay
            self.baseline_value = d * self.baseline_value + (1 - d) * mean_return
        return {"loss": loss.item(), "grad_norm": grad_norm, "mean_return": mean_return,
                "baseline": baseline_used} | kl_stats

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "baseline_value": self.baseline_value,
                **self.kl_state()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline_value = float(state["baseline_value"])
        self.load_kl_state(state)

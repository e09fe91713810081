"""The update GRPO, RLOO and REINFORCE++ share, read top to bottom in ``update``: the
policy's log-probabilities before the update (pi_old), the KL to the reference, the
agent's advantages, then ``iterations`` passes of a clipped-ratio loss with the KL term and
an entropy bonus, aggregated over tokens the agent's way. None of them has a critic.

Shapes: ``B`` completions, ``T`` positions; per-token tensors are 0 where the agent did not
act. Group statistics read ``rollout.group`` (rows of one prompt); without groups the whole
batch is one group.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from textrl import distributed
from textrl.agents.base import Agent, Rollout, policy_outputs
from textrl.agents.kl import ReferenceKL
from textrl.errors import UserError
from textrl.models.base import Policy
from textrl.models.modes import backward_in_eval_mode
from textrl.optimization import adam

STD_EPS = 1e-4  # TRL's GRPO: (r - mean) / (std + 1e-4)


def group_stats(values: torch.Tensor, group: torch.Tensor | None, agent: str
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mean, std, size)`` of ``values [B]`` over each row's group, each ``[B]``; ``std``
    with Bessel's correction (``torch.std``, as TRL). ``group [B]``: the rows of one prompt
    (each in one process); ``None``: the whole global batch is one group, its statistics
    summed over torchrun's processes. A group of one has no baseline: refused, naming
    ``agent``."""
    if group is None:
        count = distributed.global_sum(torch.tensor(float(len(values)), device=values.device))
        mean = distributed.global_sum(values.sum()) / count
        squares = distributed.global_sum((values - mean).square().sum())
        mean, squares, size = mean.expand_as(values), squares.expand_as(values), count.expand_as(
            values)
    else:
        ids = torch.unique(group, return_inverse=True)[1]
        n = int(ids.max()) + 1 if len(ids) else 0
        size = torch.zeros(n, device=values.device).index_add_(0, ids, torch.ones_like(values))
        mean = torch.zeros(n, device=values.device).index_add_(0, ids, values) / size
        squares = torch.zeros(n, device=values.device).index_add_(
            0, ids, (values - mean[ids]).square())
        mean, squares, size = mean[ids], squares[ids], size[ids]
    if bool((size < 2).any()):
        raise UserError(f"{agent} compares each completion with the others of its prompt: use "
                        "--group-size 2 or more (without prompts: a batch of 2 or more)")
    return mean, (squares / (size - 1)).sqrt(), size


def sequence_rewards(rollout: Rollout) -> torch.Tensor:
    """``[B]``: each completion's reward, summed over the tokens it chose (a sequence-level
    reward sits at its last token; a KL paid in the reward is spread over every token)."""
    return (rollout.rewards.float() * rollout.acted()).sum(1)


def global_whiten(values: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``values [B, T]`` less their mean, over their std, both over the chosen positions of
    the global batch (every torchrun process alike); 0 elsewhere."""
    mask = mask.float()
    count = distributed.global_sum(mask.sum())
    mean = distributed.global_sum((values * mask).sum()) / count
    var = distributed.global_sum(((values - mean).square() * mask).sum()) / count
    return (values - mean) / (var.sqrt() + eps) * mask


class ClippedAgent(Agent):
    """Subclasses implement :meth:`advantages` and choose ``aggregation`` (and
    ``sequence_ratio``: one probability ratio per completion, RLOO's, instead of one per
    token).

    Aggregations of the per-token loss ``l [B, T]`` (TRL's ``loss_type``): ``grpo``, each
    completion's mean over its tokens, then the mean over completions; ``dapo``, the sum
    over every token of the batch over their number; ``dr_grpo``, the sum over
    ``B * T`` (a constant divisor: T is the rollout's width, the prompt's positions included,
    where TRL divides by its max_completion_length, a constant factor apart); ``sequence``,
    each completion's sum, then the mean over completions. Under torchrun the counts are the
    global batch's.
    """

    aggregation: str = "dapo"
    sequence_ratio: ClassVar[bool] = False

    def __init__(self, policy: Policy, lr: float = 1e-3, grad_clip: float = 1.0,
                 epsilon: float = 0.2, epsilon_high: float | None = None, iterations: int = 1,
                 entropy_coef: float = 0.0, kl: ReferenceKL | None = None):
        if epsilon <= 0 or (epsilon_high is not None and epsilon_high <= 0) or iterations < 1:
            raise ValueError("epsilon and epsilon_high must be > 0, iterations >= 1")
        self.policy, self.kl = policy, kl
        self.optimizer = adam(policy.parameters(), lr=lr)
        self.grad_clip, self.iterations, self.entropy_coef = grad_clip, iterations, entropy_coef
        self.low, self.high = 1 - epsilon, 1 + (epsilon if epsilon_high is None else epsilon_high)

    def advantages(self, rollout: Rollout, task_rewards: torch.Tensor) -> torch.Tensor:
        """``[B, T]``: the advantage of every chosen token, from the rollout's rewards (a KL
        paid in the reward included) and ``task_rewards [B]``, each completion's reward
        before it."""
        raise NotImplementedError

    def log_probs(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(log_probs [B, T], entropy [B, T] or None)`` with gradients, dropout off; the
        entropies only when the bonus is on."""
        self.policy.eval()
        with backward_in_eval_mode(self.policy):
            if self.entropy_coef:
                log_probs, entropy, _ = policy_outputs(self.policy, rollout)
                return log_probs, entropy
            return self.policy.log_prob(rollout.tokens, rollout.lengths, rollout.context), None

    def surrogate(self, log_probs: torch.Tensor, old: torch.Tensor, advantages: torch.Tensor,
                  acted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(objective [B, T], clipped [B, T])``: ``min(rho A, clip(rho) A)`` per token (and
        where the clip binds), or,
        with ``sequence_ratio``, per completion (its ratio the product over its tokens), put
        at its first chosen token so a per-completion sum counts it once."""
        log_ratio = (log_probs - old) * acted
        if self.sequence_ratio:
            first = acted & (acted.cumsum(1) == 1)
            log_ratio = log_ratio.sum(1, keepdim=True) * first
            advantages = (advantages * first).sum(1, keepdim=True) * first
            acted = first
        ratio = log_ratio.exp()
        objective = torch.min(ratio * advantages,
                              ratio.clamp(self.low, self.high) * advantages) * acted
        # where the clip binds (its gradient is 0 there), as TRL counts its clip ratio
        clipped = ((ratio < self.low) & (advantages < 0)) | ((ratio > self.high) & (advantages > 0))
        return objective, clipped & acted

    def aggregate(self, per_token: torch.Tensor, acted: torch.Tensor) -> torch.Tensor:
        """The loss from ``per_token [B, T]`` (0 off the chosen positions)."""
        sequences = distributed.mean_denominator(torch.tensor(float(len(acted)),
                                                              device=acted.device))
        if self.aggregation == "grpo":
            per_sequence = per_token.sum(1) / acted.sum(1).clamp(min=1)
            return per_sequence.sum() / sequences
        if self.aggregation == "dapo":
            return per_token.sum() / distributed.mean_denominator(acted.sum().float())
        if self.aggregation == "dr_grpo":  # TRL: B x max_completion_length; here the width
            return per_token.sum() / (sequences * acted.shape[1])  # of the rollout, prompt too
        return per_token.sum() / sequences  # "sequence"

    def update(self, rollout: Rollout) -> dict[str, float]:
        acted = rollout.acted()
        if not bool(acted.any()):
            raise UserError("the rollout has no chosen tokens: nothing to update")
        # pi_old is the policy now: the first pass's log-probabilities, detached
        log_probs, entropy = self.log_probs(rollout)
        old = log_probs.detach()
        task_rewards = sequence_rewards(rollout)  # before a KL paid in the reward
        rollout, ref, stats = self.kl_start(rollout, old)
        advantages = self.advantages(rollout, task_rewards) * acted
        totals: dict[str, float] = {}
        for iteration in range(self.iterations):
            if iteration:
                log_probs, entropy = self.log_probs(rollout)
            objective, clipped = self.surrogate(log_probs, old, advantages, acted)
            per_token = -objective + self.kl_loss(log_probs, ref, acted)
            if entropy is not None:
                per_token = per_token - self.entropy_coef * entropy * acted
            loss = self.aggregate(per_token, acted)
            grad_norm = self.optimize(loss, f"{type(self).__name__} update")
            # the share of ratios clipped: per completion (sequence ratios) or per token
            ratios = len(acted) if self.sequence_ratio else acted.sum()
            step = {"loss": loss.item(), "grad_norm": grad_norm,
                    "clip_fraction": (clipped.sum() / ratios).item()}
            if entropy is not None:
                step["entropy"] = ((entropy * acted).sum() / acted.sum()).item()
            for key, value in step.items():
                totals[key] = totals.get(key, 0.0) + value / self.iterations
        chosen = acted.sum()
        return totals | stats | {"mean_advantage": ((advantages.sum() / chosen).item()),
                                 "completion_length": (chosen / len(acted)).item()}

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), **self.kl_state()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.load_kl_state(state)

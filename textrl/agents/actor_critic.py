"""Actor-critic agents: A2C with GAE, and PPO on the same rollouts. The critic is a linear
value head on the policy's features, or a critic the reward provides (MaskGAN's, a head on
its discriminator)."""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from textrl import distributed
from textrl.agents.base import Agent, Rollout, policy_outputs
from textrl.agents.kl import ReferenceKL
from textrl.models.base import Policy
from textrl.models.modes import backward_in_eval_mode
from textrl.optimization import adam


class Critic(Protocol):
    """Per-token values ``[B, T]`` of the state before each token: ``critic(tokens, lengths,
    context)``. An ``nn.Module``, trained by the agent that uses it."""

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any = None
                 ) -> torch.Tensor: ...

    def parameters(self): ...


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
        lam: float) -> torch.Tensor:
    """Generalised advantage estimates ``[B, T]`` (Schulman et al. 2016). ``values[:, t]`` is
    V of the state before token t; the state after a sentence's last token is terminal."""
    mask = mask.float()
    next_values = torch.cat([values[:, 1:] * mask[:, 1:], values.new_zeros(len(values), 1)], 1)
    deltas = (rewards + gamma * next_values - values) * mask
    advantages = torch.zeros_like(deltas)
    running = deltas.new_zeros(len(deltas))
    for t in range(deltas.shape[1] - 1, -1, -1):
        running = deltas[:, t] + gamma * lam * running * mask[:, t]
        advantages[:, t] = running
    return advantages * mask


class ActorCritic(Agent):
    """A2C: ``-A_t log pi(y_t | y_<t)`` with GAE advantages from the critic, plus
    ``value_coef`` times the squared error of V against the GAE returns, minus
    ``entropy_coef`` times the per-token entropy; means over the tokens the agent chose
    (``policy_loss="sum"``: the policy term summed over them, as the MaskGAN authors do).
    ``advantage_clip`` clips the advantages to ``[-clip, clip]`` (MaskGAN: 5); ``critic_lr``
    gives the critic its own learning rate (default ``lr``). With
    ``gae_lambda=1`` the advantage is the discounted return minus the value.

    The critic is ``critic`` when given (e.g. ``reward.critic``), else a linear value head
    on the policy's features (``Policy.token_scores``, or ``teacher_forced``). With
    Monte-Carlo rewards ``r_t = Q_t`` and ``gamma = 0`` the advantage is ``Q_t - V(s_t)``:
    SeqGAN's gradient with a learned baseline.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> agent = ActorCritic(RecurrentLM(LMConfig(vocab_size=7, hidden_dim=8)))
    >>> x = torch.randint(7, (3, 4))
    >>> stats = agent.update(Rollout(x, torch.full((3,), 4), torch.zeros(3, 4), torch.ones(3, 4)))
    >>> sorted(stats)
    ['entropy', 'explained_variance', 'grad_norm', 'mean_return', 'policy_loss', 'value_loss']
    """

    def __init__(self, policy: Policy, lr: float = 1e-3, grad_clip: float = 5.0,
                 gamma: float = 1.0, gae_lambda: float = 0.95, value_coef: float = 0.5,
                 entropy_coef: float = 0.0, critic: Critic | None = None,
                 advantage_clip: float | None = None, policy_loss: str = "mean",
                 critic_lr: float | None = None, kl: ReferenceKL | None = None):
        if policy_loss not in ("mean", "sum"):
            raise ValueError(f"policy_loss must be 'mean' or 'sum', got {policy_loss!r}")
        self.advantage_clip, self.policy_loss = advantage_clip, policy_loss
        self.policy = policy
        self.critic = critic
        self.value_head = None
        if critic is None:
            self.value_head = nn.Linear(policy.feature_dim, 1)
            nn.init.zeros_(self.value_head.weight)
            nn.init.zeros_(self.value_head.bias)
        critic_parameters = (critic if critic is not None else self.value_head).parameters()
        self.optimizer = adam([
            {"params": list(policy.parameters())},
            {"params": list(critic_parameters), "lr": lr if critic_lr is None else critic_lr}],
            lr=lr)
        self.grad_clip, self.gamma, self.gae_lambda = grad_clip, gamma, gae_lambda
        self.value_coef, self.entropy_coef = value_coef, entropy_coef
        self.kl = kl

    def evaluate(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(log_prob, entropy, value)``, each ``[B, T]``, 0 on padding. Dropout is off: the
        tokens were sampled without it, so the gradient (and PPO's ratio) must be of that
        same policy."""
        self.policy.eval()
        with backward_in_eval_mode(self.policy):  # a critic may share the policy's encoder
            chosen, entropy, features = policy_outputs(self.policy, rollout)
            if self.critic is not None:
                values = self.critic(rollout.tokens, rollout.lengths, rollout.context)
            else:
                values = self.value_head(features).squeeze(2)
        return chosen, entropy, values * rollout.valid()

    def advantages(self, rollout: Rollout, values: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(advantages, returns)`` from detached ``values``: GAE over every real position
        from the rewards of the chosen ones, counted at the chosen ones."""
        acted = rollout.acted()
        adv = gae(rollout.rewards.float() * acted, values, rollout.valid(), self.gamma,
                  self.gae_lambda) * acted
        returns = adv + values * acted
        if self.advantage_clip is not None:
            adv = adv.clamp(-self.advantage_clip, self.advantage_clip)
        return adv, returns

    def _optimize(self, objective: torch.Tensor, values: torch.Tensor, returns: torch.Tensor,
                  entropy: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        """One gradient step on ``-objective + value_coef * (V - return)^2 - entropy_coef *
        entropy``, each term ``[B, T]`` averaged over the chosen tokens of ``mask`` (of the
        global batch, under torchrun)."""
        n_tokens = distributed.mean_denominator(mask.sum())
        policy_loss = -(objective * mask).sum()
        policy_loss = (policy_loss / n_tokens if self.policy_loss == "mean"
                       else policy_loss * distributed.world())
        value_loss = ((values - returns).square() * mask).sum() / n_tokens
        mean_entropy = (entropy * mask).sum() / n_tokens
        loss = policy_loss + self.value_coef * value_loss
        if self.entropy_coef:  # without a bonus the entropies are only logged: no backward
            loss = loss - self.entropy_coef * mean_entropy
        grad_norm = self.optimize(loss, "actor-critic update")
        return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
                "explained_variance": explained_variance(values, returns, mask),
                "entropy": mean_entropy.item(), "grad_norm": grad_norm}

    def update(self, rollout: Rollout) -> dict[str, float]:
        """One gradient step on the whole rollout."""
        acted = rollout.acted()
        log_probs, entropy, values = self.evaluate(rollout)
        rollout, ref, kl_stats = self.kl_start(rollout, log_probs.detach())
        advantages, returns = self.advantages(rollout, values.detach())
        objective = log_probs * advantages - self.kl_loss(log_probs, ref, acted)
        stats = self._optimize(objective, values, returns, entropy, acted)
        return stats | kl_stats | {"mean_return": (returns.sum() / acted.sum()).item()}

    def state_dict(self) -> dict:
        critic = self.critic if self.critic is not None else self.value_head
        return {"optimizer": self.optimizer.state_dict(), "critic": critic.state_dict(),
                **self.kl_state()}

    def load_state_dict(self, state: dict) -> None:
        critic = self.critic if self.critic is not None else self.value_head
        critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.load_kl_state(state)


class PPO(ActorCritic):
    """PPO-clip (Schulman et al. 2017) on the same rollouts and critic as ``ActorCritic``:
    advantages from the values before the update, then ``epochs`` passes over shuffled
    mini-batches of ``minibatch`` sentences with the ratio clipped to ``1 +- clip``. It
    normalises advantages over the whole rollout and draws its mini-batches from it, so it
    runs in one process.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> agent = PPO(RecurrentLM(LMConfig(vocab_size=7, hidden_dim=8)), minibatch=2)
    >>> x = torch.randint(7, (3, 4))
    >>> rollout = Rollout(x, torch.full((3,), 4), torch.zeros(3, 4), torch.ones(3, 4))
    >>> sorted(agent.update(rollout))[:3]
    ['approx_kl', 'clip_fraction', 'entropy']
    """

    distributable = False

    def __init__(self, policy: Policy, lr: float = 1e-3, grad_clip: float = 5.0,
                 gamma: float = 1.0, gae_lambda: float = 0.95, value_coef: float = 0.5,
                 entropy_coef: float = 0.0, critic: Critic | None = None, clip: float = 0.2,
                 epochs: int = 4, minibatch: int = 16, normalize_advantages: bool = True,
                 generator: torch.Generator | None = None, advantage_clip: float | None = None,
                 policy_loss: str = "mean", critic_lr: float | None = None,
                 kl: ReferenceKL | None = None):
        super().__init__(policy, lr=lr, grad_clip=grad_clip, gamma=gamma, gae_lambda=gae_lambda,
                         value_coef=value_coef, entropy_coef=entropy_coef, critic=critic,
                         advantage_clip=advantage_clip, policy_loss=policy_loss,
                         critic_lr=critic_lr, kl=kl)
        self.clip, self.epochs, self.minibatch = clip, epochs, minibatch
        self.normalize_advantages, self.generator = normalize_advantages, generator

    def update(self, rollout: Rollout) -> dict[str, float]:
        acted = rollout.acted()
        # With one mini-batch the first epoch's first pass is pi_old's (the clipped agents' and
        # TRL's rule), so it keeps its graph and that mini-batch reads it instead of a second
        # pass; with several, pi_old is a pass of its own.
        whole = self.minibatch >= len(rollout.tokens)
        with torch.set_grad_enabled(whole and torch.is_grad_enabled()):
            first = self.evaluate(rollout)
        old_log_probs, _, old_values = (t.detach() for t in first)
        rollout, ref, kl_stats = self.kl_start(rollout, old_log_probs)
        advantages, returns = self.advantages(rollout, old_values)
        if self.normalize_advantages:
            chosen = advantages[acted]
            advantages = (advantages - chosen.mean()) / (chosen.std(unbiased=False) + 1e-8) * acted
        totals: dict[str, float] = {}
        updates = 0
        for epoch in range(self.epochs):
            order = torch.randperm(len(rollout.tokens), generator=self.generator,
                                   device=rollout.tokens.device)
            for lo in range(0, len(rollout.tokens), self.minibatch):
                idx = order[lo:lo + self.minibatch]
                m = acted[idx]
                n_tokens = m.sum().item()
                log_probs, entropy, values = (
                    (t[idx] for t in first) if whole and epoch == 0
                    else self.evaluate(rollout.rows(idx)))
                first = None  # its graph is spent (or never read): free it
                log_ratio = (log_probs - old_log_probs[idx]) * m
                ratio = log_ratio.exp()
                adv = advantages[idx]
                surrogate = torch.min(ratio * adv, ratio.clamp(1 - self.clip, 1 + self.clip) * adv)
                surrogate = surrogate - self.kl_loss(log_probs, None if ref is None else ref[idx], m)
                stats = self._optimize(surrogate, values, returns[idx], entropy, m) | {
                    "clip_fraction": (((ratio - 1).abs() > self.clip) & m).sum().item() / n_tokens,
                    "approx_kl": (((ratio - 1) - log_ratio) * m).sum().item() / n_tokens}
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + value
                updates += 1
        out = {key: value / updates for key, value in totals.items()}
        return out | kl_stats | {"mean_return": (returns.sum() / acted.sum()).item()}


@torch.no_grad()
def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> float:
    """1 - Var(returns - values) / Var(returns) over the positions of ``mask``: 1 for a
    perfect critic, 0 for one no better than a constant, negative for worse (as SB3 logs).
    0 when the returns do not vary (SB3's NaN would stop a run: logged stats must be finite)."""
    chosen = mask.bool()
    target, error = returns[chosen], (returns - values)[chosen]
    if target.numel() < 2 or target.var() == 0:
        return 0.0
    return float(1 - error.var() / target.var())

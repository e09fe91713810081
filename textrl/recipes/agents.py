"""The agents a recipe is made of, each a config dataclass (its field docstrings are the
command-line help), a builder that takes it and the run's shared parts by keyword, and the
class it builds: ``AGENTS`` maps a recipe's agent name to them. Adding an agent is one entry
here. Every agent gets the KL to a reference policy (:class:`KLConfig`), each with its own
defaults for where it is paid and its coefficient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from textrl.agents import GRPO, PPO, RLOO, ActorCritic, PolicyGradient, ReferenceKL, ReinforcePP
from textrl.agents.grpo import LOSS_TYPES, SCALINGS
from textrl.agents.kl import PLACES
from textrl.components import Component
from textrl.errors import UserError
from textrl.settings import check_at_least, check_choices


@dataclass
class KLConfig:
    """The KL to a frozen copy of the starting policy (logged every update)."""

    kl_coef: float | None = None
    """its coefficient beta (unset: the agent's default: grpo 0.0, TRL GRPOConfig's beta;
    rloo 0.05, TRL RLOOConfig's beta; reinforce-pp 0.01; pg, a2c, ppo 0)"""
    kl_in: str | None = None
    """reward (k1 per token, no gradient through it) or loss (k3 per token) (unset: loss for
    grpo, reward for the others)"""
    kl_target: float | None = None
    """adapt the coefficient towards this KL per sequence (Ziegler et al. 2019); unset: fixed"""
    kl_horizon: int = 10_000
    """the adaptive controller's horizon, in sequences"""

    def __post_init__(self) -> None:
        if self.kl_in is not None:
            check_choices(self, {"kl_in": PLACES})
        if self.kl_coef is not None and self.kl_coef < 0:
            raise UserError(f"--kl-coef must be >= 0, got {self.kl_coef}")
        if self.kl_target is not None and self.kl_target <= 0:
            raise UserError(f"--kl-target must be > 0, got {self.kl_target}")
        check_at_least(self, 1, ("kl_horizon",))
        if self.kl_target is not None and self.kl_coef == 0:
            raise UserError("--kl-target adapts --kl-coef multiplicatively: give --kl-coef > 0")

    def reference(self, policy: Any, coef: float = 0.0, place: str = "reward") -> ReferenceKL:
        """The reference KL of ``policy`` with the agent's defaults ``coef`` and ``place``
        where these settings leave them unset."""
        coef = self.kl_coef if self.kl_coef is not None else coef
        if self.kl_target is not None and coef == 0:
            raise UserError("--kl-target needs a starting --kl-coef > 0 for this agent")
        return ReferenceKL(policy, coef, self.kl_in or place, self.kl_target, self.kl_horizon)


@dataclass
class PGConfig:
    """REINFORCE (SeqGAN's generator update)."""

    lr: float = 0.01
    """agent's Adam learning rate"""
    grad_clip: float = 5.0
    """gradient norm clip"""
    gamma: float = 1.0
    """discount without rollouts (with rollouts r_t = Q_t is paid undiscounted)"""
    baseline: str = "none"
    """none (SeqGAN) or moving_average of past mean returns"""

    def __post_init__(self) -> None:
        check_choices(self, {"baseline": ("none", "moving_average")})
        if self.lr <= 0 or self.grad_clip <= 0:
            raise UserError("--lr and --grad-clip must be > 0")


def build_pg(config: PGConfig, *, policy: Any, gamma: float, kl_settings: KLConfig,
             **_: Any) -> PolicyGradient:
    return PolicyGradient(policy, lr=config.lr, grad_clip=config.grad_clip, gamma=gamma,
                          baseline=config.baseline, kl=kl_settings.reference(policy))


@dataclass
class A2CConfig:
    """Advantage actor-critic with GAE."""

    lr: float = 0.01
    """agent's Adam learning rate"""
    grad_clip: float = 5.0
    """gradient norm clip"""
    gamma: float = 1.0
    """discount without rollouts (with rollouts r_t = Q_t is paid undiscounted)"""
    gae_lambda: float = 0.95
    """GAE's lambda"""
    value_coef: float = 0.5
    """weight of the value loss"""
    entropy_coef: float = 0.0
    """weight of the entropy bonus"""
    advantage_clip: float | None = None
    """clip advantages to [-clip, clip] (MaskGAN: 5); unset: no clip"""
    policy_loss: str = "mean"
    """the policy term over the chosen tokens: mean, or sum (MaskGAN's authors)"""
    critic_lr: float | None = None
    """the critic's Adam learning rate (MaskGAN's authors: 5.1761e-7); unset: --lr"""

    def __post_init__(self) -> None:
        check_choices(self, {"policy_loss": ("mean", "sum")})
        if self.lr <= 0 or self.grad_clip <= 0 or (self.critic_lr is not None
                                                    and self.critic_lr <= 0):
            raise UserError("--lr, --critic-lr and --grad-clip must be > 0")
        if self.advantage_clip is not None and self.advantage_clip <= 0:
            raise UserError(f"--advantage-clip must be > 0, got {self.advantage_clip}")


def _actor_critic(config: A2CConfig) -> dict[str, Any]:
    return {"lr": config.lr, "grad_clip": config.grad_clip, "gae_lambda": config.gae_lambda,
            "value_coef": config.value_coef, "entropy_coef": config.entropy_coef,
            "advantage_clip": config.advantage_clip, "policy_loss": config.policy_loss,
            "critic_lr": config.critic_lr}


def build_a2c(config: A2CConfig, *, policy: Any, gamma: float, kl_settings: KLConfig,
              critic: Any = None, **_: Any) -> ActorCritic:
    return ActorCritic(policy, gamma=gamma, critic=critic, kl=kl_settings.reference(policy),
                       **_actor_critic(config))


@dataclass
class PPOConfig(A2CConfig):
    """PPO-clip on A2C's advantages."""

    ppo_clip: float = 0.2
    """probability ratio clip"""
    ppo_epochs: int = 4
    """passes over each rollout"""
    ppo_minibatch: int = 16
    """sentences per mini-batch"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least(self, 1, ("ppo_epochs", "ppo_minibatch"))


def build_ppo(config: PPOConfig, *, policy: Any, gamma: float, generator: torch.Generator,
              kl_settings: KLConfig, critic: Any = None, **_: Any) -> PPO:
    return PPO(policy, gamma=gamma, critic=critic, clip=config.ppo_clip,
               epochs=config.ppo_epochs, minibatch=config.ppo_minibatch, generator=generator,
               kl=kl_settings.reference(policy), **_actor_critic(config))


@dataclass
class ClippedConfig:
    """What GRPO, RLOO and REINFORCE++ share (defaults: TRL's GRPOConfig where it applies)."""

    lr: float = 1e-3
    """Adam learning rate (TRL: 1e-6, for billion-parameter models; small models here need
    far more)"""
    grad_clip: float = 1.0
    """gradient norm clip (TRL's max_grad_norm)"""
    epsilon: float = 0.2
    """the ratio's lower clip 1 - epsilon (and upper, without --epsilon-high) (TRL: 0.2)"""
    epsilon_high: float | None = None
    """the ratio's upper clip 1 + epsilon_high (DAPO's clip-higher: 0.28); unset: --epsilon"""
    num_iterations: int = 1
    """optimisation passes over each batch, mu (TRL's num_iterations, default 1)"""
    entropy_coef: float = 0.0
    """weight of the entropy bonus (per chosen token)"""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("num_iterations",))
        if self.lr <= 0 or self.grad_clip <= 0 or self.epsilon <= 0 or (
                self.epsilon_high is not None and self.epsilon_high <= 0):
            raise UserError("--lr, --grad-clip, --epsilon and --epsilon-high must be > 0")

    def shared(self) -> dict[str, Any]:
        return {"lr": self.lr, "grad_clip": self.grad_clip, "epsilon": self.epsilon,
                "epsilon_high": self.epsilon_high, "iterations": self.num_iterations,
                "entropy_coef": self.entropy_coef}


@dataclass
class GRPOConfig(ClippedConfig):
    """GRPO: group-normalised rewards under a PPO-clip ratio."""

    loss_type: str = "dapo"
    """grpo (per-completion token mean), dapo (token mean over the batch: TRL's default) or
    dr_grpo (a constant divisor; use with --scale-rewards none)"""
    scale_rewards: str = "group"
    """divide the group-centred rewards by the group's std (TRL's default), the batch's, or
    none (Dr. GRPO)"""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(self, {"loss_type": LOSS_TYPES, "scale_rewards": SCALINGS})


def build_grpo(config: GRPOConfig, *, policy: Any, kl_settings: KLConfig, **_: Any) -> GRPO:
    return GRPO(policy, loss_type=config.loss_type, scale_rewards=config.scale_rewards,
                kl=kl_settings.reference(policy, 0.0, "loss"), **config.shared())


@dataclass
class RLOOConfig(ClippedConfig):
    """RLOO: REINFORCE with the leave-one-out baseline of the prompt's other completions."""


def build_rloo(config: RLOOConfig, *, policy: Any, kl_settings: KLConfig, **_: Any) -> RLOO:
    return RLOO(policy, kl=kl_settings.reference(policy, 0.05, "reward"), **config.shared())


@dataclass
class ReinforcePPConfig(ClippedConfig):
    """REINFORCE++: per-token returns with the KL in the reward, whitened over the batch."""

    group_baseline: bool = False
    """subtract the prompt group's mean reward first (REINFORCE++-baseline)"""
    gamma: float = 1.0
    """discount of the per-token returns"""


def build_reinforce_pp(config: ReinforcePPConfig, *, policy: Any, kl_settings: KLConfig,
                       **_: Any) -> ReinforcePP:
    return ReinforcePP(policy, gamma=config.gamma, group_baseline=config.group_baseline,
                       kl=kl_settings.reference(policy, 0.01, "reward"), **config.shared())


AGENTS: dict[str, Component] = {
    "pg": Component(PGConfig, build_pg, PolicyGradient),
    "a2c": Component(A2CConfig, build_a2c, ActorCritic),
    "ppo": Component(PPOConfig, build_ppo, PPO),
    "grpo": Component(GRPOConfig, build_grpo, GRPO),
    "rloo": Component(RLOOConfig, build_rloo, RLOO),
    "reinforce_pp": Component(ReinforcePPConfig, build_reinforce_pp, ReinforcePP),
}

"""Agents that update a policy: behaviour cloning (MLE), REINFORCE, A2C, PPO, and the group
algorithms of prompted RL: GRPO, RLOO, REINFORCE++."""

from textrl.agents.actor_critic import PPO, ActorCritic, Critic, gae
from textrl.agents.base import Agent, Rollout, collect_episodes, sample_rollout
from textrl.agents.grpo import GRPO
from textrl.agents.kl import ReferenceKL
from textrl.agents.mle import BehaviourCloning, teacher_forcing_prob
from textrl.agents.policy_gradient import PolicyGradient, returns_to_go
from textrl.agents.reinforce_pp import ReinforcePP
from textrl.agents.rloo import RLOO

__all__ = ["GRPO", "PPO", "RLOO", "ActorCritic", "Agent", "BehaviourCloning", "Critic",
           "PolicyGradient", "ReferenceKL", "ReinforcePP", "Rollout", "collect_episodes", "gae",
           "returns_to_go", "sample_rollout", "teacher_forcing_prob"]

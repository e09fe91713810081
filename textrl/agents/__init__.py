"""Agents that update a policy: behaviour cloning (MLE), REINFORCE, A2C and PPO."""

from textrl.agents.actor_critic import PPO, ActorCritic, gae
from textrl.agents.base import Agent, Rollout, collect_episodes
from textrl.agents.mle import BehaviourCloning, teacher_forcing_prob
from textrl.agents.policy_gradient import PolicyGradient, returns_to_go

__all__ = ["PPO", "ActorCritic", "Agent", "BehaviourCloning", "PolicyGradient", "Rollout",
           "collect_episodes", "gae", "returns_to_go", "teacher_forcing_prob"]

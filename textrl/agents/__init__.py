"""Agents that update a policy: behaviour cloning (MLE), REINFORCE, A2C and PPO."""

from textrl.agents.actor_critic import PPO, ActorCritic, Critic, gae
from textrl.agents.base import Agent, Rollout, collect_episodes, sample_rollout
from textrl.agents.mle import BehaviourCloning, teacher_forcing_prob
from textrl.agents.policy_gradient import PolicyGradient, returns_to_go

__all__ = ["PPO", "ActorCritic", "Agent", "BehaviourCloning", "Critic", "PolicyGradient", "Rollout",
           "collect_episodes", "gae", "returns_to_go", "sample_rollout",
           "teacher_forcing_prob"]

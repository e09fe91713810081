"""Agents that update a policy: behaviour cloning (MLE) and REINFORCE."""

from textrl.agents.mle import BehaviourCloning, teacher_forcing_prob
from textrl.agents.policy_gradient import PolicyGradient, returns_to_go

__all__ = ["BehaviourCloning", "PolicyGradient", "returns_to_go", "teacher_forcing_prob"]

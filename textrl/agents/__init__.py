"""Agents that update a policy: behaviour cloning (MLE) for now."""

from textrl.agents.mle import BehaviourCloning, teacher_forcing_prob

__all__ = ["BehaviourCloning", "teacher_forcing_prob"]

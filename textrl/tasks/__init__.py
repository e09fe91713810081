"""Tasks: what a policy is conditioned on and which positions it chooses. ``TASKS`` maps a
task's name (``--task NAME``) to its config dataclass (its fields are flags) and builder."""

from textrl.components import Component
from textrl.tasks.arithmetic import ArithmeticConfig, ArithmeticTask, build_arithmetic
from textrl.tasks.base import Task
from textrl.tasks.infill import InfillTask, MaskConfig, build_infill
from textrl.tasks.prompted import PromptBatch, PromptedConfig, PromptedTask, build_prompted
from textrl.tasks.unconditional import Unconditional, UnconditionalConfig, build_unconditional

TASKS: dict[str, Component] = {
    "unconditional": Component(UnconditionalConfig, build_unconditional, Unconditional),
    "infill": Component(MaskConfig, build_infill, InfillTask),
    "prompted": Component(PromptedConfig, build_prompted, PromptedTask),
    "arithmetic": Component(ArithmeticConfig, build_arithmetic, ArithmeticTask),
}

__all__ = ["TASKS", "ArithmeticTask", "InfillTask", "MaskConfig", "PromptBatch", "PromptedTask",
           "Task", "Unconditional"]

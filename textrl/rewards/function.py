"""Rewards written by the user: any function ``(tokens, lengths, context) -> [B] or [B, T]``,
or a reward class, loaded from ``module:attribute`` without editing textrl.

Example (``my_rewards.py``, on the Python path)::

    import torch

    def short_and_varied(tokens, lengths, context=None):
        distinct = torch.tensor([len(set(row[:n].tolist())) for row, n in zip(tokens, lengths)])
        return distinct / lengths - 0.05 * lengths

    # textrl train pg --reward my_rewards:short_and_varied --init runs/mle --out runs/pg
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import torch

from textrl.errors import UserError


class FunctionReward:
    """A plain function as a reward. ``token_level`` says whether it returns one reward per
    token ``[B, T]`` (True) or per sequence ``[B]`` (False); ``causal`` whether a per-token
    value reads only the tokens up to it. Every call checks the shape, so a function that
    returns the wrong one fails on its first batch, saying what was expected.

    >>> reward = FunctionReward(lambda tokens, lengths, context: lengths.float())
    >>> reward(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 1])).tolist()
    [3.0, 1.0]
    """

    def __init__(self, function: Callable[..., Any], token_level: bool = False,
                 causal: bool = False, name: str | None = None):
        self.function, self.token_level, self.causal = function, token_level, causal
        self.name = name or getattr(function, "__name__", repr(function))

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        # A user's function may compute on the CPU; the reward lives with the tokens.
        value = torch.as_tensor(self.function(tokens, lengths, context)).to(tokens.device)
        batch, length = tokens.shape
        expected = (batch, length) if self.token_level else (batch,)
        if tuple(value.shape) != expected:
            kind = "[B, T] (one per token)" if self.token_level else "[B] (one per sentence)"
            raise UserError(f"reward {self.name} returned shape {tuple(value.shape)} for "
                            f"tokens of shape {(batch, length)}; expected {kind} = {expected}. "
                            "A per-token reward sets token_level = True on the function")
        if not value.is_floating_point():
            value = value.float()
        return value


def load_reward(spec: str) -> Any:
    """``"module:attribute"`` -> a reward: a class is instantiated with no arguments, a
    function is wrapped in ``FunctionReward`` (its ``token_level`` and ``causal`` attributes,
    if set, say what it returns). Errors name what is missing and what was expected."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UserError(f"--reward {spec!r}: give a built-in reward name or MODULE:FUNCTION "
                        "(e.g. my_rewards:score)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"--reward {spec}: cannot import module {module_name!r} ({exc}); put "
                        "it on the Python path (e.g. run from its folder, or set PYTHONPATH)"
                        ) from None
    if not hasattr(module, attribute):
        raise UserError(f"--reward {spec}: module {module_name!r} has no attribute "
                        f"{attribute!r}; define a function (tokens, lengths, context) -> "
                        "[B] or [B, T] there")
    target = getattr(module, attribute)
    if inspect.isclass(target):
        reward = target()
        if not callable(reward):
            raise UserError(f"--reward {spec}: instances of {attribute} are not callable; a "
                            "reward class defines __call__(tokens, lengths, context)")
        return reward
    if not callable(target):
        raise UserError(f"--reward {spec}: {attribute} is not a function or a class")
    return FunctionReward(target, token_level=getattr(target, "token_level", False),
                          causal=getattr(target, "causal", False), name=spec)


def user_reward_is_learned(spec: str) -> bool:
    """Whether ``MODULE:ATTRIBUTE`` names a reward class trained by d-steps (it has
    ``update``), without instantiating it."""
    module_name, _, attribute = spec.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute, None)
    except ImportError:
        return False  # load_reward reports it when the reward is built
    return inspect.isclass(target) and hasattr(target, "update")

"""Rewards written by the user: any function ``(tokens, lengths, context) -> [B] or [B, T]``,
or a reward class, loaded from ``module:attribute`` without editing textrl.

Example (``my_rewards.py``, in the folder ``textrl`` runs from, or on the Python path)::

    import torch

    def short_and_varied(tokens, lengths, context=None):
        distinct = torch.tensor([len(set(row[:n].tolist())) for row, n in zip(tokens, lengths)])
        return distinct / lengths - 0.05 * lengths

    # textrl train pg --reward my_rewards:short_and_varied --init runs/mle --out runs/pg

On a prompted task a function may instead take text, as TRL's reward functions do: a
function with a ``completions`` parameter is called with the completions, the ``prompts``
and every other column of the prompts' rows as keyword arguments (lists, one entry a
completion), and returns one number a completion::

    def exact(completions, answer, **columns):
        return [1.0 if c.strip() == a.strip() else 0.0 for c, a in zip(completions, answer)]

A class is instantiated with no arguments. A subclass of :class:`~textrl.rewards.Reward`
declares what it returns with its class attributes; a subclass of
:class:`~textrl.rewards.LearnedReward` is trained by d-steps and checkpointed with the run.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import torch

from textrl.errors import UserError
from textrl.rewards.base import LearnedReward, Reward, check_class, check_learned

DECLARED = ("token_level", "causal", "task", "distributable")  # what a reward may declare


class FunctionReward(Reward):
    """A plain function as a reward. ``token_level`` says whether it returns one reward per
    token ``[B, T]`` (True) or per sequence ``[B]`` (False); ``causal`` whether a per-token
    value reads only the tokens up to it. Every call checks the shape, so a function that
    returns the wrong one fails on its first batch, saying what was expected.

    >>> reward = FunctionReward(lambda tokens, lengths, context: lengths.float())
    >>> reward(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 1])).tolist()
    [3.0, 1.0]
    """

    @classmethod
    def declared_by(cls, target: Any) -> type[FunctionReward]:
        """The FunctionReward class of ``target`` (a function or a callable class): what it
        declares as attributes (``token_level``, ``causal``, ``task``, ``distributable``)
        become class attributes, so a recipe checks them before anything is built."""
        declared = {name: getattr(target, name) for name in DECLARED if hasattr(target, name)}
        return type(cls.__name__, (cls,), declared) if declared else cls

    def __init__(self, function: Callable[..., Any], token_level: bool = False,
                 causal: bool = False, name: str | None = None):
        self.function, self.token_level, self.causal = function, token_level, causal
        self.name = name or getattr(function, "__name__", repr(function))
        self.takes_context = _takes_context(function)
        self.takes_text = _takes_text(function)

    @property
    def label(self) -> str:
        return self.name

    def draw_context(self) -> Any:
        """The function's own ``draw_context()``, when it declares one (see ``Reward``)."""
        draw = getattr(self.function, "draw_context", None)
        return draw() if draw is not None else None

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        try:
            value = (self._call_on_text(tokens, lengths, context) if self.takes_text else
                     self.function(*((tokens, lengths, context) if self.takes_context
                                     else (tokens, lengths))))
        except UserError:
            raise
        except Exception as exc:  # the user's code: one line, then its own frames only
            frames = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
            raise UserError(f"reward {self.name} raised {type(exc).__name__}: {exc}\n"
                            + "".join(frames).rstrip()) from None
        # A user's function may compute on the CPU; the reward lives with the tokens.
        try:
            value = torch.as_tensor(value, dtype=torch.float32).to(tokens.device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise UserError(f"reward {self.name} returned {type(value).__name__} that is not "
                            f"numbers ({exc}); return one number per sentence (completion), "
                            "never None or text") from None
        batch, length = tokens.shape
        expected = (batch, length) if self.token_level else (batch,)
        groups = getattr(context, "group", None)
        if (not self.token_level and value.dim() == 1 and groups is not None and batch
                and len(value) == len(groups.unique()) < batch):
            raise UserError(f"reward {self.name} returned {len(value)} values, one per prompt, "
                            f"for {batch} completions; return one value per completion")
        if tuple(value.shape) != expected:
            kind = "[B, T] (one per token)" if self.token_level else "[B] (one per sentence)"
            raise UserError(f"reward {self.name} returned shape {tuple(value.shape)} for "
                            f"tokens of shape {(batch, length)}; expected {kind} = {expected}. "
                            "A per-token reward sets token_level = True on the function")
        return value


    def _call_on_text(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any) -> Any:
        """TRL's convention: completions, prompts and the rows' other columns by keyword."""
        if not hasattr(context, "completions"):
            raise UserError(f"reward {self.name} takes completions (text), which only a "
                            "prompted task has: use --task prompted or --task arithmetic, or "
                            "write it as (tokens, lengths, context)")
        names = dict.fromkeys(key for row in context.rows for key in row if key != "prompt")
        columns = {name: [row.get(name) for row in context.rows] for name in names}
        return self.function(completions=context.completions(tokens, lengths),
                             prompts=context.column("prompt"), **columns)


def _takes_text(function: Callable[..., Any]) -> bool:
    """Whether ``function`` reads text, TRL-style (a ``completions`` parameter)."""
    try:
        return "completions" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _takes_context(function: Callable[..., Any]) -> bool:
    """Whether ``function`` takes a third argument (the context): ``(tokens, lengths)`` is
    enough for a reward that needs none."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: pass everything
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def user_reward_target(spec: str) -> Any:
    """The class or function ``"module:attribute"`` names, imported (the working folder is
    importable, as with ``python -m``) but not instantiated. Errors name what is missing and
    what was expected; a class that half-conforms to the reward contract is refused."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UserError(f"--reward {spec!r}: give a built-in reward name or MODULE:FUNCTION "
                        "(e.g. my_rewards:score)")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"--reward {spec}: cannot import module {module_name!r} ({exc}); put "
                        f"{module_name.replace('.', '/')}.py in the folder you run from "
                        f"({os.getcwd()}), or its folder on PYTHONPATH") from None
    if not hasattr(module, attribute):
        raise UserError(f"--reward {spec}: module {module_name!r} has no attribute "
                        f"{attribute!r}; define a function (tokens, lengths, context) -> "
                        "[B] or [B, T] there")
    target = getattr(module, attribute)
    if inspect.isclass(target):
        check_class(target, spec)
    elif not callable(target):
        raise UserError(f"--reward {spec}: {attribute} is not a function or a class")
    return target


def reward_class(target: Any) -> type[Reward]:
    """The reward class a loaded ``target`` becomes: itself for a Reward subclass, else a
    ``FunctionReward`` declaring what ``target`` declares (a function, or a callable class
    of the user's)."""
    if inspect.isclass(target) and issubclass(target, Reward):
        return target
    return FunctionReward.declared_by(target)


def load_reward(spec: str) -> Reward:
    """``"module:attribute"`` -> a reward: a class is instantiated with no arguments (a
    callable that is not a :class:`Reward` is wrapped in ``FunctionReward``, which reads its
    ``token_level`` and ``causal`` attributes), a function is wrapped in ``FunctionReward``."""
    target = user_reward_target(spec)
    if inspect.isclass(target):
        reward = target()
        if isinstance(reward, LearnedReward):
            check_learned(reward, spec)
        if isinstance(reward, Reward):
            return reward
        if not callable(reward):
            raise UserError(f"--reward {spec}: instances of {target.__name__} are not callable; "
                            "a reward class defines __call__(tokens, lengths, context)")
        target = reward
    return FunctionReward.declared_by(target)(
        target, token_level=getattr(target, "token_level", False),
        causal=getattr(target, "causal", False), name=spec)

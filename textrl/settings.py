"""Validation shared by the run configurations (``MLEConfig``, ``AdversarialConfig``): each
failure is a ``UserError`` naming the command-line flag."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

from textrl.errors import CheckpointError, UserError

T = TypeVar("T")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def from_dict(cls: type[T], data: dict) -> T:
    """Build the dataclass ``cls`` from ``data``, refusing unknown keys by name."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return cls(**data)


def check_choices(config: Any, choices: dict[str, tuple]) -> None:
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            raise UserError(f"{_flag(name)} {getattr(config, name)!r}: use one of {', '.join(allowed)}")


def check_at_least(config: Any, minimum: int, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(config, name) < minimum:
            raise UserError(f"{_flag(name)} must be >= {minimum}, got {getattr(config, name)}")


def check_resumable(config: Any, saved: Any, run: str) -> None:
    """A resumed run may change only ``config.RESUMABLE`` settings."""
    changed = [k for k, v in asdict(config).items()
               if v != getattr(saved, k) and k not in config.RESUMABLE]
    if changed:
        allowed = " and ".join(_flag(k) for k in config.RESUMABLE)
        raise CheckpointError(f"{run}: --resume with different {', '.join(changed)} than the "
                              f"checkpoint; only {allowed} may change")

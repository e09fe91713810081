"""Validation shared by the component configs: each failure is a ``UserError`` naming the
command-line flag."""

from __future__ import annotations

from typing import Any

from textrl.errors import UserError


def flag(name: str) -> str:
    """The command-line flag of a setting: ``d_lr`` -> ``--d-lr``."""
    return "--" + name.replace("_", "-")


def check_choices(config: Any, choices: dict[str, tuple]) -> None:
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            raise UserError(f"{flag(name)} {getattr(config, name)!r}: use one of {', '.join(allowed)}")


def check_at_least(config: Any, minimum: int, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(config, name) < minimum:
            raise UserError(f"{flag(name)} must be >= {minimum}, got {getattr(config, name)}")

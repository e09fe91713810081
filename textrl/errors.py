"""Errors a user can fix. The CLI prints their message on one line and exits with code 2."""

import math


class UserError(Exception):
    """Bad input from the user: the message says what, where, and how to fix it."""


class DataError(UserError):
    """A data file that cannot be used (missing, empty, binary, not UTF-8, no usable line)."""


class CheckpointError(UserError):
    """A run directory or checkpoint that cannot be read or does not match the request."""


class DivergenceError(UserError):
    """Training produced a non-finite loss, gradient or metric: the run stops there."""


def a(word: str) -> str:
    """``word`` with its indefinite article, as said aloud: "an adversarial", "an mle"."""
    spoken_vowel = word[:1].lower() in "aeiou" or word.lower().startswith(("mle", "lstm"))
    return f"{'an' if spoken_vowel else 'a'} {word}"


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1: "1 sentence", "3 sentences"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_finite(what: str, **values: float) -> None:
    """A ``DivergenceError`` naming ``what`` and the first non-finite of ``values``."""
    for name, value in values.items():
        if not math.isfinite(value):
            raise DivergenceError(f"{what}: {name} is {value}")

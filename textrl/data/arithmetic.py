"""An embedded verifiable task: addition problems ``a+b=`` whose answer is ``a+b``, drawn
procedurally (``--data arithmetic`` or ``arithmetic:DIGITS``, ``--task arithmetic``).

Every operand pair with ``digits`` digits at most is one problem (10,000 for 2 digits). A
seeded shuffle sets aside ``HELD_OUT`` pairs for the test split (the prompts accuracy is
measured on) and as many for validation; the rest is the training pool, from which MLE's
worked examples (the first ``--n-train``) and RL's prompts (all of it) are drawn. No
held-out pair ever appears in training, as prompt or worked example.

A sentence is the characters of ``a+b=c`` (``17+25=42``), one token each; the prompt is
everything up to and including ``=``.
"""

from __future__ import annotations

import random

from textrl.errors import UserError

NAME = "arithmetic"
HELD_OUT = 500
SEPARATOR = "="
SYMBOLS = tuple("0123456789") + ("+", SEPARATOR)
DEFAULT_DIGITS = 2

Pair = tuple[int, int]


def digits_of(spec: str) -> int:
    """``arithmetic`` -> 2, ``arithmetic:3`` -> 3; anything else is refused."""
    name, _, digits = spec.partition(":")
    if name != NAME:
        raise ValueError(f"not an arithmetic spec: {spec!r}")
    if not digits:
        return DEFAULT_DIGITS
    if not digits.isdigit() or not 1 <= int(digits) <= 4:
        raise UserError(f"--data {spec}: give arithmetic or arithmetic:D with D digits, 1 to 4")
    return int(digits)


def is_arithmetic(spec: str | None) -> bool:
    return spec is not None and (spec == NAME or spec.startswith(NAME + ":"))


def split_pairs(digits: int, seed: int) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """``(train pool, valid, test)``: every pair of operands below ``10**digits``, shuffled
    with ``seed``; the test and validation splits are ``HELD_OUT`` pairs each (fewer for one
    digit: a tenth of the pairs)."""
    top = 10 ** digits
    pairs = [(a, b) for a in range(top) for b in range(top)]
    random.Random(seed).shuffle(pairs)
    held = min(HELD_OUT, len(pairs) // 10)
    return pairs[2 * held:], pairs[held:2 * held], pairs[:held]


def prompt(pair: Pair) -> str:
    return f"{pair[0]}+{pair[1]}{SEPARATOR}"


def answer(pair: Pair) -> str:
    return str(pair[0] + pair[1])


def worked(pair: Pair) -> list[str]:
    """The tokens of a worked example: ``['1', '7', '+', '2', '5', '=', '4', '2']``."""
    return list(prompt(pair) + answer(pair))


def max_tokens(digits: int) -> int:
    """The longest worked example: two operands, ``+``, ``=`` and a sum one digit longer."""
    return 3 * digits + 3

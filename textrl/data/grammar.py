"""An embedded dataset for GANs on discrete sequences, in the spirit of Kusner &
Hernández-Lobato (2016): short arithmetic expressions over ``x`` from a context-free
grammar, and a parser that tells whether a generated string belongs to it.

Their exact grammar and length are not confirmed (``../shared/reference/wave2.md`` §4.1);
this one is

    S -> x | S + S | S - S | S * S | S / S | ( S )

with tokens ``x + - * / ( )``, at most ``MAX_TOKENS`` tokens. The parentheses make the
language context-free rather than regular (their nesting must balance), so a generator
cannot satisfy the parser with a finite-state rule. Every derivation has an odd length.
Sampling draws a length uniformly from 3, 5, ..., the limit, then derivations (S expands to
``x`` with probability 0.5, to ``S op S`` with 0.4, each operator alike, and to ``( S )``
with 0.1) until one has that length: the grammar's own distribution given the length,
without the flood of one-token ``x`` that unconditioned sampling gives (57% of draws).
"""

from __future__ import annotations

import random

OPERATORS = ("+", "-", "*", "/")
MAX_TOKENS = 15


def _expand(rng: random.Random, budget: int) -> list[str] | None:
    """One derivation of S, or ``None`` once it exceeds ``budget`` tokens."""
    if budget < 1:
        return None
    r = rng.random()
    if r < 0.5:
        return ["x"]
    if r < 0.9:
        left = _expand(rng, budget - 2)
        if left is None:
            return None
        right = _expand(rng, budget - 1 - len(left))
        return None if right is None else [*left, rng.choice(OPERATORS), *right]
    inner = _expand(rng, budget - 2)
    return None if inner is None else ["(", *inner, ")"]


def sample_expressions(n: int, seed: int, max_tokens: int = MAX_TOKENS) -> list[list[str]]:
    """``n`` expressions of at most ``max_tokens`` (>= 3) tokens, seeded (see the module
    docstring)."""
    if max_tokens < 3:
        raise ValueError(f"expressions need room for 3 tokens, got {max_tokens}")
    rng = random.Random(seed)
    lengths = range(3, max_tokens + 1, 2)
    out: list[list[str]] = []
    while len(out) < n:
        target = rng.choice(lengths)
        expression = _expand(rng, target)
        while expression is None or len(expression) != target:
            expression = _expand(rng, target)
        out.append(expression)
    return out


def is_grammatical(tokens: list[str]) -> bool:
    """Whether ``tokens`` derive from S (recursive descent: expr := term (op term)*,
    term := x | ( expr ), which generates the same strings)."""
    position = 0

    def term() -> bool:
        nonlocal position
        if position < len(tokens) and tokens[position] == "x":
            position += 1
            return True
        if position < len(tokens) and tokens[position] == "(":
            position += 1
            if not expr() or position >= len(tokens) or tokens[position] != ")":
                return False
            position += 1
            return True
        return False

    def expr() -> bool:
        nonlocal position
        if not term():
            return False
        while position < len(tokens) and tokens[position] in OPERATORS:
            position += 1
            if not term():
                return False
        return True

    return expr() and position == len(tokens)


def grammar_metrics(samples: list[list[str]], training: list[list[str]]) -> dict[str, float]:
    """``grammatical`` and ``novel`` (grammatical and not a training string) as shares of
    ``samples``, and ``unique`` (distinct strings / samples)."""
    if not samples:
        raise ValueError("no samples to score")
    seen = {tuple(s) for s in training}
    ok = [s for s in samples if is_grammatical(s)]
    return {"grammatical": len(ok) / len(samples),
            "novel": sum(tuple(s) not in seen for s in ok) / len(samples),
            "unique": len({tuple(s) for s in samples}) / len(samples)}

"""A registry entry, the shape of every pluggable part (policies, tasks, rewards, agents):
a config dataclass whose field docstrings are its command-line flags, a builder, and the
class the builder returns. What a part declares (a policy's capabilities, a reward's task
and whether it is learned, whether a part can be split across processes) is read from that
class before anything is built, so a wrong combination is refused before a run starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Component:
    """``config``: a dataclass (its fields are flags); ``build(config, ...)`` makes the part;
    ``cls``: the class of what ``build`` returns."""

    config: type
    build: Callable[..., Any]
    cls: type

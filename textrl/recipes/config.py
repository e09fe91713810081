"""Run configurations built from small component dataclasses.

A component config is a dataclass whose field docstrings (a string literal right under the
field, as tyro reads them) are its command-line help; ``__post_init__`` validates it, and
``RESUMABLE`` names the fields a resumed run may change. A run's ``RunConfig`` holds the
components its recipe names, and reads like one flat config (``config.lr``): field names
are unique within a recipe, so YAML presets and ``config.yaml`` stay flat mappings.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import math
import textwrap
import types
import typing
from dataclasses import MISSING, asdict, fields
from typing import Any

from textrl.errors import CheckpointError, UserError
from textrl.settings import flag


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """``{field: docstring}`` from the string literal under each field of ``cls`` (and of the
    dataclasses it extends)."""
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if "__dataclass_fields__" in vars(base):
            docs |= _own_field_docs(base)
    return docs


def _own_field_docs(cls: type) -> dict[str, str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for node, following in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _scalar_type(annotation: Any) -> tuple[type, bool]:
    """``(element type, is_list)`` of a field annotation such as ``int | None``, ``list[int]``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _scalar_type(next(a for a in typing.get_args(annotation) if a is not type(None)))
    if origin is list:
        return typing.get_args(annotation)[0], True
    return annotation, False


_KIND_NAMES = {int: "a whole number", float: "a finite number", str: "text", bool: "true or false"}


def _fits(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    return isinstance(value, kind)


def check_types(classes: typing.Iterable[type], settings: dict, source: str) -> None:
    """Every value in ``settings`` has its field's type (a finite number where a number is
    expected); otherwise a UserError naming ``source`` and the flag."""
    for cls in classes:
        for name, annotation in typing.get_type_hints(cls).items():
            if name not in settings or name not in cls.__dataclass_fields__:
                continue
            value = settings[name]
            kind, is_list = _scalar_type(annotation)
            optional = type(None) in typing.get_args(annotation)
            if value is None and optional:
                continue
            if is_list:
                ok = isinstance(value, list) and bool(value) and all(_fits(v, kind) for v in value)
                expected = f"a list of {_KIND_NAMES[kind]}s"
            else:
                ok, expected = _fits(value, kind), _KIND_NAMES[kind]
            if not ok:
                raise UserError(f"{source}: {flag(name)} must be {expected}"
                                f"{' or unset' if optional else ''}, got {value!r}")


def add_arguments(parser: argparse.ArgumentParser, classes: typing.Iterable[type],
                  defaults: dict | None = None) -> None:
    """One flag per field of ``classes``, its help the field's docstring and its default
    (``defaults`` override the dataclass's: a preset's values). Absent flags parse as None,
    so a config file or a saved run keeps its value."""
    defaults = defaults or {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        docs = field_docs(cls)
        group = parser.add_argument_group((cls.__doc__ or cls.__name__).strip().splitlines()[0].rstrip("."))
        for f in fields(cls):
            if f.name in defaults:
                default = defaults[f.name]
            elif f.default is not MISSING:
                default = f.default
            else:
                default = f.default_factory()  # type: ignore[misc]
            doc = docs.get(f.name, "")
            text = (doc if "default:" in doc else f"{doc} (default: {default})").replace("%", "%%")
            kind, is_list = _scalar_type(hints[f.name])
            if kind is bool:
                group.add_argument(flag(f.name), action=argparse.BooleanOptionalAction,
                                   default=None, help=text)
            else:
                group.add_argument(flag(f.name), type=kind, nargs="+" if is_list else None,
                                   default=None, help=text)


class RunConfig:
    """The settings of one run of ``recipe``: ``parts`` maps a component's role to its
    config, and ``choices`` are what chose the components (policy family, task, reward:
    ``textrl.recipes.Choices``). Attribute access reads a field from whichever part has it
    (field names are unique within a recipe)."""

    def __init__(self, recipe: str, parts: dict[str, Any], choices: Any = None):
        self.recipe, self.parts, self.choices = recipe, parts, choices

    def __getattr__(self, name: str) -> Any:
        for part in self.__dict__.get("parts", {}).values():
            if name in part.__dataclass_fields__:
                return getattr(part, name)
        raise AttributeError(name)

    def to_dict(self) -> dict:
        """Flat: the recipe, then every field of every part."""
        out: dict = {"recipe": self.recipe}
        for part in self.parts.values():
            out |= asdict(part)
        return out

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied (each part validates its new values)."""
        known = {name for part in self.parts.values() for name in part.__dataclass_fields__}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise UserError(f"{', '.join(flag(k) for k in unknown)} is not a setting of "
                            f"`textrl train {self.recipe}`")
        return RunConfig(self.recipe, {
            role: dataclasses.replace(part, **{k: v for k, v in changes.items()
                                               if k in part.__dataclass_fields__})
            for role, part in self.parts.items()}, self.choices)

    @property
    def resumable(self) -> tuple[str, ...]:
        return tuple(name for part in self.parts.values() for name in getattr(part, "RESUMABLE", ()))

    def check_resumable(self, saved: dict, run: str) -> None:
        """A resumed run may change only its parts' ``RESUMABLE`` settings. A setting the saved
        run predates counts as its default."""
        mine = self.to_dict()
        defaults = {f.name: f.default for part in self.parts.values() for f in fields(part)
                    if f.default is not MISSING}
        changed = [k for k, v in mine.items()
                   if v != saved.get(k, defaults.get(k)) and k not in self.resumable]
        if changed:
            allowed = " and ".join(flag(k) for k in self.resumable)
            raise CheckpointError(f"{run}: --resume with different {', '.join(changed)} than "
                                  f"the checkpoint; only {allowed} may change (to change the "
                                  "others, start a new run: choose another --out, or delete "
                                  f"{run})")


def build_parts(recipe: str, classes: dict[str, type], settings: dict, source: str,
                choices: Any = None) -> RunConfig:
    """Route flat ``settings`` to the component ``classes``; an unknown key is a UserError
    naming ``source`` (the flag or file it came from) and the recipe."""
    settings = {k: v for k, v in settings.items() if k != "recipe"}
    names = {f.name: role for role, cls in classes.items() for f in fields(cls)}
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise UserError(f"{source}: {', '.join(flag(k) for k in unknown)} is not a setting of "
                        f"`textrl train {recipe}`; see `textrl train {recipe} --help`")
    parts = {}
    for role, cls in classes.items():
        given = {f.name: settings[f.name] for f in fields(cls) if f.name in settings}
        try:
            parts[role] = cls(**given)
        except TypeError as exc:  # a value of the wrong kind deep in a check
            raise UserError(f"{source}: a setting of {role} has the wrong type ({exc})") from None
    return RunConfig(recipe, parts, choices)

"""Build nested config dataclasses from YAML data, collecting *every* problem with its location.

This extends :mod:`posenc.options` (which stops at the first error and knows no line numbers)
for whole experiment files: unknown keys get the closest valid key and the list of valid keys;
type errors reuse :func:`posenc.options.coerce`; a dataclass may define ``validate()`` that
raises :class:`FieldProblem` (or ``ValueError``) for range errors.

A field named ``from_`` is written ``from`` in YAML (Python keywords can't be field names).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any, Union, get_args, get_origin

from ..options import OptionError, coerce
from ..registry import did_you_mean
from .yaml_errors import Problem


class FieldProblem(ValueError):
    """Raised by a config dataclass's ``validate()`` to point at one of its fields."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def yaml_key(f: dataclasses.Field) -> str:
    return f.name[:-1] if f.name.endswith("_") else f.name


def _dataclass_in(tp):
    """The dataclass inside ``tp`` (``X`` or ``X | None``), else None."""
    if dataclasses.is_dataclass(tp):
        return tp
    if get_origin(tp) in (Union, getattr(__import__("types"), "UnionType")):
        for a in get_args(tp):
            if dataclasses.is_dataclass(a):
                return a
    return None


def _non_null(tp):
    """``X`` for ``X | None`` with a single X (so errors are X's, e.g. a Literal's close match)."""
    if get_origin(tp) in (Union, getattr(__import__("types"), "UnionType")):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


@functools.lru_cache(maxsize=None)
def _hints(cls) -> dict:
    """``typing.get_type_hints`` of a config dataclass (evaluating string annotations is slow; a
    sweep builds hundreds of configs)."""
    return typing.get_type_hints(cls)


def _locate(locations: dict[str, str], key: str) -> str:
    """Location of ``key`` or of its nearest located parent."""
    k = key
    while k:
        if k in locations:
            return locations[k]
        k = k.rpartition(".")[0]
    return locations.get("", "config")


def build(cls, data: Any, locations: dict[str, str], prefix: str = ""):
    """Return ``(instance or None, problems)`` for dataclass ``cls`` built from ``data``."""
    problems: list[Problem] = []
    here = prefix or "(top level)"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None, [Problem(_locate(locations, prefix), here, f"expected a mapping, got {data!r}")]
    hints = _hints(cls)
    fields = {yaml_key(f): f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            path = f"{prefix}.{key}" if prefix else str(key)
            names = sorted(fields)
            problems.append(Problem(_locate(locations, path), path,
                                    f"unknown key {key!r}.{did_you_mean(str(key), names)} Valid keys: {', '.join(names)}"))
    kwargs = {}
    for key, f in fields.items():
        path = f"{prefix}.{key}" if prefix else key
        tp = hints[f.name]
        sub = _dataclass_in(tp)
        if key not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                if sub is not None:  # a required section may be written empty
                    obj, probs = build(sub, {}, locations, path)
                    problems += probs
                    kwargs[f.name] = obj
                else:
                    problems.append(Problem(_locate(locations, prefix), path, f"required key {key!r} is missing"))
            continue
        value = data[key]
        if sub is not None and (value is not None or tp is sub):
            obj, probs = build(sub, value, locations, path)
            problems += probs
            kwargs[f.name] = obj
            continue
        try:
            kwargs[f.name] = coerce(value, _non_null(tp) if value is not None else tp, path)
        except OptionError as e:
            msg = str(e)
            problems.append(Problem(_locate(locations, path), path, msg.removeprefix(f"{path}: ")))
    if problems:
        return None, problems
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if callable(check):
        try:
            check()
        except FieldProblem as e:
            path = f"{prefix}.{e.field}" if prefix else e.field
            problems.append(Problem(_locate(locations, path), path, str(e)))
        except ValueError as e:
            problems.append(Problem(_locate(locations, prefix), here, str(e)))
    return (None if problems else obj), problems


def to_dict(obj) -> dict:
    """Plain dict of a config dataclass with YAML key names (``from_`` → ``from``)."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out[yaml_key(f)] = to_dict(v) if dataclasses.is_dataclass(v) else v
    return out


def describe(cls, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """(dotted key, type, default, help) for every leaf field, for ``--help`` and docs."""
    from ..options import _type_name

    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{yaml_key(f)}"
        sub = _dataclass_in(hints[f.name])
        if sub is not None:
            rows += describe(sub, path + ".")
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = "(required)"
        rows.append((path, _type_name(hints[f.name]), default, f.metadata.get("help", "")))
    return rows

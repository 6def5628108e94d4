"""Validated dataclass options: build a frozen dataclass from a plain dict, or fail early.

Every encoding declares its options as a frozen dataclass (fields carry ``metadata={"help": ...}``);
experiment configs use the same machinery. Errors name the bad key, its closest match and the
valid keys, e.g. ``unknown option 'rnak' for position encoding 'diet_abs'. Did you mean 'rank'?
Valid options: max_length, rank, sharing``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from .registry import did_you_mean


class OptionError(ValueError):
    """A bad option: unknown key, wrong type or value out of range."""


def field_help(cls, name: str) -> str:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("help", "")
    return ""


def describe_options(cls) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, help) for each field of an options dataclass."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = "(required)"
        out.append((f.name, _type_name(hints.get(f.name, Any)), default, f.metadata.get("help", "")))
    return out


def _type_name(tp) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "|".join(str(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def coerce(value: Any, tp, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (bool/int/float/str/Literal/Optional/list/
    dict/nested dataclass) and return it, converted where that is lossless (int → float)."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            hint = did_you_mean(str(value), [str(c) for c in choices])
            raise OptionError(f"{where}: {value!r} is not one of {list(choices)}.{hint}")
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return coerce(value, a, where)
            except OptionError:
                pass
        raise OptionError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise OptionError(f"{where}: expected a list, got {value!r}")
        (inner,) = get_args(tp)[:1] or (Any,)
        items = [coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise OptionError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise OptionError(f"{where}: expected a mapping, got {value!r}")
        return build_options(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise OptionError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OptionError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise OptionError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def build_options(cls, data: dict | None, where: str):
    """Instantiate dataclass ``cls`` from ``data`` with type checks; unknown keys are errors.

    The dataclass may define ``validate(self)`` raising ``ValueError`` for range errors; it is
    called after construction and its message is prefixed with ``where``.
    """
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = [k for k in data if k not in names]
    if unknown:
        k = unknown[0]
        valid = ", ".join(names) if names else "(this takes no options)"
        raise OptionError(f"unknown option {k!r} for {where}.{did_you_mean(str(k), names)} Valid options: {valid}")
    kwargs = {k: coerce(v, hints.get(k, Any), f"{where}: option {k!r}") for k, v in data.items()}
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if callable(check):
        try:
            check()
        except OptionError:
            raise
        except ValueError as e:
            raise OptionError(f"{where}: {e}") from None
    return obj


def options_to_dict(obj) -> dict:
    """Plain JSON-able dict of a (possibly nested) options dataclass."""
    return dataclasses.asdict(obj)

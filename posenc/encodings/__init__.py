"""Registries of position and segment encodings.

Add an encoding: write one file in this package (or your own package) with a subclass of
:class:`PositionEncoding` / :class:`SegmentEncoding` decorated with :func:`register_position` /
:func:`register_segment`, and import it below (plugins: import your module before building a
model). The registry-driven tests in :mod:`posenc.testing` then cover it automatically.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..options import OptionError, build_options
from ..registry import Registry
from .base import EXTRAPOLATION, Encoding, EncodingContext, NoOptions, PositionEncoding, SegmentEncoding
from .randomized import RESERVED_KEY, RandomizedPositions, as_dict, parse_randomize

POSITION_ENCODINGS: Registry[type[PositionEncoding]] = Registry("position encoding")
SEGMENT_ENCODINGS: Registry[type[SegmentEncoding]] = Registry("segment encoding")


def _check_declarations(cls, name: str) -> None:
    if cls.extrapolation not in EXTRAPOLATION:
        raise TypeError(f"encoding {name!r} ({cls.__name__}): extrapolation must be one of {EXTRAPOLATION}, "
                        f"got {cls.extrapolation!r}")
    if not (cls.supports_bidirectional or cls.supports_causal):
        raise TypeError(f"encoding {name!r} ({cls.__name__}) declares neither bidirectional nor causal support")


def register_position(name: str):
    """Class decorator: register a :class:`PositionEncoding` under ``name``."""

    def deco(cls):
        if not issubclass(cls, PositionEncoding):
            raise TypeError(f"{cls.__name__} must subclass posenc.encodings.PositionEncoding")
        _check_declarations(cls, name)
        cls.name = name
        return POSITION_ENCODINGS.register(name)(cls)

    return deco


def register_segment(name: str):
    """Class decorator: register a :class:`SegmentEncoding` under ``name``.

    Attention calls every hook on the segment encoding too (see :mod:`posenc.encodings.stack`),
    except ``score_scale``, a single number the position encoding owns: a segment class that
    overrides it is refused here rather than silently ignored."""

    def deco(cls):
        if not issubclass(cls, SegmentEncoding):
            raise TypeError(f"{cls.__name__} must subclass posenc.encodings.SegmentEncoding")
        if cls.score_scale is not Encoding.score_scale:
            raise TypeError(
                f"segment encoding {name!r} ({cls.__name__}) overrides score_scale, but the scale of q·kᵀ "
                f"belongs to the position encoding (one number per model); add a logit term with layer_bias "
                f"or content_bias instead")
        _check_declarations(cls, name)
        cls.name = name
        return SEGMENT_ENCODINGS.register(name)(cls)

    return deco


def check_supports(kind: str, spec: Any, causal: bool, where: str) -> None:
    """Refuse, at config time, an encoding used in a direction it does not support."""
    cls, _ = parse_spec(kind, spec)
    ok = cls.supports_causal if causal else cls.supports_bidirectional
    if not ok:
        usable = [n for n in _registry(kind).names()
                  if (_registry(kind).get(n).supports_causal if causal else _registry(kind).get(n).supports_bidirectional)]
        raise OptionError(
            f"{kind} encoding {cls.name!r} cannot be used in {where}: it is "
            f"{'bidirectional-only' if causal else 'causal-only'} (supports_{'causal' if causal else 'bidirectional'} "
            f"is False). Use one of: {', '.join(usable)}")


def list_encodings(pattern: str = "*") -> list[str]:
    """Registered position encodings matching a wildcard, e.g. ``list_encodings("diet*")``."""
    return POSITION_ENCODINGS.list(pattern)


def list_segment_encodings(pattern: str = "*") -> list[str]:
    """Registered segment encodings matching a wildcard."""
    return SEGMENT_ENCODINGS.list(pattern)


def _registry(kind: str) -> Registry:
    return POSITION_ENCODINGS if kind == "position" else SEGMENT_ENCODINGS


def _split(kind: str, spec: Any):
    """(encoding class, option values, ``randomize`` value) of a name / mapping / dataclass spec."""
    if isinstance(spec, str):
        return _registry(kind).get(spec), {}, None
    if isinstance(spec, Mapping):
        if "name" not in spec:
            raise OptionError(f"{kind} encoding spec {dict(spec)!r} needs a 'name' key")
        opts = {k: v for k, v in spec.items() if k not in ("name", RESERVED_KEY)}
        return _registry(kind).get(spec["name"]), opts, spec.get(RESERVED_KEY)
    if dataclasses.is_dataclass(spec) and hasattr(spec, "name"):
        return _split(kind, dataclasses.asdict(spec))
    raise OptionError(f"{kind} encoding must be a name or a mapping with 'name', got {spec!r}")


def parse_spec(kind: str, spec: Any):
    """Validate a ``position:``/``segment:`` value (a name or ``{"name": ..., **options}``) and
    return ``(encoding class, options dataclass)``. Errors name the close match and valid options.
    The reserved key ``randomize`` (randomized positions, :mod:`.randomized`) is validated here
    and read with :func:`randomization`."""
    cls, opts, randomize = _split(kind, spec)
    options = build_options(cls.Options, opts, where=f"{kind} encoding {cls.name!r}")
    parse_randomize(kind, cls, randomize)
    return cls, options


def randomization(spec: Any, kind: str = "position") -> RandomizedPositions | None:
    """The randomized-positions setting of a spec (None: the encoding sees positions 0..n−1)."""
    cls, _, randomize = _split(kind, spec)
    return parse_randomize(kind, cls, randomize)


def normalize_spec(kind: str, spec: Any) -> dict:
    """Plain JSON dict ``{"name": ..., **all options with defaults}`` of a validated spec (plus
    ``randomize`` with its defaults, only when set)."""
    cls, options = parse_spec(kind, spec)
    return {"name": cls.name, **dataclasses.asdict(options), **as_dict(randomization(spec, kind))}


def describe(kind: str, name: str) -> str:
    """One paragraph of help for ``posenc list``: docstring summary and options."""
    from ..options import describe_options

    cls = _registry(kind).get(name)
    doc = (cls.__doc__ or "").strip().splitlines()
    lines = [f"{name}: {doc[0] if doc else ''}"]
    for opt, tp, default, help_ in describe_options(cls.Options):
        lines.append(f"    {opt} ({tp}, default {default!r}): {help_}")
    return "\n".join(lines)


def encoding_label(position: Any, segment: Any = "none") -> str:
    """Stable display name of an encoding pair, listing only options that differ from defaults:
    ``diet_abs(rank=128,sharing=layer)+diet``."""
    parts = []
    for kind, spec in (("position", position), ("segment", segment)):
        cls, options = parse_spec(kind, spec)
        defaults = dataclasses.asdict(cls.Options())
        changed = {k: v for k, v in dataclasses.asdict(options).items() if defaults.get(k) != v}
        randomized = randomization(spec, kind)
        if randomized is not None:
            changed[RESERVED_KEY] = randomized.label()
        args = ",".join(f"{k}={v}" for k, v in changed.items())
        parts.append(f"{cls.name}({args})" if args else cls.name)
    return "+".join(parts)


# Built-in families: importing a module registers its encodings.
from . import absolute, alibi, deberta, diet, fire, kerple, rotary, sandwich, segment, shaw, t5, untied  # noqa: E402,F401
from .stack import EncodingStack  # noqa: E402

__all__ = [
    "POSITION_ENCODINGS", "SEGMENT_ENCODINGS", "PositionEncoding", "SegmentEncoding", "EncodingContext",
    "NoOptions", "register_position", "register_segment", "list_encodings", "list_segment_encodings",
    "parse_spec", "normalize_spec", "randomization", "describe", "encoding_label", "check_supports", "EncodingStack",
]

"""Attention options: full attention, or Linformer's sequence projection (Wang et al. 2020).

    K' = E·K,  V' = F·V,   E, F ∈ R^{k×n_max} (first n columns used for a length-n input)
    A = softmax(Q K'ᵀ·s + B) V'           logits [b, h, n, k]: time and memory linear in n

With ``diet_abs`` this is DIET-ABS^LIN (Chen et al. 2021, Eq. 4): the position keys P_K
have k rows, so the position bias P_Q P_Kᵀ is n×k. Padding: padded keys and values are zeroed
before the projection (they then add nothing to K', V'); no padding mask is applied to the k
projected columns. Encodings whose bias or rotation is indexed by key *position* (relative
biases, RoPE, TUPE, DIET's segment bias) have no meaning after keys are mixed along the sequence,
so the config refuses them (by their declared hooks, see :func:`supports_projected_keys`).

Config slot: ``attention: "full"`` (default) or ``{"name": "linformer", "k": 32, "sharing":
"layer"|"none", "max_length": null}``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import torch
from torch import nn

from ..options import OptionError, build_options
from ..registry import did_you_mean


@dataclass(frozen=True)
class FullAttentionOptions:
    """Every query attends to every key (the default)."""


@dataclass(frozen=True)
class LinformerOptions:
    k: int = field(default=32, metadata={"help": "projected length (paper: 32 on GLUE, 256 on XTREME)"})
    sharing: Literal["layer", "none"] = field(default="layer", metadata={"help": "layer: one (E, F) pair for all layers; none: one per layer"})
    max_length: int | None = field(default=None, metadata={"help": "columns n_max of E/F, the longest input (default: max_position_embeddings)"})

    def validate(self):
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {self.max_length}")


ATTENTION_OPTIONS = {"full": FullAttentionOptions, "linformer": LinformerOptions}


def normalize_attention(spec: Any) -> dict:
    """Validated plain dict ``{"name": ..., **options}`` of an ``attention`` slot."""
    if spec is None:
        spec = "full"
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise OptionError(f"attention must be 'full', 'linformer' or a mapping with 'name', got {spec!r}")
    name = spec["name"]
    if name not in ATTENTION_OPTIONS:
        raise OptionError(f"unknown attention {name!r}.{did_you_mean(str(name), list(ATTENTION_OPTIONS))} "
                          f"Known: {', '.join(ATTENTION_OPTIONS)}")
    opts = build_options(ATTENTION_OPTIONS[name], {k: v for k, v in spec.items() if k != "name"}, where=f"attention {name!r}")
    return {"name": name, **dataclasses.asdict(opts)}


def linformer_length(config) -> int | None:
    """k when the config uses Linformer attention, else None."""
    spec = getattr(config, "attention", None)
    return spec["k"] if isinstance(spec, Mapping) and spec.get("name") == "linformer" else None


def supports_projected_keys(cls) -> bool:
    """Whether an encoding class still means something when keys are mixed along the sequence.

    An explicit ``supports_projected_keys`` wins; otherwise an encoding qualifies when it only
    touches the input (no logit bias, no q/k rotation, no value term)."""
    from ..encodings.base import Encoding

    declared = getattr(cls, "supports_projected_keys", None)
    if declared is not None:
        return bool(declared)
    return not (cls.has_layer_bias or cls.content_dependent_bias or cls.rotate_qk is not Encoding.rotate_qk
                or cls.value_term is not Encoding.value_term)


def check_attention_compatible(attention: dict, position: dict, segment: dict) -> None:
    """Refuse, at config time, encodings that cannot work with Linformer's projected keys."""
    if attention["name"] != "linformer":
        return
    from ..encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS, parse_spec

    def usable(registry):
        return ", ".join(repr(n) for n in registry.names() if supports_projected_keys(registry.get(n)))

    for kind, spec in (("position", position), ("segment", segment)):
        cls, _ = parse_spec(kind, spec)
        if not supports_projected_keys(cls):
            raise OptionError(
                f"attention 'linformer' cannot be combined with {kind} encoding {cls.name!r}: it is indexed by key "
                f"position, and Linformer mixes keys along the sequence into k={attention['k']} projected rows. "
                f"Use position {usable(POSITION_ENCODINGS)} and segment {usable(SEGMENT_ENCODINGS)}, "
                f"or attention 'full'")


class LinformerProjection(nn.Module):
    """E, F ∈ R^{k×n_max} per layer (or one pair shared by all layers): K' = E·K, V' = F·V."""

    def __init__(self, config, options: Mapping):
        super().__init__()
        self.k = options["k"]
        self.max_length = options.get("max_length") or config.max_position_embeddings
        self.shared = options.get("sharing", "layer") == "layer"
        tables = 1 if self.shared else config.num_hidden_layers
        self.e = nn.Parameter(torch.zeros(tables, self.k, self.max_length))
        self.f = nn.Parameter(torch.zeros(tables, self.k, self.max_length))

    def init_weights(self) -> None:
        from transformers import initialization as init

        # N(0, 1/n_max): a projected row is a sum of n inputs with unit-scale weights overall
        init.normal_(self.e, mean=0.0, std=1.0 / math.sqrt(self.max_length))
        init.normal_(self.f, mean=0.0, std=1.0 / math.sqrt(self.max_length))

    def check_length(self, seq_len: int) -> None:
        if seq_len > self.max_length:
            raise ValueError(
                f"sequence length {seq_len} exceeds Linformer's projection of {self.max_length} positions; "
                f"truncate inputs or set the attention option max_length (or max_position_embeddings) >= {seq_len}")

    def forward(self, layer: int, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None):
        """k, v [b, h, n, d_h] → [b, h, k, d_h]; ``key_mask`` [b, n] (1 = real token) zeroes padding first."""
        n = k.shape[-2]
        t = 0 if self.shared else layer
        e, f = self.e[t, :, :n].to(k.dtype), self.f[t, :, :n].to(v.dtype)
        if key_mask is not None:
            keep = key_mask[:, None, :, None].to(k.dtype)
            k, v = k * keep, v * keep
        return e @ k, f @ v

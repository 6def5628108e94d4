"""T5's scalar relative bias with log buckets (Raffel et al. 2020, §2.1).

    A^h_ij = q_i·k_j / √d_h + b^h[bucket(p_j − p_i)]

One scalar per bucket per head, shared across layers by default. In an encoder the bucket
function is the bidirectional Mesh-TF one: half the buckets per direction, the first half of those
exact, the rest logarithmic up to ``max_distance``; every larger distance falls in the last bucket.
In a causal decoder it is T5's unidirectional one (HF ``_relative_position_bucket(bidirectional=
False)``): all buckets for keys at or before the query, later keys share bucket 0 (they are masked).
posenc keeps BERT's 1/√d_h on the token term (T5 itself folds it into the initialisation) and
adds the bias unscaled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding, offsets_1d, toeplitz


def t5_relative_bucket(relative_position: torch.Tensor, num_buckets: int = 32, max_distance: int = 128,
                       bidirectional: bool = True) -> torch.Tensor:
    """T5 bucket of ``relative_position`` = key − query (integer tensor).

    Bidirectional: buckets 0..B/2−1 for keys at or before the query, B/2..B−1 after it.
    Unidirectional (causal): buckets 0..B−1 by the distance to an earlier key; later keys → 0."""
    if bidirectional:
        half = num_buckets // 2
        bucket = (relative_position > 0).long() * half
        n = relative_position.abs()
    else:
        half = num_buckets
        bucket = torch.zeros_like(relative_position)
        n = (-relative_position).clamp(min=0)
    max_exact = half // 2
    # clamp(min=1) only keeps log() finite where the exact branch is taken anyway
    scaled = torch.log(n.clamp(min=1).float() / max_exact) / math.log(max_distance / max_exact) * (half - max_exact)
    large = (max_exact + scaled.long()).clamp(max=half - 1)
    return bucket + torch.where(n < max_exact, n, large)


@dataclass(frozen=True)
class T5Options:
    num_buckets: int = field(default=32, metadata={"help": "buckets over both directions (even)"})
    max_distance: int = field(default=128, metadata={"help": "distances >= this share the last bucket"})
    sharing: Literal["layer", "none"] = field(default="layer", metadata={"help": "layer: one table for all layers (T5); none: one per layer"})

    def validate(self):
        if self.num_buckets < 4 or self.num_buckets % 2:
            raise ValueError(f"num_buckets must be an even number >= 4, got {self.num_buckets}")
        if self.max_distance <= self.num_buckets // 4:
            raise ValueError(f"max_distance must exceed num_buckets/4 = {self.num_buckets // 4}, got {self.max_distance}")


class BucketedRelativeBias(nn.Module):
    """A [tables, buckets, h] scalar table gathered into a [tables, 1|b, h, Lq, Lk] bias (also used by TUPE-R)."""

    def __init__(self, tables: int, heads: int, num_buckets: int, max_distance: int):
        super().__init__()
        self.num_buckets, self.max_distance = num_buckets, max_distance
        self.weight = nn.Parameter(torch.zeros(tables, num_buckets, heads))

    def forward(self, seq_len: int, key_len: int | None = None, bidirectional: bool = True) -> torch.Tensor:
        """Canonical positions 0..Lq−1 against 0..Lk−1 → [tables, h, Lq, Lk] (a Toeplitz view)."""
        key_len = seq_len if key_len is None else key_len
        offsets = offsets_1d(seq_len, self.weight.device, key_len)
        buckets = t5_relative_bucket(offsets, self.num_buckets, self.max_distance, bidirectional)
        by_offset = self.weight[:, buckets].permute(0, 2, 1)  # [tables, h, Lq+Lk-1]
        return toeplitz(by_offset, seq_len, key_len)

    def at(self, relative_position: torch.Tensor, bidirectional: bool = True) -> torch.Tensor:
        """Offsets j − i [b|1, Lq, Lk] → [tables, b|1, h, Lq, Lk] (a gather)."""
        buckets = t5_relative_bucket(relative_position, self.num_buckets, self.max_distance, bidirectional)
        return self.weight[:, buckets].permute(0, 1, 4, 2, 3)

    def for_context(self, ctx: EncodingContext) -> torch.Tensor:
        """[tables, b|1, h, Lq, Lk] at the context's true positions (T5's causal buckets when causal)."""
        if ctx.canonical:
            return self(ctx.seq_len, ctx.key_len, bidirectional=not ctx.causal)[:, None]
        return self.at(ctx.relative_positions(), bidirectional=not ctx.causal)


@register_position("t5")
class T5RelativeBias(PositionEncoding):
    """T5 log-bucket scalar bias per head, shared across layers (Raffel et al. 2020); causal buckets in a decoder."""

    paper_name = "Raffel et al. (2020) (T5)"
    family = "relative logit bias"
    Options = T5Options
    translation_invariant = True
    has_layer_bias = True
    extrapolation = "clipped"

    def __init__(self, config, options: T5Options):
        super().__init__(config, options)
        tables = 1 if options.sharing == "layer" else self.num_layers
        self.bias = BucketedRelativeBias(tables, self.num_heads, options.num_buckets, options.max_distance)

    @property
    def shared_across_layers(self):
        return self.options.sharing == "layer"

    def init_weights(self, std):
        from transformers import initialization as init

        init.normal_(self.bias.weight, mean=0.0, std=std)

    def prepare(self, ctx: EncodingContext):
        ctx.state[self] = self.bias.for_context(ctx)  # [tables, b|1, h, Lq, Lk], once per forward

    def layer_bias(self, layer, ctx):
        return ctx.state[self][0 if self.shared_across_layers else layer]

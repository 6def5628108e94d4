"""T5's scalar relative bias with log buckets (Raffel et al. 2020; paper.md §2.3).

    A^h_ij = q_i·k_j / √d_h + b^h[bucket(j − i)]

One scalar per bucket per head, shared across layers by default. The bucket function is the
bidirectional Mesh-TF one: half the buckets per direction, the first half of those exact, the
rest logarithmic up to ``max_distance``; every larger distance falls in the last bucket.
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


def t5_relative_bucket(relative_position: torch.Tensor, num_buckets: int = 32, max_distance: int = 128) -> torch.Tensor:
    """Bidirectional T5 bucket of ``relative_position`` = key − query (integer tensor)."""
    half = num_buckets // 2
    bucket = (relative_position > 0).long() * half
    n = relative_position.abs()
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
    """A [tables, buckets, h] scalar table gathered into a [tables, h, L, L] bias (also used by TUPE-R)."""

    def __init__(self, tables: int, heads: int, num_buckets: int, max_distance: int):
        super().__init__()
        self.num_buckets, self.max_distance = num_buckets, max_distance
        self.weight = nn.Parameter(torch.zeros(tables, num_buckets, heads))

    def forward(self, seq_len: int) -> torch.Tensor:
        buckets = t5_relative_bucket(offsets_1d(seq_len, self.weight.device), self.num_buckets, self.max_distance)
        by_offset = self.weight[:, buckets].permute(0, 2, 1)  # [tables, h, 2L-1]
        return toeplitz(by_offset, seq_len)  # [tables, h, L, L]


@register_position("t5")
class T5RelativeBias(PositionEncoding):
    """T5 bidirectional log-bucket scalar bias per head, shared across layers (Raffel et al. 2020)."""

    Options = T5Options
    translation_invariant = True
    has_layer_bias = True

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
        ctx.state[self] = self.bias(ctx.seq_len)  # [tables, h, L, L], once per forward

    def layer_bias(self, layer, ctx):
        all_bias = ctx.state[self]
        return all_bias[0 if self.shared_across_layers else layer][None]

"""Relative position vectors on keys (and optionally values) (Shaw et al. 2018, §3.2, Eq. 3–4).

    e_ij = q_i·(k_j + a^K_ij)/√d_h,   z_i = Σ_j α_ij (v_j + a^V_ij),   a_ij = w_{clip(p_j−p_i, k)}

2k+1 learned vectors w ∈ R^{d_h} per layer, shared by the heads of the layer. ``key_query``
adds the term k_j·a^K_ij too (HF BERT's old ``relative_key_query``). p_i, p_j are the true
positions of query and key; in a cached decoder step q [b, h, 1, d_h] meets every cached key.

Cost-aware form: instead of gathering an [Lq, Lk, d_h] tensor, q is multiplied with the
(at most 2L−1) needed table rows, [b, h, Lq, 2k+1], and the result gathered into a [b, h, Lq, Lk]
bias, which fused attention then adds. The value term sums the probabilities per offset bucket
and multiplies by the table, again without an [Lq, Lk, d_h] tensor; it needs the probabilities,
so it runs on the eager path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding, per_batch, relative_offsets


@dataclass(frozen=True)
class ShawOptions:
    clip: int = field(default=16, metadata={"help": "k: offsets are clipped to [-k, k] (Shaw's MT default 16)"})
    values: bool = field(default=False, metadata={"help": "also add relative vectors to the values (eager attention only)"})
    key_query: bool = field(default=False, metadata={"help": "also add k_j·a_ij (HF BERT relative_key_query)"})

    def validate(self):
        if self.clip < 1:
            raise ValueError(f"clip must be >= 1, got {self.clip}")


@register_position("shaw")
class ShawRelative(PositionEncoding):
    """Shaw et al. (2018): clipped relative key (and value) vectors, per layer, shared by heads."""

    paper_name = "Shaw et al. (2018)"
    family = "relative content term"
    Options = ShawOptions
    translation_invariant = True
    content_dependent_bias = True
    extrapolation = "clipped"

    def __init__(self, config, options: ShawOptions):
        super().__init__(config, options)
        k = options.clip
        self.key_table = nn.Parameter(torch.zeros(self.num_layers, 2 * k + 1, self.head_dim))
        self.value_table = nn.Parameter(torch.zeros(self.num_layers, 2 * k + 1, self.head_dim)) if options.values else None

    @property
    def shared_across_layers(self):
        return False

    @property
    def eager_reason(self):
        if self.options.values:
            return "shaw with values=true adds relative vectors to the values, which needs the attention probabilities"
        return None

    def init_weights(self, std):
        from transformers import initialization as init

        init.normal_(self.key_table, mean=0.0, std=std)
        if self.value_table is not None:
            init.normal_(self.value_table, mean=0.0, std=std)

    def prepare(self, ctx: EncodingContext):
        k = self.options.clip
        if ctx.canonical:
            # only offsets −(Lq−1) .. Lk−1 occur: use rows k−below .. k+above of the table
            below, above = min(k, ctx.seq_len - 1), min(k, ctx.key_len - 1)
            rel = relative_offsets(ctx.seq_len, self.key_table.device, ctx.key_len).clamp(-below, above) + below
            ctx.state[self] = (slice(k - below, k + above + 1), rel[None])  # rel: [1, Lq, Lk]
        else:
            ctx.state[self] = (slice(None), ctx.relative_positions().clamp(-k, k) + k)  # [b|1, Lq, Lk]

    def content_bias(self, layer, q, k, ctx):
        rows, rel = ctx.state[self]
        table = self.key_table[layer, rows].to(q.dtype)  # [r, d_h]
        b, h = q.shape[:2]
        bias = (q @ table.T).gather(-1, per_batch(rel, b, h))  # q_i·a_{clip(j−i)}: [b, h, Lq, Lk]
        if self.options.key_query:  # k_j·a_{clip(j−i)}: scores [b, h, Lk, r] gathered at [j, i], transposed
            bias = bias + (k @ table.T).gather(-1, per_batch(rel.transpose(-1, -2), b, h)).transpose(-1, -2)
        return bias * (1.0 / math.sqrt(self.head_dim))

    def value_term(self, layer, probs, ctx):
        if self.value_table is None:
            return None
        rows, rel = ctx.state[self]
        table = self.value_table[layer, rows].to(probs.dtype)  # [r, d_h]
        b, h, lq, _ = probs.shape
        per_offset = probs.new_zeros(b, h, lq, table.shape[0]).scatter_add_(-1, per_batch(rel, b, h), probs)
        return per_offset @ table  # Σ_j α_ij a^V_{clip(j−i)}

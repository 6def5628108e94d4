"""Relative position vectors on keys (and optionally values) (Shaw et al. 2018; paper.md §2.2).

    e_ij = q_i·(k_j + a^K_ij)/√d_h,   z_i = Σ_j α_ij (v_j + a^V_ij),   a_ij = w_{clip(j−i, k)}

2k+1 learned vectors w ∈ R^{d_h} per layer, shared by the heads of the layer. ``key_query``
adds the term k_j·a^K_ij too (HF BERT's old ``relative_key_query``).

Cost-aware form: instead of gathering an [L, L, d_h] tensor, q is multiplied with the
(at most 2L−1) needed table rows, [b, h, L, 2k+1], and the result gathered into a [b, h, L, L]
bias, which fused attention then adds. The value term sums the probabilities per offset bucket
and multiplies by the table, again without an [L, L, d_h] tensor; it needs the probabilities,
so it runs on the eager path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding, relative_offsets


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

    Options = ShawOptions
    translation_invariant = True
    content_dependent_bias = True

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
        used = min(k, ctx.seq_len - 1)  # only offsets |j−i| <= L−1 occur: use rows k−used .. k+used
        rel = relative_offsets(ctx.seq_len, self.key_table.device).clamp(-used, used) + used  # [L, L]
        ctx.state[self] = (slice(k - used, k + used + 1), rel)

    def _gather(self, scores: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        b, h, L, _ = scores.shape
        return scores.gather(-1, rel.expand(b, h, L, L))

    def content_bias(self, layer, q, k, ctx):
        rows, rel = ctx.state[self]
        table = self.key_table[layer, rows].to(q.dtype)  # [r, d_h]
        bias = self._gather(q @ table.T, rel)  # q_i·a_{clip(j−i)}
        if self.options.key_query:
            bias = bias + self._gather(k @ table.T, rel.T).transpose(-1, -2)  # k_j·a_{clip(j−i)}
        return bias * (1.0 / math.sqrt(self.head_dim))

    def value_term(self, layer, probs, ctx):
        if self.value_table is None:
            return None
        rows, rel = ctx.state[self]
        table = self.value_table[layer, rows].to(probs.dtype)  # [r, d_h]
        b, h, L, _ = probs.shape
        per_offset = probs.new_zeros(b, h, L, table.shape[0]).scatter_add_(-1, rel.expand(b, h, L, L), probs)
        return per_offset @ table  # Σ_j α_ij a^V_{clip(j−i)}

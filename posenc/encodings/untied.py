"""Untied position attention: TUPE (Ke et al. 2021). DeBERTa's disentangled attention is in
:mod:`posenc.encodings.deberta`.

TUPE-A (Ke et al., ICLR 2021, §3.1–3.2):
    α_ij = (x_i W_Q)(x_j W_K)ᵀ/√(2d_h) + reset_θ((p_i U_Q)(p_j U_K)ᵀ/√(2d_h), i, j)
    p = LayerNorm(P[pos]) shared by heads and layers; U_Q, U_K per head, shared across layers; the
    position term is computed once per forward. reset_θ gives [CLS] (position 0) its own learned
    per-head logits: θ₁ for [CLS]→all, θ₂ for others→[CLS]. TUPE-R (``relative: true``) adds a
    T5-bucketed per-head bias inside the reset. Rows are read at the true positions, and the reset
    applies where the *position* is 0 (not slot 0: a left-padded [CLS] is still reset). θ₁ fills the
    whole [CLS] query row, a per-head constant that softmax ignores: what matters is that it replaces
    the position term there, and its gradient is zero up to rounding. In a causal decoder (query 0 sees
    a single key) that gradient is exactly zero, so a decoder instance has only θ₂ (others → the start
    token): a parameter without gradient would break DDP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding
from .t5 import BucketedRelativeBias


@dataclass(frozen=True)
class TupeOptions:
    relative: bool = field(default=False, metadata={"help": "TUPE-R: add a T5-bucketed per-head relative bias"})
    cls_reset: bool = field(default=True, metadata={"help": "untie [CLS] (position 0) with learned per-head θ₁, θ₂"})
    num_buckets: int = field(default=32, metadata={"help": "TUPE-R buckets"})
    max_distance: int = field(default=128, metadata={"help": "TUPE-R max distance"})
    max_length: int | None = field(default=None, metadata={"help": "rows of the position table (default: max_position_embeddings)"})


@register_position("tupe")
class Tupe(PositionEncoding):
    """TUPE: untied absolute position term (p_i U_Q)(p_j U_K)ᵀ/√(2d_h) with [CLS] reset (Ke et al. 2021)."""

    paper_name = "Ke et al. (2020) (TUPE)"
    family = "absolute logit bias"
    Options = TupeOptions
    has_layer_bias = True
    extrapolation = "table"

    def __init__(self, config, options: TupeOptions):
        super().__init__(config, options)
        d = config.hidden_size
        self._max = options.max_length or config.max_position_embeddings
        self.table = nn.Embedding(self._max, d)
        self.norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.u_q = nn.Linear(d, d)
        self.u_k = nn.Linear(d, d)
        # θ₁ would shift a causal query-0 row that sees a single key (exactly no gradient): a decoder has none
        self.reset_first_query = options.cls_reset and not getattr(config, "causal", False)
        if self.reset_first_query:
            self.theta_cls_to_others = nn.Parameter(torch.zeros(self.num_heads))
        if options.cls_reset:
            self.theta_others_to_cls = nn.Parameter(torch.zeros(self.num_heads))
        self.relative = (
            BucketedRelativeBias(1, self.num_heads, options.num_buckets, options.max_distance) if options.relative else None
        )

    @property
    def max_length(self):
        return self._max

    def score_scale(self, head_dim):
        return 1.0 / math.sqrt(2 * head_dim)

    def init_weights(self, std):
        from transformers import initialization as init

        if self.relative is not None:
            init.normal_(self.relative.weight, mean=0.0, std=std)
        if self.reset_first_query:
            init.zeros_(self.theta_cls_to_others)
        if self.options.cls_reset:
            init.zeros_(self.theta_others_to_cls)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, d] -> [B, h, L, d_h]
        return x.view(*x.shape[:2], self.num_heads, self.head_dim).transpose(1, 2)

    def prepare(self, ctx: EncodingContext):
        lq, lk = ctx.seq_len, ctx.key_len
        if ctx.canonical:  # rows 0..L−1, normalised once for queries and keys
            p = self.norm(self.table.weight[: max(lq, lk)])[None]  # [1, L, d]
            p_q, p_k = p[:, :lq], p[:, :lk]
        else:
            p_q, p_k = self.norm(self.table(ctx.q_positions)), self.norm(self.table(ctx.k_positions))
        pq, pk = self._heads(self.u_q(p_q)), self._heads(self.u_k(p_k))
        bias = (pq @ pk.transpose(-1, -2)) / math.sqrt(2 * self.head_dim)  # [b|1, h, Lq, Lk], once for all layers
        if self.relative is not None:
            bias = bias + self.relative.for_context(ctx)[0]
        if self.options.cls_reset:  # by position 0, whatever slot it occupies
            q_cls = (ctx.q_positions == 0)[:, None, :, None]
            k_cls = (ctx.k_positions == 0)[:, None, None, :]
            bias = torch.where(k_cls, self.theta_others_to_cls[:, None, None].to(bias.dtype), bias)
            if self.reset_first_query:
                bias = torch.where(q_cls, self.theta_cls_to_others[:, None, None].to(bias.dtype), bias)
        ctx.state[self] = bias

    def layer_bias(self, layer, ctx):
        return ctx.state[self]

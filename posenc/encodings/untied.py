"""Untied / disentangled position attention: TUPE (Ke et al. 2021) and DeBERTa (He et al. 2021).

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

DeBERTa (He et al., ICLR 2021, §3.1, Eq. 2–4):
    Ã_ij = q_i·k_jᵀ (c2c) + q_i·K^r_{δ(i,j)} (c2p) + k_j·Q^r_{δ(j,i)} (p2c), all scaled 1/√(3d_h)
    δ(i,j) = clamp(p_i − p_j + k, 0, 2k − 1); a relative table P ∈ R^{2k×d} shared by all layers,
    per-layer projections Q^r = P W_{q,r}, K^r = P W_{k,r}. At canonical positions only the
    ≤ 2L−1 table rows an input of length L can reach are projected, and the [b, h, L, 2k] scores
    are gathered (or skewed with views) into an [b, h, L, L] bias: no [L, L, d] tensor. At general
    positions (a cached decoder step: q [b, h, 1, d_h] against every cached key) the whole table
    is projected and gathered by the true offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding, per_batch, relative_offsets
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


@dataclass(frozen=True)
class DebertaOptions:
    max_relative_positions: int | None = field(default=None, metadata={"help": "k: offsets clamp to [-k, k-1] (default: max_position_embeddings, DeBERTa v1)"})

    def validate(self):
        if self.max_relative_positions is not None and self.max_relative_positions < 1:
            raise ValueError(f"max_relative_positions must be >= 1, got {self.max_relative_positions}")


@register_position("deberta")
class Deberta(PositionEncoding):
    """DeBERTa disentangled attention: c2c + c2p + p2c with a shared relative table, scale 1/√(3d_h)."""

    paper_name = "DeBERTa"
    family = "relative content term"
    Options = DebertaOptions
    translation_invariant = True
    content_dependent_bias = True
    extrapolation = "clipped"

    def __init__(self, config, options: DebertaOptions):
        super().__init__(config, options)
        d = config.hidden_size
        self.span = options.max_relative_positions or config.max_position_embeddings
        self.rel_embeddings = nn.Embedding(2 * self.span, d)
        self.pos_q = nn.ModuleList(nn.Linear(d, d) for _ in range(self.num_layers))
        self.pos_k = nn.ModuleList(nn.Linear(d, d) for _ in range(self.num_layers))

    @property
    def shared_across_layers(self):
        return False

    def score_scale(self, head_dim):
        return 1.0 / math.sqrt(3 * head_dim)

    def prepare(self, ctx: EncodingContext):
        """State: (table rows, None) for the strided path, else (rows, (δ for c2p [b|1, Lq, Lk],
        δ for p2c [b|1, Lk, Lq])) with δ indexing the rows."""
        k, n = self.span, ctx.seq_len
        table = self.rel_embeddings.weight
        if not (ctx.canonical and ctx.key_len == n):
            rel = ctx.relative_positions()  # j − i
            c2p = (-rel + k).clamp(0, 2 * k - 1)  # δ(i, j) at [i, j]
            p2c = (rel + k).clamp(0, 2 * k - 1).transpose(-1, -2)  # δ(j, i) at [j, i]
            ctx.state[self] = (table, (c2p, p2c))
            return
        if n <= k:
            # no offset is clamped: the 2n−1 rows k−n+1 .. k+n−1, reversed so that row c holds
            # offset i − j = n − 1 − c, which lets _skew read δ(i,j) as a strided view (no gather)
            ctx.state[self] = (table[k - n + 1 : k + n].flip(0), None)
            return
        lo, hi = max(0, k - (n - 1)), min(2 * k - 1, k + n - 1)  # the table rows length n can reach
        delta = ((-relative_offsets(n, table.device) + k).clamp(0, 2 * k - 1) - lo)[None]  # δ(i,j), [1, L, L]
        ctx.state[self] = (table[lo : hi + 1], (delta, delta))

    def _heads(self, x):  # [r, d] -> [h, r, d_h]
        return x.view(x.shape[0], self.num_heads, self.head_dim).transpose(0, 1)

    @staticmethod
    def _skew(x: torch.Tensor) -> torch.Tensor:
        """[b, h, n, 2n−1] scores against reversed offsets → [b, h, n, n], out[i, j] = x[i, j − i + n − 1]
        (Transformer-XL's relative shift done with views: in the flattened rows, row i of the result
        starts at n − 1 + i·(2n − 2), i.e. the rows are re-cut with width 2n − 2)."""
        b, h, n, r = x.shape
        if n == 1:
            return x
        flat = x.reshape(b, h, n * r)[..., n - 1 : n - 1 + n * (r - 1)]
        return flat.reshape(b, h, n, r - 1)[..., :n]

    def content_bias(self, layer, q, k, ctx):
        rel, delta = ctx.state[self]
        b, h = q.shape[:2]
        k_r = self._heads(self.pos_k[layer](rel)).to(q.dtype)  # [h, r, d_h]
        q_r = self._heads(self.pos_q[layer](rel)).to(q.dtype)
        c2p, p2c = q @ k_r.transpose(-1, -2), k @ q_r.transpose(-1, -2)  # [b, h, Lq, r], [b, h, Lk, r]
        if delta is None:
            c2p, p2c = self._skew(c2p), self._skew(p2c)
        else:
            c2p, p2c = c2p.gather(-1, per_batch(delta[0], b, h)), p2c.gather(-1, per_batch(delta[1], b, h))
        # c2p[i, j] = q_i·K^r_δ(i,j); p2c[j, i] = k_j·Q^r_δ(j,i)
        return (c2p + p2c.transpose(-1, -2)) * self.score_scale(self.head_dim)

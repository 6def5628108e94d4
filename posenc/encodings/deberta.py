"""DeBERTa disentangled attention (He et al., ICLR 2021, §3.1, Eq. 2–4), by default as DeBERTa-v2/v3
compute it (transformers' ``DebertaV2Model``, microsoft/DeBERTa), so released checkpoints load
(``posenc.from_deberta``).

    Ã_ij = q_i·k_jᵀ  +  q_i·K^r_{δ(i,j)}  (c2p)  +  k_j·Q^r_{δ(i,j)}  (p2c),   all × 1/√(d_h·(1 + #terms))
    δ(i, j) = clamp(β(p_i − p_j) + s, 0, 2s − 1)

- Relative table R ∈ R^{2s×d}, shared by all layers, LayerNorm-ed once per forward (``rel_layer_norm``;
  v2/v3's ``norm_rel_ebd: layer_norm``).
- Shared keys (``share_att_key``, v2/v3): each layer projects R with its own content projections,
  K^r = R W_K + b_K and Q^r = R W_Q + b_Q, so positions add no per-layer parameters. Without it
  (DeBERTa v1, the paper), layer l has its own W_{k,r}, W_{q,r}.
- Log buckets β (``position_buckets`` = s = 2m > 0, v2/v3): offsets |r| ≤ m are kept exactly,
  farther ones are compressed logarithmically, reaching bucket 2m − 1 at ``max_relative_positions``
  = k: β(r) = sign(r)·(m + ⌈(m − 1)·ln(|r|/m) / ln((k − 1)/m)⌉). ``position_buckets: 0`` is
  DeBERTa v1's clipping: β(r) = r and s = k, so offsets beyond [−k, k − 1] reuse the edge rows.
- Index of the position→content term (``p2c_index``): the released code (transformers,
  microsoft/DeBERTa) reads Q^r at δ(i, j), the same row as c2p; the paper's Eq. 4 writes δ(j, i)
  (microsoft/DeBERTa issue 162). ``reference`` (default) or ``paper``.

Computation: at canonical positions (queries and keys at 0..L−1) the rows of the 2L−1 offsets are
read from the projected table and the [b, h, L, 2L−1] scores are skewed into [b, h, L, L] with
strided views (Transformer-XL's relative shift; Dai et al. 2019, App. B): no gather, no [L, L, d]
tensor. Otherwise (left padding with position ids, a cached decoder step whose one query meets all
cached keys) the [b, h, Lq, 2s] scores are gathered at the true offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding, per_batch

TERMS = ("c2p|p2c", "c2p", "p2c")


def log_bucket(offsets: torch.Tensor, buckets: int, max_distance: int) -> torch.Tensor:
    """DeBERTa-v2's log buckets β(r) of signed offsets r (any shape, long): r itself where
    |r| ≤ m = buckets // 2, else sign(r)·(m + ⌈(m − 1)·ln(|r|/m) / ln((max_distance − 1)/m)⌉).

    Evaluated in float32 in the order the released models were trained with, so that offsets on a
    bucket boundary land in the same bucket."""
    m = buckets // 2
    size = offsets.abs()
    far = size > m
    ratio = size.clamp(min=m).to(torch.float32) / m  # ≥ 1 where used
    span = torch.log(torch.tensor((max_distance - 1) / m, dtype=torch.float32, device=offsets.device))
    compressed = torch.ceil(torch.log(ratio) / span * (m - 1)).to(offsets.dtype) + m
    return torch.where(far, offsets.sign() * compressed, offsets)


@dataclass(frozen=True)
class DebertaOptions:
    terms: Literal["c2p|p2c", "c2p", "p2c"] = field(default="c2p|p2c", metadata={
        "help": "position terms added to c2c (DeBERTa's pos_att_type): c2p|p2c, c2p or p2c"})
    position_buckets: int = field(default=256, metadata={
        "help": "log buckets 2m (DeBERTa-v2/v3: 256); 0 = none, offsets clipped to [-k, k-1] (DeBERTa v1)"})
    max_relative_positions: int = field(default=512, metadata={
        "help": "k: farthest offset the buckets resolve, or the clip span without buckets (DeBERTa-v3: 512)"})
    share_att_key: bool = field(default=True, metadata={
        "help": "project the relative table with each layer's own W_Q, W_K (v2/v3); false: per-layer W_{q,r}, W_{k,r}"})
    rel_layer_norm: bool = field(default=True, metadata={"help": "LayerNorm on the relative table (v2/v3 norm_rel_ebd)"})
    p2c_index: Literal["reference", "paper"] = field(default="reference", metadata={
        "help": "p2c reads δ(i,j) as the released code (reference) or δ(j,i) as the paper's Eq. 4 (paper)"})

    def validate(self):
        if self.terms not in TERMS:
            raise ValueError(f"terms must be one of {', '.join(TERMS)}, got {self.terms!r}")
        if self.max_relative_positions < 1:
            raise ValueError(f"max_relative_positions must be >= 1, got {self.max_relative_positions}")
        if self.position_buckets < 0 or self.position_buckets == 1:
            raise ValueError(f"position_buckets must be 0 (no buckets) or >= 2, got {self.position_buckets}")
        if self.position_buckets and self.max_relative_positions <= self.position_buckets // 2 + 1:
            raise ValueError(
                f"position_buckets={self.position_buckets} keeps offsets up to {self.position_buckets // 2} exact and "
                f"compresses the rest up to max_relative_positions, so max_relative_positions must exceed "
                f"{self.position_buckets // 2 + 1} (got {self.max_relative_positions}); raise it or lower position_buckets")


@register_position("deberta")
class Deberta(PositionEncoding):
    """DeBERTa-v2/v3 disentangled attention: c2c + c2p + p2c, log buckets, shared keys (He et al. 2021)."""

    paper_name = "DeBERTa"
    family = "relative content term"
    Options = DebertaOptions
    translation_invariant = True
    content_dependent_bias = True
    extrapolation = "clipped"

    def __init__(self, config, options: DebertaOptions):
        super().__init__(config, options)
        d = config.hidden_size
        self.c2p, self.p2c = "c2p" in options.terms, "p2c" in options.terms
        self.span = options.position_buckets or options.max_relative_positions  # s: the table has 2s rows
        self.rel_embeddings = nn.Embedding(2 * self.span, d)
        self.rel_norm = nn.LayerNorm(d, eps=config.layer_norm_eps) if options.rel_layer_norm else None
        # DeBERTa drops the relative table out in each layer (hidden_dropout_prob), as the content stream
        self.rel_dropout = nn.Dropout(getattr(config, "hidden_dropout_prob", 0.0))
        per_layer = lambda: nn.ModuleList(nn.Linear(d, d) for _ in range(self.num_layers))  # noqa: E731
        self.pos_k = per_layer() if self.c2p and not options.share_att_key else None
        self.pos_q = per_layer() if self.p2c and not options.share_att_key else None

    @property
    def shared_across_layers(self):
        return False  # the terms read each layer's q and k

    def score_scale(self, head_dim):
        return 1.0 / math.sqrt(head_dim * (1 + self.c2p + self.p2c))

    def table_row(self, offsets: torch.Tensor) -> torch.Tensor:
        """Row of the relative table for signed offsets i − j (any shape): clamp(β(i − j) + s, 0, 2s − 1)."""
        o = self.options
        bucketed = log_bucket(offsets, o.position_buckets, o.max_relative_positions) if o.position_buckets else offsets
        return (bucketed + self.span).clamp(0, 2 * self.span - 1)

    @property
    def exact_reach(self) -> int:
        """The largest |i − j| below which every offset has a table row of its own (m with buckets,
        k − 1 when clipping)."""
        o = self.options
        return o.position_buckets // 2 if o.position_buckets else o.max_relative_positions - 1

    def prepare(self, ctx: EncodingContext):
        """State: (table [2s, d], layout). Skew layout ("skew", rows [2L−1]) when queries and keys are
        0..L−1 and no two offsets share a row: column c of the scores is offset i − j = L − 1 − c.
        Otherwise ("gather", c2p index [b|1, Lq, Lk], p2c index [b|1, Lk, Lq]) into the whole table:
        longer inputs reuse rows (buckets, clipping), and projecting 2L−1 rows would cost more than
        the gather (at L=512 with 256 buckets the skewed scores are twice as wide, and their
        backward 1.3× slower than the gather's)."""
        table = self.rel_embeddings.weight
        if self.rel_norm is not None:
            table = self.rel_norm(table)
        n = ctx.seq_len
        if ctx.canonical and ctx.key_len == n and n - 1 <= self.exact_reach:
            offsets = torch.arange(n - 1, -n, -1, device=table.device)  # i − j per column
            ctx.state[self] = (table, ("skew", self.table_row(offsets)))
            return
        ahead = -ctx.relative_positions()  # i − j = p_i − p_j, [b|1, Lq, Lk]
        c2p = self.table_row(ahead)
        p2c = c2p if self.options.p2c_index == "reference" else self.table_row(-ahead)
        ctx.state[self] = (table, ("gather", c2p, p2c.transpose(-1, -2)))

    def _heads(self, x):  # [r, d] -> [h, r, d_h]
        return x.view(x.shape[0], self.num_heads, self.head_dim).transpose(0, 1)

    def _project(self, layer: int, rel: torch.Tensor, ctx: EncodingContext):
        """(Q^r, K^r) [h, r, d_h] of table rows ``rel`` [r, d] for ``layer`` (None for an unused term)."""
        if self.options.share_att_key:
            if ctx.qk_projection is None:
                raise RuntimeError("deberta with share_att_key projects positions with the attention layer's W_Q, W_K, "
                                   "but the caller set no ctx.qk_projection")
            q_r, k_r = ctx.qk_projection(rel)
        else:
            q_r = self.pos_q[layer](rel) if self.p2c else None
            k_r = self.pos_k[layer](rel) if self.c2p else None
        return (None if q_r is None else self._heads(q_r)), (None if k_r is None else self._heads(k_r))

    @staticmethod
    def _skew(x: torch.Tensor) -> torch.Tensor:
        """[b, h, n, 2n−1] scores by column c ↔ offset n − 1 − c → [b, h, n, n] with
        out[i, j] = x[i, j − i + n − 1] (a strided view: row i of the result starts at element
        n − 1 + i·(2n − 2) of the flattened rows, so the rows are re-cut with width 2n − 2)."""
        b, h, n, r = x.shape
        if n == 1:
            return x
        flat = x.reshape(b, h, n * r)[..., n - 1 : n - 1 + n * (r - 1)]
        return flat.reshape(b, h, n, r - 1)[..., :n]

    def content_bias(self, layer, q, k, ctx):
        table, layout = ctx.state[self]
        table = self.rel_dropout(table)
        scale = self.score_scale(self.head_dim)
        b, h = q.shape[:2]
        if layout[0] == "skew":
            q_r, k_r = self._project(layer, table[layout[1]], ctx)  # only the 2n−1 rows length n reaches
            bias = None
            if self.c2p:  # out[i, j] = q_i · K^r[row(i − j)]
                bias = self._skew(q @ (k_r * scale).to(q.dtype).transpose(-1, -2))
            if self.p2c:  # out[i, j] = k_j · Q^r[row(i − j)] (reference) or Q^r[row(j − i)] (paper)
                q_r = q_r.flip(1) if self.options.p2c_index == "reference" else q_r
                p2c = self._skew(k @ (q_r * scale).to(q.dtype).transpose(-1, -2)).transpose(-1, -2)
                bias = p2c if bias is None else bias + p2c
            return bias
        _, c2p_index, p2c_index = layout
        q_r, k_r = self._project(layer, table, ctx)
        bias = None
        if self.c2p:
            bias = (q @ (k_r * scale).to(q.dtype).transpose(-1, -2)).gather(-1, per_batch(c2p_index, b, h))
        if self.p2c:
            p2c = (k @ (q_r * scale).to(k.dtype).transpose(-1, -2)).gather(-1, per_batch(p2c_index, b, h))
            bias = p2c.transpose(-1, -2) if bias is None else bias + p2c.transpose(-1, -2)
        return bias

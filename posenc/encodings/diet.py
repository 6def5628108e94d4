"""DIET: decoupled positional attention (Chen et al., EMNLP 2021, Eq. 1 and Eq. 3).

DIET-ABS (Eq. 1):  A_ij = (x_i W_Q)(x_j W_K)ᵀ/√d_h + (P_Q[p_i] P_K[p_j]ᵀ)
    P_Q, P_K ∈ R^{n_max×d_p} are free per-head tables (not projections of a shared table),
    one pair per (layer, head), or per head reused by every layer with ``sharing: layer``.
DIET-REL (Eq. 3):  A_ij = (x_i W_Q)(x_j W_K)ᵀ/√d_h + R_{p_i−p_j}
    one learned scalar per signed offset i − j, no buckets, no clipping inside n_max.

p_i, p_j are the true positions of query and key (``ctx.q_positions``/``ctx.k_positions``): with
left padding and explicit position ids, or in a cached decoder step, the tables are read at those
rows/offsets. At canonical positions (0..L−1 for the whole batch) the bias is a slice (DIET-ABS)
or a Toeplitz view (DIET-REL) built once per forward.

With Linformer attention (``attention: {name: linformer, k: ...}``) DIET-ABS becomes DIET-ABS^LIN
(Eq. 4): P_K has k rows, one per projected key, and the bias P_Q P_Kᵀ is n×k.

Both terms are added unscaled and do not depend on the input, so they are computed once per
forward (for all layers at once) and passed to fused attention as an additive bias. The input
carries no position embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding, offsets_1d, toeplitz


@dataclass(frozen=True)
class DietAbsOptions:
    rank: int | None = field(default=None, metadata={"help": "d_p, width of P_Q/P_K (default: head dim d_h; paper's best: 128)"})
    sharing: Literal["layer", "none"] = field(default="layer", metadata={"help": "layer: one (P_Q, P_K) per head for all layers (paper's recommendation); none: per layer"})
    max_length: int | None = field(default=None, metadata={"help": "rows n_max of P_Q/P_K (default: max_position_embeddings)"})
    init_std: float | None = field(default=None, metadata={"help": "init std of P_Q/P_K (default: initializer_range)"})

    def validate(self):
        if self.rank is not None and self.rank < 1:
            raise ValueError(f"rank must be >= 1, got {self.rank}")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {self.max_length}")


@register_position("diet_abs")
class DietAbs(PositionEncoding):
    """DIET-ABS: per-head low-rank absolute logit term P_Q P_Kᵀ (Chen et al. 2021, Eq. 1)."""

    paper_name = "DIET-ABS"
    family = "absolute logit bias"
    Options = DietAbsOptions
    has_layer_bias = True
    supports_projected_keys = True
    extrapolation = "table"

    def __init__(self, config, options: DietAbsOptions):
        super().__init__(config, options)
        from ..modeling.linformer import linformer_length

        self.rank = options.rank or self.head_dim
        self._max = options.max_length or config.max_position_embeddings
        self.key_rows = linformer_length(config)  # DIET-ABS^LIN: P_K has k rows; None: one per position
        tables = 1 if options.sharing == "layer" else self.num_layers
        self.p_q = nn.Parameter(torch.zeros(tables, self.num_heads, self._max, self.rank))
        self.p_k = nn.Parameter(torch.zeros(tables, self.num_heads, self.key_rows or self._max, self.rank))

    @classmethod
    def paper_label(cls, options):
        """``DIET-ABS (d_p=128, share)``: the rank and layer-wise sharing, as in Chen et al. (2021), Table 2."""
        bits = [f"d_p={options['rank']}"] if options.get("rank") is not None else []
        if options.get("sharing") not in (None, "none", False):
            bits.append("share")
        return cls.display_name() + (f" ({', '.join(bits)})" if bits else "")

    @property
    def max_length(self):
        return self._max

    @property
    def shared_across_layers(self):
        return self.options.sharing == "layer"

    def init_weights(self, std):
        from transformers import initialization as init

        std = self.options.init_std or std
        init.normal_(self.p_q, mean=0.0, std=std)
        init.normal_(self.p_k, mean=0.0, std=std)

    def prepare(self, ctx: EncodingContext):
        if self.key_rows is not None:  # DIET-ABS^LIN: one key row per projected key, whatever the positions
            p_k = self.p_k[:, :, None]  # [tables, h, 1, k, d_p]
        elif ctx.canonical:
            p_k = self.p_k[:, :, None, : ctx.key_len]  # [tables, h, 1, Lk, d_p]
        else:
            p_k = self.p_k[:, :, ctx.k_positions]  # [tables, h, b|1, Lk, d_p]
        p_q = self.p_q[:, :, None, : ctx.seq_len] if ctx.canonical else self.p_q[:, :, ctx.q_positions]
        # [tables, h, b|1, Lq, d_p] @ [..., d_p, Lk] -> [tables, b|1, h, Lq, Lk], once for all layers
        ctx.state[self] = (p_q @ p_k.transpose(-1, -2)).transpose(1, 2)

    def layer_bias(self, layer, ctx):
        return ctx.state[self][0 if self.shared_across_layers else layer]


@dataclass(frozen=True)
class DietRelOptions:
    sharing: Literal["none", "layer", "head"] = field(default="none", metadata={"help": "none: per (layer, head) (paper's default); layer: per head, all layers; head: per layer, all heads"})
    max_length: int | None = field(default=None, metadata={"help": "offsets |i−j| < max_length get their own scalar (default: max_position_embeddings); longer ones reuse the edge offset"})


@register_position("diet_rel")
class DietRel(PositionEncoding):
    """DIET-REL: one learned scalar per signed offset i − j per head (Chen et al. 2021, Eq. 3)."""

    paper_name = "DIET-REL"
    family = "relative logit bias"
    Options = DietRelOptions
    translation_invariant = True
    has_layer_bias = True
    extrapolation = "clipped"

    def __init__(self, config, options: DietRelOptions):
        super().__init__(config, options)
        self.span = options.max_length or config.max_position_embeddings
        layers = 1 if options.sharing == "layer" else self.num_layers
        heads = 1 if options.sharing == "head" else self.num_heads
        self.offsets = nn.Parameter(torch.zeros(layers, heads, 2 * self.span - 1))

    @property
    def shared_across_layers(self):
        return self.options.sharing == "layer"

    def init_weights(self, std):
        from transformers import initialization as init

        init.normal_(self.offsets, mean=0.0, std=std)

    def _index(self, offset: torch.Tensor) -> torch.Tensor:
        """Table index of offset i − j given j − i; offsets beyond the table reuse its edge (extrapolation)."""
        return (-offset).clamp(-(self.span - 1), self.span - 1) + (self.span - 1)

    def prepare(self, ctx: EncodingContext):
        if ctx.canonical:
            idx = self._index(offsets_1d(ctx.seq_len, self.offsets.device, ctx.key_len))
            bias = toeplitz(self.offsets[:, :, idx], ctx.seq_len, ctx.key_len)[:, None]  # [layers, 1, h|1, Lq, Lk]
        else:
            idx = self._index(ctx.relative_positions())  # [b|1, Lq, Lk]
            bias = self.offsets[:, :, idx].transpose(1, 2)  # [layers, b|1, h|1, Lq, Lk]
        ctx.state[self] = bias

    def layer_bias(self, layer, ctx):
        bias = ctx.state[self][0 if self.shared_across_layers else layer]
        return bias.expand(-1, self.num_heads, -1, -1)

"""Sandwich (Chi et al., ACL 2023, §5): the inner product of two sinusoidal position embeddings
as a parameter-free logit bias, compressed per head as ALiBi's slopes are.

    p_iᵀ p_j = Σ_{k=1}^{d̄/2} cos((i − j) / 10000^{2k/d̄})            (sinusoids of width d̄)
    b^h_ij  = (p_iᵀ p_j − d̄/2) / (8h/H),          h = 1..H

p_iᵀ p_j is largest (d̄/2) at i = j and decays, with ripples, as |i − j| grows, so subtracting d̄/2
makes the bias 0 on the diagonal and negative elsewhere; the per-head divisor 8h/H (the paper's
compression, mirroring ALiBi's geometric slopes) gives head 1 the steepest and head H the flattest
profile. d̄ (``dim``, default 128) is independent of the model width. No parameters. The bias is a
function of i − j alone (symmetric: an encoder cannot tell left from right), built once per forward
and passed to the fused kernel; a causal decoder uses the same values for the keys j ≤ i.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import register_position
from .base import EncodingContext, PositionEncoding, offsets_1d, toeplitz


def sandwich_bias(offset: torch.Tensor, num_heads: int, dim: int = 128, base: float = 10000.0) -> torch.Tensor:
    """Signed offsets i − j (any integer tensor [...]) → bias [H, ...] (Chi et al. 2023, §5)."""
    k = torch.arange(1, dim // 2 + 1, device=offset.device, dtype=torch.float64)
    inv = base ** (-2.0 * k / dim)  # [d̄/2]
    inner = torch.cos(offset.double()[..., None] * inv).sum(-1)  # p_iᵀ p_j, float64: d̄/2 terms cancel
    heads = torch.arange(1, num_heads + 1, device=offset.device, dtype=torch.float64)
    scale = (8.0 * heads / num_heads).reshape((-1,) + (1,) * offset.dim())
    return ((inner - dim / 2)[None] / scale).float()


@dataclass(frozen=True)
class SandwichOptions:
    dim: int = field(default=128, metadata={"help": "d̄, width of the sinusoids whose inner product is the bias (even)"})
    base: float = field(default=10000.0, metadata={"help": "sinusoid base: frequencies base^(-2k/d̄)"})

    def validate(self):
        if self.dim < 2 or self.dim % 2:
            raise ValueError(f"dim must be an even number >= 2, got {self.dim}")
        if self.base <= 1.0:
            raise ValueError(f"base must be > 1, got {self.base}")


@register_position("sandwich")
class Sandwich(PositionEncoding):
    """Sandwich: parameter-free bias (p_i·p_j - d/2)/(8h/H) of sinusoids p (Chi et al. 2023)."""

    paper_name = "Sandwich"
    family = "relative logit bias"
    Options = SandwichOptions
    translation_invariant = True
    has_layer_bias = True
    learnable = False

    def prepare(self, ctx: EncodingContext):
        o = self.options
        if ctx.canonical:  # Lq + Lk − 1 values, one per offset, as a Toeplitz view
            by_offset = sandwich_bias(offsets_1d(ctx.seq_len, ctx.device, ctx.key_len), self.num_heads, o.dim, o.base)
            bias = toeplitz(by_offset, ctx.seq_len, ctx.key_len)[None]  # [1, h, Lq, Lk]
        else:
            bias = sandwich_bias(ctx.relative_positions(), self.num_heads, o.dim, o.base).transpose(0, 1)
        ctx.state[self] = bias  # [b|1, h, Lq, Lk]; cos is even, so the sign of the offset does not matter

    def layer_bias(self, layer, ctx):
        return ctx.state[self]


__all__ = ["Sandwich", "SandwichOptions", "sandwich_bias"]

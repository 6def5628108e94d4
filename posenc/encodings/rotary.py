"""Rotary position embedding, RoPE (Su et al., RoFormer 2021, §3.4.2).

q and k are rotated pair-wise by angle p·θ_i, θ_i = base^(−2i/d_r), so q_iᵀk_j depends on the
positions only through i − j. p is the token's true position (``ctx.q_positions``); in a cached
decoder the new keys are rotated before they enter the cache, so cached keys stay rotated by their
own positions. No parameters; works with the fused attention kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import register_position
from .base import EncodingContext, PositionEncoding


@dataclass(frozen=True)
class RotaryOptions:
    base: float = field(default=10000.0, metadata={"help": "θ_i = base^(-2i/d_r)"})
    fraction: float = field(default=1.0, metadata={"help": "share of each head's dims that rotate (d_r = fraction·d_h, even)"})

    def validate(self):
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        if self.base <= 1.0:
            raise ValueError(f"base must be > 1, got {self.base}")


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


@register_position("rotary")
class Rotary(PositionEncoding):
    """RoPE: rotate q and k by position-dependent angles (Su et al. 2021)."""

    paper_name = "RoPE"
    family = "q/k rotation"
    Options = RotaryOptions
    translation_invariant = True
    learnable = False

    def __init__(self, config, options: RotaryOptions):
        super().__init__(config, options)
        self.rot_dim = int(self.head_dim * options.fraction) // 2 * 2
        if self.rot_dim < 2:
            raise ValueError(f"rotary: fraction {options.fraction} of head dim {self.head_dim} leaves nothing to rotate")

    def prepare(self, ctx: EncodingContext):
        # computed here, not stored as a buffer: from_pretrained builds modules on the meta device
        # and does not restore non-persistent buffers
        exponents = torch.arange(0, self.rot_dim, 2, device=ctx.device, dtype=torch.float32) / self.rot_dim
        inv = 1.0 / (self.options.base ** exponents)
        ang = ctx.q_positions.to(torch.float32)[..., None] * inv  # [b|1, Lq, d_r/2]
        ang = torch.cat((ang, ang), dim=-1)[:, None]  # [b|1, 1, Lq, d_r]
        ctx.state[self] = (ang.cos(), ang.sin())

    def rotate_qk(self, layer, q, k, ctx):
        cos, sin = ctx.state[self]
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        r = self.rot_dim

        def rot(x):
            if r == x.shape[-1]:
                return x * cos + rotate_half(x) * sin
            xr, rest = x[..., :r], x[..., r:]
            return torch.cat((xr * cos + rotate_half(xr) * sin, rest), dim=-1)

        return rot(q), rot(k)

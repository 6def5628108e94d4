"""Rotary position embedding, RoPE (Su et al., RoFormer 2021, §3.4.2), with the long-input scalings.

q and k are rotated pair-wise by angle p·θ_i, θ_i = base^(−2i/d_r), i = 0..d_r/2 − 1, so q_iᵀk_j
depends on the positions only through i − j. p is the token's true position (``ctx.q_positions``);
in a cached decoder the new keys are rotated before they enter the cache, so cached keys stay
rotated by their own positions. No parameters; works with the fused attention kernel.

Which dimensions form a pair:

- default (``interleaved: false``): (i, i + d_r/2), the GPT-NeoX / LLaMA / transformers
  ``rotate_half`` layout;
- ``interleaved: true``: (2i, 2i + 1), RoFormer's layout (Su et al. 2021, Eq. 34; transformers
  ``RoFormerModel``). Both are RoPE and train the same, but they differ by a fixed permutation of
  each head's q/k dimensions, so RoFormer weights need ``interleaved: true`` (tested to 1e-5
  against ``RoFormerModel``).

Partial rotation (``fraction``): only the first d_r = fraction·d_h dimensions of each head rotate
(GPT-NeoX's ``rotary_pct``); the rest carry no position.

Long inputs, with s = ``factor`` (target length / trained length) and L = ``original_max_length``:

- ``linear``, position interpolation (Chen et al. 2023, Eq. 4): p → p/s, i.e. θ_i → θ_i/s.
- ``ntk``, NTK-aware base scaling (bloc97 2023; Peng et al. 2023, §3.1 Eq. 16):
  base → base·s^{d_r/(d_r−2)}, which leaves θ_0 and stretches the lowest frequency by s.
- ``yarn`` (Peng et al. 2023, §3.2–3.3, Eq. 17–21): per frequency, with wavelength λ_i = 2π/θ_i
  and r_i = L/λ_i, γ_i = clamp((r_i − α)/(β − α), 0, 1) and θ'_i = (1 − γ_i)·θ_i/s + γ_i·θ_i
  ("NTK-by-parts": high frequencies, r > β, extrapolate; low ones, r < α, interpolate; a linear
  ramp between), plus the attention temperature √(1/t) = 0.1·ln s + 1 applied to q and k, i.e.
  the logits are multiplied by (0.1·ln s + 1)² (``attention_factor`` overrides 0.1·ln s + 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch

from . import register_position
from .base import EncodingContext, PositionEncoding


@dataclass(frozen=True)
class RotaryOptions:
    base: float = field(default=10000.0, metadata={"help": "θ_i = base^(-2i/d_r)"})
    fraction: float = field(default=1.0, metadata={"help": "share of each head's dims that rotate (d_r = fraction·d_h, even)"})
    interleaved: bool = field(default=False, metadata={
        "help": "pair dims (2i, 2i+1) as RoFormer does; false: (i, i+d_r/2) as GPT-NeoX/LLaMA"})
    scaling: Literal["none", "linear", "ntk", "yarn"] = field(default="none", metadata={
        "help": "long inputs: linear position interpolation, NTK-aware base, or YaRN"})
    factor: float = field(default=1.0, metadata={"help": "s = target length / trained length (scaling only)"})
    original_max_length: int | None = field(default=None, metadata={
        "help": "L, the length the model was trained on (YaRN's ramp needs it)"})
    beta_fast: float = field(default=32.0, metadata={"help": "YaRN β: frequencies with L/λ > β extrapolate"})
    beta_slow: float = field(default=1.0, metadata={"help": "YaRN α: frequencies with L/λ < α interpolate"})
    attention_factor: float | None = field(default=None, metadata={
        "help": "YaRN √(1/t) multiplying q and k (default 0.1·ln s + 1)"})

    def validate(self):
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        if self.base <= 1.0:
            raise ValueError(f"base must be > 1, got {self.base}")
        if self.scaling == "none" and self.factor != 1.0:
            raise ValueError(f"factor {self.factor} has no effect with scaling: none; choose linear, ntk or yarn")
        if self.scaling != "none" and self.factor < 1.0:
            raise ValueError(f"factor must be >= 1 (target length / trained length), got {self.factor}")
        if self.scaling == "yarn":
            if self.original_max_length is None or self.original_max_length < 1:
                raise ValueError("scaling: yarn needs original_max_length (the trained context length L)")
            if not self.beta_fast > self.beta_slow > 0:
                raise ValueError(f"YaRN needs beta_fast > beta_slow > 0, got {self.beta_fast}, {self.beta_slow}")
        elif self.attention_factor is not None:
            raise ValueError("attention_factor is YaRN's temperature; set scaling: yarn")


def rotary_frequencies(rot_dim: int, options: RotaryOptions) -> list[float]:
    """θ_i for i = 0..d_r/2 − 1 (plain floats, so that building a model on the meta device works),
    after the option's long-input scaling."""
    s = options.factor
    base = options.base
    if options.scaling == "ntk" and rot_dim > 2:
        base = options.base * s ** (rot_dim / (rot_dim - 2))
    out = []
    for i in range(rot_dim // 2):
        theta = base ** (-2.0 * i / rot_dim)
        if options.scaling == "linear":
            theta = theta / s
        elif options.scaling == "yarn":
            ratio = options.original_max_length * theta / (2 * math.pi)  # r_i = L / λ_i
            gamma = min(max((ratio - options.beta_slow) / (options.beta_fast - options.beta_slow), 0.0), 1.0)
            theta = (1 - gamma) * theta / s + gamma * theta
        out.append(theta)
    return out


def yarn_attention_factor(options: RotaryOptions) -> float:
    """√(1/t) of YaRN (1 for the other scalings): q and k are each multiplied by it."""
    if options.scaling != "yarn":
        return 1.0
    if options.attention_factor is not None:
        return options.attention_factor
    return 0.1 * math.log(options.factor) + 1.0


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x₁, x₂) → (−x₂, x₁) for the halves of the last dim (pairs (i, i + d/2))."""
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def rotate_every_two(x: torch.Tensor) -> torch.Tensor:
    """(x₀, x₁, x₂, x₃, …) → (−x₁, x₀, −x₃, x₂, …) (pairs (2i, 2i + 1), RoFormer)."""
    return torch.stack((-x[..., 1::2], x[..., 0::2]), dim=-1).flatten(-2)


@register_position("rotary")
class Rotary(PositionEncoding):
    """RoPE: rotate q and k by position-dependent angles (Su et al. 2021); PI / NTK / YaRN scaling."""

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
        # plain floats, not a buffer: from_pretrained builds modules on the meta device and does not
        # restore non-persistent buffers
        self.frequencies = rotary_frequencies(self.rot_dim, options)
        self.temperature = yarn_attention_factor(options) ** 2

    @classmethod
    def paper_label(cls, options):
        bits = []
        if options.get("interleaved"):
            bits.append("interleaved")
        if options.get("scaling", "none") != "none":
            names = {"linear": "PI", "ntk": "NTK", "yarn": "YaRN"}
            bits.append(f"{names[options['scaling']]} s={options.get('factor'):g}")
        if options.get("fraction", 1.0) != 1.0:
            bits.append(f"{options['fraction']:g} of dims")
        return cls.display_name() + (f" ({', '.join(bits)})" if bits else "")

    def score_scale(self, head_dim: int) -> float:
        """1/√d_h, times YaRN's temperature (0.1·ln s + 1)² when scaling: yarn."""
        return self.temperature / math.sqrt(head_dim)

    def prepare(self, ctx: EncodingContext):
        inv = torch.tensor(self.frequencies, device=ctx.device, dtype=torch.float32)
        ang = ctx.q_positions.to(torch.float32)[..., None] * inv  # [b|1, Lq, d_r/2]
        if self.options.interleaved:
            ang = ang.repeat_interleave(2, dim=-1)  # θ₀ θ₀ θ₁ θ₁ …
        else:
            ang = torch.cat((ang, ang), dim=-1)  # θ₀ … θ_{d/2−1} θ₀ … θ_{d/2−1}
        ang = ang[:, None]  # [b|1, 1, Lq, d_r]
        ctx.state[self] = (ang.cos(), ang.sin())

    def rotate_qk(self, layer, q, k, ctx):
        cos, sin = ctx.state[self]
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        r = self.rot_dim
        turn = rotate_every_two if self.options.interleaved else rotate_half

        def rot(x):
            if r == x.shape[-1]:
                return x * cos + turn(x) * sin
            xr, rest = x[..., :r], x[..., r:]
            return torch.cat((xr * cos + turn(xr) * sin, rest), dim=-1)

        return rot(q), rot(k)


__all__ = ["Rotary", "RotaryOptions", "rotary_frequencies", "yarn_attention_factor", "rotate_half", "rotate_every_two"]

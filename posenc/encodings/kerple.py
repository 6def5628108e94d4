"""KERPLE: kernelized relative positional embedding (Chi et al., NeurIPS 2022, §4, Eq. 9–10).

A learnable conditionally positive definite kernel of the distance |i − j| becomes a logit bias:

    log variant (Eq. 10):    b^h_ij = −r₁^h · log(1 + r₂^h · |i − j|)
    power variant (Eq. 9):   b^h_ij = −r₁^h · |i − j|^{r₂^h},      0 < r₂ ≤ 2

with r₁, r₂ > 0 learned per head (per layer unless ``sharing: layer``, as the authors give every
layer its own kernel). Positivity is a parametrisation, not a clamp: r = softplus(ρ) for r₁ (both
variants) and r₂ (log), r₂ = 2·sigmoid(ρ) for the power variant (the paper's 0 < r₂ ≤ 2, where
the kernel is conditionally positive definite). Initial values follow the authors' code:
r₁ ~ U(0, 2), r₂ ~ U(0, 1) (log) / U(0, 2) (power), floored at 0.01.

An encoder uses the symmetric |i − j| (it cannot tell left from right, like ALiBi); a causal
decoder uses i − j for keys j ≤ i (later keys are masked), the form the paper trains. i, j are the
true positions (``ctx.q_positions``/``ctx.k_positions``). The bias does not read the content, so it
is built once per forward for all layers ([tables, b|1, h, Lq, Lk]) and passed to the fused kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding, offsets_1d, toeplitz

MIN_INIT = 0.01  # the authors' eps: initial r values are at least this


def kerple_bias(distance: torch.Tensor, r1: torch.Tensor, r2: torch.Tensor, variant: str) -> torch.Tensor:
    """The kernel bias for non-negative ``distance`` [...] and per-head r₁, r₂ [h] → [h, ...]."""
    shape = (-1,) + (1,) * distance.dim()
    r1, r2, d = r1.reshape(shape), r2.reshape(shape), distance.float()[None]
    if variant == "log":
        return -r1 * torch.log1p(r2 * d)
    # |i−j|^r2 with a zero-safe power: 0^r2 = 0 for r2 > 0 (pow's gradient at 0 would be nan·0)
    return -r1 * torch.where(d > 0, d.clamp(min=1).pow(r2), torch.zeros_like(d))


def inverse_softplus(x: torch.Tensor) -> torch.Tensor:
    return x + torch.log(-torch.expm1(-x))


@dataclass(frozen=True)
class KerpleOptions:
    variant: Literal["log", "power"] = field(default="log", metadata={
        "help": "log: -r1*log(1+r2*|i-j|) (the paper's best); power: -r1*|i-j|^r2, 0 < r2 <= 2"})
    sharing: Literal["none", "layer"] = field(default="none", metadata={
        "help": "none: r1, r2 per layer and head (the authors' code); layer: per head, shared by all layers"})


@register_position("kerple")
class Kerple(PositionEncoding):
    """KERPLE: learnable kernel bias -r1*log(1+r2*|i-j|) or -r1*|i-j|^r2 per head (Chi et al. 2022)."""

    paper_name = "KERPLE"
    family = "relative logit bias"
    Options = KerpleOptions
    translation_invariant = True
    has_layer_bias = True

    def __init__(self, config, options: KerpleOptions):
        super().__init__(config, options)
        tables = 1 if options.sharing == "layer" else self.num_layers
        # raw parameters ρ; r₁ = softplus(ρ₁), r₂ = softplus(ρ₂) (log) or 2·sigmoid(ρ₂) (power)
        self.rho1 = nn.Parameter(torch.zeros(tables, self.num_heads))
        self.rho2 = nn.Parameter(torch.zeros(tables, self.num_heads))

    @classmethod
    def paper_label(cls, options):
        return f"KERPLE ({options.get('variant', 'log')})"

    @property
    def shared_across_layers(self):
        return self.options.sharing == "layer"

    def init_weights(self, std):
        with torch.no_grad():
            r1 = (torch.rand_like(self.rho1) * 2).clamp(min=MIN_INIT)
            self.rho1.copy_(inverse_softplus(r1))
            if self.options.variant == "log":
                self.rho2.copy_(inverse_softplus(torch.rand_like(self.rho2).clamp(min=MIN_INIT)))
            else:  # r2 = 2·sigmoid(ρ) ∈ (0, 2): ρ = logit(r2 / 2)
                half = (torch.rand_like(self.rho2) * 2).clamp(MIN_INIT, 2 - MIN_INIT) / 2
                self.rho2.copy_(torch.log(half) - torch.log1p(-half))

    def kernel_parameters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(r₁, r₂), each [tables, h], positive (r₂ ≤ 2 for the power variant)."""
        r1 = F.softplus(self.rho1)
        r2 = F.softplus(self.rho2) if self.options.variant == "log" else 2 * torch.sigmoid(self.rho2)
        return r1, r2

    def prepare(self, ctx: EncodingContext):
        r1, r2 = self.kernel_parameters()
        if ctx.canonical:  # one value per offset, laid out as a Toeplitz view
            offset = offsets_1d(ctx.seq_len, r1.device, ctx.key_len)  # j − i
        else:
            offset = ctx.relative_positions()  # [b|1, Lq, Lk]
        dist = (-offset).clamp(min=0) if ctx.causal else offset.abs()  # causal: masked keys j > i get 0
        bias = torch.stack([kerple_bias(dist, r1[t], r2[t], self.options.variant) for t in range(len(r1))])
        if ctx.canonical:
            bias = toeplitz(bias, ctx.seq_len, ctx.key_len)[:, None]  # [tables, 1, h, Lq, Lk]
        else:
            bias = bias.transpose(1, 2)  # [tables, b|1, h, Lq, Lk]
        ctx.state[self] = bias

    def layer_bias(self, layer, ctx):
        return ctx.state[self][0 if self.shared_across_layers else layer]


__all__ = ["Kerple", "KerpleOptions", "kerple_bias"]

"""FIRE: functional interpolation for relative positions (Li et al., ICLR 2024, §3, Eq. 4–6).

A small MLP f_θ: ℝ → ℝ^H maps a log-transformed, normalised distance to one logit bias per head:

    causal (the paper):      b_ij = f_θ( ψ(i − j) / ψ(max(L, i)) ),            j ≤ i
    bidirectional (posenc):  b_ij = f_θ( sign(i − j) · ψ(|i − j|) / ψ(max(L, N_ij)) )
    ψ(x) = log(1 + c·x),  c > 0 and the threshold L learned (c = softplus(ρ_c), L = 1 + exp(ρ_L))

Normalising by the query position i keeps the input in [0, 1] whatever the length
("interpolation"); the threshold L stops short contexts from being over-stretched (positions
below L share the normaliser ψ(L)). f_θ is Linear(1, hidden) → ReLU → Linear(hidden, H) (hidden
32 as in the paper). i, j are the true positions of query and key.

An encoder has keys on both sides, so the sign of i − j is kept (f_θ can tell left from right) and
the normaliser N_ij is an option:

- ``max_position`` (default): N_ij = max(i, j). It reduces exactly to the paper's ψ(max(L, i)) on
  every key a causal query sees (j ≤ i), depends on the two positions only — so the bias of a pair
  does not change when tokens are appended or padded — and needs no per-row length.
- ``length``: N = the row's length (1 + the largest real key position), the encoder analogue of
  "normalise by the context size"; the whole row shares one normaliser, so appending tokens
  changes every bias of the row.

The bias does not read the content: it is built once per forward ([tables, b|1, h, Lq, Lk], one
MLP evaluation per distinct (i, j)) and passed to the fused kernel. Not translation invariant:
the normaliser depends on the absolute positions once they exceed L. Initial values: c = 0.1,
L = ``threshold``; f_θ as ``nn.Linear`` initialises (U(±1/√fan_in)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding


def fire_input(q_pos: torch.Tensor, k_pos: torch.Tensor, c: torch.Tensor, threshold: torch.Tensor,
               causal: bool, normalizer: str, length: torch.Tensor | None = None) -> torch.Tensor:
    """The MLP input for queries at ``q_pos`` [b|1, Lq] and keys at ``k_pos`` [b|1, Lk] → [b|1, Lq, Lk].

    ``length`` [b|1] (``normalizer="length"``): the row's length."""
    q = q_pos.float()[..., :, None]
    k = k_pos.float()[..., None, :]
    d = q - k  # i − j
    psi = lambda x: torch.log1p(c * x)  # noqa: E731
    if causal:
        norm = q.expand_as(d)  # the paper: ψ(max(L, i)); masked keys j > i get input 0
        num = psi(d.clamp(min=0))
    else:
        norm = torch.maximum(q, k) if normalizer == "max_position" else length.float()[:, None, None] + torch.zeros_like(d)
        num = torch.sign(d) * psi(d.abs())
    return num / psi(torch.maximum(norm, threshold))


@dataclass(frozen=True)
class FireOptions:
    hidden: int = field(default=32, metadata={"help": "hidden units of the MLP f_θ (the paper: 32)"})
    threshold: float = field(default=512.0, metadata={
        "help": "initial L: positions below it share the normaliser ψ(L) (learned)"})
    init_c: float = field(default=0.1, metadata={"help": "initial c of ψ(x) = log(1 + c·x) (learned)"})
    normalizer: Literal["max_position", "length"] = field(default="max_position", metadata={
        "help": "encoder normaliser: max(i, j) (default; the paper's max(L, i) on causal keys) or the row's length"})
    sharing: Literal["layer", "none"] = field(default="layer", metadata={
        "help": "layer: one f_θ, c, L for all layers (one bias per forward); none: per layer"})

    def validate(self):
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if self.threshold <= 1.0:
            raise ValueError(f"threshold must be > 1 (a position), got {self.threshold}")
        if self.init_c <= 0:
            raise ValueError(f"init_c must be > 0, got {self.init_c}")


@register_position("fire")
class Fire(PositionEncoding):
    """FIRE: MLP over the log distance psi(i-j)/psi(max(L, i)) with learned c and threshold L (Li et al. 2024)."""

    paper_name = "FIRE"
    family = "relative logit bias (MLP)"
    Options = FireOptions
    has_layer_bias = True

    def __init__(self, config, options: FireOptions):
        super().__init__(config, options)
        t, n, h = 1 if options.sharing == "layer" else self.num_layers, options.hidden, self.num_heads
        self.w1 = nn.Parameter(torch.zeros(t, n))
        self.b1 = nn.Parameter(torch.zeros(t, n))
        self.w2 = nn.Parameter(torch.zeros(t, n, h))
        self.b2 = nn.Parameter(torch.zeros(t, h))
        self.rho_c = nn.Parameter(torch.zeros(t))  # c = softplus(ρ_c)
        self.rho_threshold = nn.Parameter(torch.zeros(t))  # L = 1 + exp(ρ_L)

    @property
    def shared_across_layers(self):
        return self.options.sharing == "layer"

    def init_weights(self, std):
        o = self.options
        with torch.no_grad():
            bound2 = 1.0 / math.sqrt(o.hidden)
            for p, bound in ((self.w1, 1.0), (self.b1, 1.0), (self.w2, bound2), (self.b2, bound2)):
                p.uniform_(-bound, bound)
            self.rho_c.fill_(math.log(math.expm1(o.init_c)))
            self.rho_threshold.fill_(math.log(o.threshold - 1.0))

    def constants(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(c, L), each [tables], as the formula uses them."""
        return F.softplus(self.rho_c), 1.0 + self.rho_threshold.exp()

    def mlp(self, x: torch.Tensor, table: int) -> torch.Tensor:
        """f_θ of table ``table``: x [...] → [..., h]."""
        hidden = torch.relu(x[..., None] * self.w1[table] + self.b1[table])
        return hidden @ self.w2[table] + self.b2[table]

    def _row_length(self, ctx: EncodingContext) -> torch.Tensor:
        keys = ctx.k_positions
        if ctx.attention_mask is not None and ctx.attention_mask.shape[-1] == keys.shape[-1]:
            keys = torch.where(ctx.attention_mask.bool(), keys, torch.zeros_like(keys))
        return keys.max(dim=-1).values + 1  # [b|1]

    def prepare(self, ctx: EncodingContext):
        c, threshold = self.constants()
        if ctx.canonical:
            q = torch.arange(ctx.seq_len, device=c.device)[None]
            k = torch.arange(ctx.key_len, device=c.device)[None]
        else:
            q, k = ctx.q_positions, ctx.k_positions
        length = self._row_length(ctx) if self.options.normalizer == "length" and not ctx.causal else None
        biases = []
        for t in range(len(c)):
            x = fire_input(q, k, c[t], threshold[t], ctx.causal, self.options.normalizer, length)
            # [b|1, h, Lq, Lk], dense along the keys: SDPA copies a mask with a last stride != 1 in every layer
            biases.append(self.mlp(x, t).permute(0, 3, 1, 2).contiguous())
        ctx.state[self] = biases

    def layer_bias(self, layer, ctx):
        return ctx.state[self][0 if self.shared_across_layers else layer]


__all__ = ["Fire", "FireOptions", "fire_input"]

"""Position at the input: none (NoPE), a learned table (BERT), fixed sinusoids (Vaswani et al. 2017).

    X⁰ = W_tok[x] + P[pos]          (Devlin et al. 2019, §3.2; Vaswani et al. 2017, §3.5)

``pos`` are the tokens' true positions (``ctx.position_ids``), so left padding with explicit
position ids and a cached decoder step (one token at position t) read the right rows.
``none`` adds nothing, so a model with ``position: none`` is permutation equivariant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from . import register_position
from .base import EncodingContext, PositionEncoding


@register_position("none")
class NoPosition(PositionEncoding):
    """No position information at all (NoPE): outputs are permutation equivariant."""

    paper_name = "NoPE"
    family = "none"
    reads_positions = False
    translation_invariant = True
    learnable = False


@dataclass(frozen=True)
class AbsoluteOptions:
    max_length: int | None = field(default=None, metadata={"help": "rows of the table (default: max_position_embeddings)"})

    def validate(self):
        if self.max_length is not None and self.max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {self.max_length}")


@register_position("absolute")
class LearnedAbsolute(PositionEncoding):
    """BERT's learned absolute table P ∈ R^{n_max×d} added to the input (Devlin et al. 2019)."""

    paper_name = "BERT (absolute)"
    family = "input embedding"
    Options = AbsoluteOptions
    replaces_input_positions = False
    extrapolation = "table"

    def __init__(self, config, options):
        super().__init__(config, options)
        self._max = options.max_length or config.max_position_embeddings
        self.table = nn.Embedding(self._max, config.hidden_size)

    @property
    def max_length(self):
        return self._max

    def embed_input(self, x, ctx: EncodingContext):
        return x + self.table(ctx.position_ids)


@dataclass(frozen=True)
class SinusoidalOptions:
    scale_embeddings: bool = field(default=False, metadata={
        "help": "multiply the token embeddings by sqrt(d) before adding the sinusoids (Vaswani et al. 2017, §3.4)"})


@register_position("sinusoidal")
class Sinusoidal(PositionEncoding):
    """Fixed sinusoids added to the input (Vaswani et al. 2017), no parameters, any length.

    X⁰ = s·W_tok[x] + P[pos],  P[p, 2i] = sin(p / 10000^{2i/d}),  P[p, 2i+1] = cos(p / 10000^{2i/d})

    s = 1 by default (as ``absolute``, so the two differ only in P); ``scale_embeddings: true`` gives
    s = √d, as Vaswani et al. (2017, §3.4) multiply the embedding weights, which keeps token
    embeddings initialised at std 0.02 from being drowned by the unit-amplitude sinusoids. The
    scaling applies to the token embeddings alone: segment embeddings are added afterwards.
    """

    paper_name = "Vaswani (sinusoidal)"
    family = "input embedding"
    Options = SinusoidalOptions
    replaces_input_positions = False
    learnable = False

    def embed_input(self, x, ctx: EncodingContext):
        d = x.shape[-1]
        if self.options.scale_embeddings:
            x = x * math.sqrt(d)
        pos = ctx.position_ids.to(torch.float32)[..., None]  # [b|1, L, 1]
        inv = torch.exp(torch.arange(0, d, 2, device=x.device, dtype=torch.float32) * (-math.log(10000.0) / d))
        ang = pos * inv  # [b|1, L, d/2]
        table = torch.stack((ang.sin(), ang.cos()), dim=-1).flatten(-2)[..., :d]
        return x + table.to(x.dtype)

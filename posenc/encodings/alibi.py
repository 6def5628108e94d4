"""ALiBi (Press et al. 2022, §3), in an encoder and in a causal decoder.

    A^h_ij = q_i·k_j/√d_h − m_h·|i − j|,   m_h = 2^(−8h/H), h = 1..H

An encoder uses the symmetric |i − j| form, the bias matrix the ALiBi authors give for encoder
(non-causal) attention (Press, 2021, GitHub ofirpress/attention_with_linear_biases issue 5). A causal
decoder uses the paper's form −m_h·(i − j) for keys j ≤ i (later keys are masked). i and j are the
true positions of query and key, so a cached decoder step (one query at t, keys 0..t) gets row t.
No parameters.

**An ALiBi encoder cannot tell left from right.** The bias depends on |i − j| only, so reversing
the input reverses the output exactly (tests/test_fidelity_options.py): a token two to the left
and a token two to the right are the same to every head. Order reaches the model only through
content. Encodings with signed offsets (``t5``, ``diet_rel``, ``shaw``, ``rotary``, ``deberta``)
do not have this symmetry. No asymmetric ALiBi for encoders with published results was found (the
authors' issue above describes only the symmetric form), so none is offered here.

The penalty is capped at ``max_penalty`` nats (default 40): a token that far away already weighs
< e^−40 ≈ 4·10⁻¹⁸ of the nearest one, below float32 resolution, so the function is unchanged; without
the cap, exp(−m_h·|i − j|) falls into float32's subnormal range (below e^−87, reached from |i − j| ≥ 175 on
the steepest head) and CPU matmuls over those probabilities run 5–15× slower. Head h is capped from
|i − j| ≥ max_penalty / m_h = max_penalty · 2^(max_bias·h/H): with 8 heads and the defaults, from 80 on
the steepest head (m_1 = 1/2), then 160, 320, 640, …, 10240 on the flattest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from . import register_position
from .base import EncodingContext, PositionEncoding, relative_offsets


def alibi_slopes(num_heads: int, max_bias: float = 8.0) -> list[float]:
    """Geometric slopes 2^(−max_bias·h/H); for H not a power of two, the ALiBi paper's interleave."""
    def power_of_two(n):
        return [2.0 ** (-max_bias * (i + 1) / n) for i in range(n)]

    if math.log2(num_heads).is_integer():
        return power_of_two(num_heads)
    closest = 2 ** math.floor(math.log2(num_heads))
    extra = power_of_two(2 * closest)[0::2][: num_heads - closest]
    return power_of_two(closest) + extra


@dataclass(frozen=True)
class AlibiOptions:
    max_bias: float = field(default=8.0, metadata={"help": "slopes are 2^(-max_bias*h/H)"})
    max_penalty: float = field(default=40.0, metadata={
        "help": "cap on m_h*|i-j| in nats (keeps softmax out of float32 subnormals; head h is capped from "
                "|i-j| >= max_penalty*2^(max_bias*h/H), i.e. 80 on the steepest of 8 heads; .inf = no cap)"})

    def validate(self):
        if self.max_bias <= 0:
            raise ValueError(f"max_bias must be > 0, got {self.max_bias}")
        if not self.max_penalty > 0:
            raise ValueError(f"max_penalty must be > 0 (or .inf for no cap), got {self.max_penalty}")


@register_position("alibi")
class Alibi(PositionEncoding):
    """ALiBi: per-head penalty −min(m_h·|i−j|, 40); symmetric in an encoder, so it cannot tell left from right."""

    paper_name = "ALiBi"
    family = "relative logit bias"
    Options = AlibiOptions
    translation_invariant = True
    has_layer_bias = True
    learnable = False

    def __init__(self, config, options: AlibiOptions):
        super().__init__(config, options)
        # plain floats, not a buffer: from_pretrained builds modules on the meta device and does not
        # restore non-persistent buffers
        self.slopes = alibi_slopes(self.num_heads, options.max_bias)

    def prepare(self, ctx: EncodingContext):
        if ctx.canonical:
            offset = relative_offsets(ctx.seq_len, ctx.device, ctx.key_len)[None]  # [1, Lq, Lk] j − i
        else:
            offset = ctx.relative_positions()  # [b|1, Lq, Lk]
        # causal: i − j >= 0 on every unmasked key, so −m·(i − j) = −m·|i − j| there; masked keys
        # (j > i) get 0 rather than a reward, the mask removes them
        dist = (-offset).clamp(min=0) if ctx.causal else offset.abs()
        slopes = torch.tensor(self.slopes, device=ctx.device)[None, :, None, None]
        penalty = slopes * dist[:, None].float()  # [b|1, h, Lq, Lk]
        ctx.state[self] = -penalty.clamp(max=self.options.max_penalty)

    def layer_bias(self, layer, ctx):
        return ctx.state[self]

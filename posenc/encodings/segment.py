"""Segment (token-type) encodings (Devlin et al. 2019, §3; Chen et al. 2021, Eq. 2).

- ``none``: no segment information.
- ``input``: BERT's token-type embedding added to the input, X⁰ += E_type[s_i].
- ``diet``: DIET's per-head segment bias (Eq. 2), A_ij += S^h[s_i, s_j], one s×s table per head
  (per layer unless ``sharing: layer``). It depends on the example, so it is gathered per batch.

All segment parameters start at zero: adding a segment encoding at fine-tuning time to a model
pre-trained without one leaves its function unchanged at step 0 (the paper's recipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from . import register_segment
from .base import EncodingContext, SegmentEncoding


@register_segment("none")
class NoSegment(SegmentEncoding):
    """No segment information (token_type_ids are ignored)."""

    paper_name = "none"
    family = "none"
    learnable = False

    def check_segments(self, token_type_ids):
        return None


@register_segment("input")
class InputSegment(SegmentEncoding):
    """BERT token-type embedding added to the input (zero-initialised)."""

    paper_name = "input"
    family = "input embedding"

    def __init__(self, config, options):
        super().__init__(config, options)
        # a raw parameter, not nn.Embedding, so the generic embedding init never overrides the zeros
        self.weight = nn.Parameter(torch.zeros(config.type_vocab_size, config.hidden_size))

    def init_weights(self, std):
        from transformers import initialization as init

        init.zeros_(self.weight)

    def embed_input(self, x, ctx: EncodingContext):
        if ctx.token_type_ids is None:  # every token in segment 0
            return x + self.weight[0]
        return x + self.weight[ctx.token_type_ids]


@dataclass(frozen=True)
class DietSegmentOptions:
    sharing: Literal["none", "layer"] = field(default="none", metadata={"help": "none: one s×s table per (layer, head); layer: per head, all layers"})


@register_segment("diet")
class DietSegment(SegmentEncoding):
    """DIET per-head segment bias S^h[s_i, s_j] added to the attention logits (zero-initialised)."""

    paper_name = "per-head"
    family = "segment-pair logit bias"
    Options = DietSegmentOptions
    has_layer_bias = True

    def __init__(self, config, options: DietSegmentOptions):
        super().__init__(config, options)
        layers = 1 if options.sharing == "layer" else self.num_layers
        s = config.type_vocab_size
        self.pair_bias = nn.Parameter(torch.zeros(layers, self.num_heads, s * s))

    @property
    def shared_across_layers(self):
        return self.options.sharing == "layer"

    def init_weights(self, std):
        from transformers import initialization as init

        init.zeros_(self.pair_bias)

    def prepare(self, ctx: EncodingContext):
        tt = ctx.token_type_ids
        if tt is None:
            tt = torch.zeros(ctx.batch_size, ctx.seq_len, dtype=torch.long, device=self.pair_bias.device)
        # one-hot segments E [b, L, s]: S^h[s_i, s_j] = (E S^h Eᵀ)_ij, two small matmuls whose backward is
        # a matmul too (a gather table[:, s_i*s + s_j] is ~30x slower in training: scatter-add backward)
        ctx.state[self] = torch.nn.functional.one_hot(tt, self.num_segments).to(self.pair_bias.dtype)

    def layer_bias(self, layer, ctx):
        onehot = ctx.state[self]  # [b, L, s]
        s = self.num_segments
        table = self.pair_bias[0 if self.shared_across_layers else layer].view(self.num_heads, s, s)
        rows = torch.einsum("bis,hst->bhit", onehot, table)  # [b, h, L, s]: S^h[s_i, :]
        return rows @ onehot.transpose(1, 2)[:, None]  # [b, h, L, L]

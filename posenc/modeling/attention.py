"""Multi-head self-attention that is handed its position encoding.

Two kernels compute the same thing:

- ``sdpa`` (fused, default): ``torch.nn.functional.scaled_dot_product_attention`` with the summed
  additive bias (padding + position + segment + content terms) as ``attn_mask``;
- ``eager``: the explicit softmax(q·kᵀ·scale + bias)·v, needed when an encoding reads the
  probabilities (Shaw's value vectors) or when attention weights are requested.

An encoding that the fused kernel cannot express makes the layer use eager and the model says
so (``PosencModel.attention_kernel``); a bias is never dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..encodings.base import EncodingContext, PositionEncoding

FUSED, EAGER = "sdpa", "eager"


def cast_bias(bias: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Cast an additive bias to the attention dtype without turning large negatives into -inf."""
    if bias is None or bias.dtype == dtype:
        return bias
    if dtype in (torch.float16, torch.bfloat16):
        bias = bias.clamp(min=torch.finfo(dtype).min)
    return bias.to(dtype)


class PosencSelfAttention(nn.Module):
    """softmax(q·kᵀ·s + B)·v over h heads, q/k/v from one fused projection, then an output projection."""

    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor | None,
        layer: int,
        position: PositionEncoding,
        ctx: EncodingContext,
        kernel: str,
        need_weights: bool = False,
        projection=None,
    ):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # [b, h, L, d_h]
        q, k = position.rotate_qk(layer, q, k, ctx)
        if projection is not None:  # Linformer: k, v [b, h, L, d_h] -> [b, h, k, d_h]
            k, v = projection(layer, k, v, ctx.attention_mask)
        extra = position.content_bias(layer, q, k, ctx)
        if extra is not None:
            bias = extra if bias is None else bias + extra
        bias = cast_bias(bias, q.dtype)
        scale = position.score_scale(self.head_dim)
        dropout = self.dropout_p if self.training else 0.0
        weights = None
        if kernel == FUSED and not need_weights:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout, scale=scale)
        else:
            scores = (q @ k.transpose(-1, -2)) * scale
            if bias is not None:
                scores = scores + bias
            weights = scores.softmax(dim=-1)
            probs = F.dropout(weights, p=dropout, training=self.training)
            out = probs @ v
            value_extra = position.value_term(layer, probs, ctx)
            if value_extra is not None:
                out = out + value_extra
        out = out.transpose(1, 2).reshape(b, n, d)
        return self.out(out), weights

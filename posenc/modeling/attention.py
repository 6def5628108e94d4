"""Multi-head attention that is handed its encodings: self-attention (encoder, causal decoder with a
key/value cache) and cross-attention (decoder → encoder output).

Two kernels compute the same thing:

- ``sdpa`` (fused, default): ``torch.nn.functional.scaled_dot_product_attention`` with the summed
  additive bias (padding/causal mask + position + segment + content terms) as ``attn_mask``;
- ``eager``: the explicit softmax(q·kᵀ·scale + bias)·v, needed when an encoding reads the
  probabilities (Shaw's value vectors) or when attention weights are requested.

An encoding that the fused kernel cannot express makes the layer use eager and the model says
so (``attention_kernel``); a bias is never dropped.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from ..encodings.base import EncodingContext
from ..encodings.stack import EncodingStack

FUSED, EAGER = "sdpa", "eager"
logger = logging.getLogger("posenc.modeling.modeling")


def resolve_kernel(config, encodings: EncodingStack) -> str:
    """The attention kernel a model runs: the requested one, or eager when an encoding needs it."""
    requested = getattr(config, "_attn_implementation", None) or FUSED
    if requested not in (FUSED, EAGER):
        raise ValueError(
            f"attention implementation {requested!r} cannot carry posenc's additive position/segment "
            f"bias (position {config.position['name']!r}); use attn_implementation='sdpa' or 'eager'"
        )
    if requested == FUSED and encodings.eager_reason:
        return EAGER
    return requested


def warn_eager_once(model: nn.Module, kernel: str, encodings: EncodingStack) -> None:
    """Say once per model why an encoding runs on the eager kernel."""
    reason = encodings.eager_reason
    if kernel == EAGER and reason and not getattr(model, "_warned_eager", False) and not torch.compiler.is_compiling():
        logger.warning("posenc: eager attention for %s: %s", model.config.position["name"], reason)
        model._warned_eager = True


def cast_bias(bias: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Cast an additive bias to the attention dtype without turning large negatives into -inf."""
    if bias is None or bias.dtype == dtype:
        return bias
    if dtype in (torch.float16, torch.bfloat16):
        bias = bias.clamp(min=torch.finfo(dtype).min)
    return bias.to(dtype)


def attend(q, k, v, bias, scale: float, dropout: float, kernel: str, need_weights: bool, training: bool,
           is_causal: bool = False, value_term=None):
    """softmax(q·kᵀ·scale + bias)·v (+ ``value_term(probs)``) for q [b, h, Lq, d_h], k/v [b, h, Lk, d_h];
    ``is_causal`` (only with ``bias`` None and Lq == Lk) masks later keys. Returns (out, weights|None)."""
    bias = cast_bias(bias, q.dtype)
    if kernel == FUSED and not need_weights and value_term is None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout, scale=scale,
                                              is_causal=is_causal), None
    scores = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    if is_causal:
        lq, lk = scores.shape[-2:]
        scores = scores.masked_fill(torch.ones(lq, lk, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    weights = scores.softmax(dim=-1)
    probs = F.dropout(weights, p=dropout, training=training)
    out = probs @ v
    if value_term is not None:
        extra = value_term(probs)
        if extra is not None:
            out = out + extra
    return out, weights


class PosencSelfAttention(nn.Module):
    """softmax(q·kᵀ·s + B)·v over h heads, q/k/v from one fused projection, then an output projection.

    With a ``cache`` (a transformers ``DynamicCache``), the new keys/values — rotated by the encodings
    first — are appended for ``layer`` and the queries attend to every cached key."""

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
        encodings: EncodingStack,
        ctx: EncodingContext,
        kernel: str,
        need_weights: bool = False,
        projection=None,
        cache=None,
        is_causal: bool = False,
    ):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # [b, h, L, d_h]
        q, k = encodings.rotate_qk(layer, q, k, ctx)
        if cache is not None:
            k, v = cache.update(k, v, layer)  # [b, h, past + L, d_h]
        if projection is not None:  # Linformer: k, v [b, h, L, d_h] -> [b, h, k, d_h]
            k, v = projection(layer, k, v, ctx.attention_mask)
        extra = encodings.content_bias(layer, q, k, ctx)
        if extra is not None:
            bias = extra if bias is None else bias + extra
        value_term = None
        if kernel == EAGER or need_weights:
            value_term = lambda probs: encodings.value_term(layer, probs, ctx)  # noqa: E731
        out, weights = attend(q, k, v, bias, encodings.score_scale(self.head_dim), self.dropout_p if self.training else 0.0,
                              kernel, need_weights, self.training, is_causal=is_causal and bias is None,
                              value_term=value_term)
        out = out.transpose(1, 2).reshape(b, n, d)
        return self.out(out), weights


class PosencCrossAttention(nn.Module):
    """Decoder → encoder attention: q from the decoder, k/v from the encoder output (computed once and
    kept in the cross-attention half of an ``EncoderDecoderCache``). No position term unless the
    caller passes one in ``bias``."""

    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.q = nn.Linear(config.hidden_size, config.hidden_size)
        self.kv = nn.Linear(config.hidden_size, 2 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, x, memory, bias, layer: int, kernel: str, need_weights: bool = False, cache=None):
        """x [b, Lq, d], memory [b, Ls, d] (encoder output), bias [b|1, h|1, Lq, Ls] or None."""
        b, n, d = x.shape
        q = self.q(x).view(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        if cache is not None and cache.is_updated.get(layer):
            k, v = cache.cross_attention_cache.layers[layer].keys, cache.cross_attention_cache.layers[layer].values
        else:
            m = memory.shape[1]
            k, v = self.kv(memory).view(b, m, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            if cache is not None:
                k, v = cache.cross_attention_cache.update(k, v, layer)
                cache.is_updated[layer] = True
        out, weights = attend(q, k, v, bias, self.head_dim ** -0.5, self.dropout_p if self.training else 0.0,
                              kernel, need_weights, self.training)
        return self.out(out.transpose(1, 2).reshape(b, n, d)), weights

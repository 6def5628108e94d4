"""Transformer blocks shared by the encoder-only model and the encoder-decoder.

Each sublayer (attention, cross-attention, feed-forward) is wrapped in a residual connection with
a LayerNorm, placed by ``config.layer_norm_position``:

- ``post`` (BERT, Vaswani et al. 2017): x = LN(x + Sublayer(x));
- ``pre`` (Xiong et al. 2020): x = x + Sublayer(LN(x)), with one final LayerNorm after the stack.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN

from ..options import OptionError
from ..registry import did_you_mean
from .attention import PosencCrossAttention, PosencSelfAttention

LAYER_NORM_POSITIONS = ("post", "pre")


def check_layer_norm_position(value) -> str:
    if value not in LAYER_NORM_POSITIONS:
        raise OptionError(f"layer_norm_position must be one of {', '.join(LAYER_NORM_POSITIONS)}, got {value!r}."
                          f"{did_you_mean(str(value), list(LAYER_NORM_POSITIONS))}")
    return value


def has_padding(attention_mask: torch.Tensor | None) -> bool:
    """Whether ``attention_mask`` [b, Lk] masks any key. Reads the mask on the host; under
    torch.compile it answers True for any mask (one graph, no sync)."""
    if attention_mask is None:
        return False
    return torch.compiler.is_compiling() or not bool(attention_mask.all())


def padding_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """[b, Lk] (1 = real token) → additive [b, 1, 1, Lk] (−∞-like on padded keys), or None if
    nothing is padded (then SDPA runs unmasked, its fastest kernel)."""
    if not has_padding(attention_mask):
        return None
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class _Block(nn.Module):
    """Residual + LayerNorm wiring (pre- or post-LN) and the feed-forward sublayer W₂·act(W₁·x)."""

    def __init__(self, config):
        super().__init__()
        self.pre_norm = getattr(config, "layer_norm_position", "post") == "pre"

    def _add_feed_forward(self, config):
        # called after the attention sublayers, so parameters are created (and seeded) in block order
        self.ffn_in = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACT2FN[config.hidden_act]
        self.ffn_out = nn.Linear(config.intermediate_size, config.hidden_size)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def before(self, x, norm):
        return norm(x) if self.pre_norm else x

    def after(self, x, out, norm):
        x = x + self.dropout(out)
        return x if self.pre_norm else norm(x)

    def feed_forward(self, x):
        return self.after(x, self.ffn_out(self.act(self.ffn_in(self.before(x, self.ffn_norm)))), self.ffn_norm)


class PosencLayer(_Block):
    """Encoder block: self-attention then feed-forward, each with residual + LayerNorm
    (post-LN: x = LN(x + Attn(x)); x = LN(x + W₂·act(W₁·x)) — BERT's block)."""

    def __init__(self, config):
        super().__init__(config)
        self.attention = PosencSelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self._add_feed_forward(config)

    def forward(self, x, bias, layer, encodings, ctx, kernel, need_weights=False, projection=None):
        a, weights = self.attention(self.before(x, self.attention_norm), bias, layer, encodings, ctx, kernel,
                                    need_weights, projection)
        return self.feed_forward(self.after(x, a, self.attention_norm)), weights


class PosencDecoderLayer(_Block):
    """Decoder block: causal self-attention (with a key/value cache), cross-attention to the
    encoder output, feed-forward; each with residual + LayerNorm."""

    def __init__(self, config):
        super().__init__(config)
        self.attention = PosencSelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.cross_attention = PosencCrossAttention(config)
        self.cross_attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self._add_feed_forward(config)

    def forward(self, x, bias, layer, encodings, ctx, kernel, memory, cross_bias, need_weights=False,
                cache=None, is_causal=False):
        self_cache = cache.self_attention_cache if cache is not None else None
        a, self_weights = self.attention(self.before(x, self.attention_norm), bias, layer, encodings, ctx, kernel,
                                         need_weights, cache=self_cache, is_causal=is_causal)
        x = self.after(x, a, self.attention_norm)
        c, cross_weights = self.cross_attention(self.before(x, self.cross_attention_norm), memory, cross_bias, layer,
                                                kernel, need_weights, cache=cache)
        x = self.after(x, c, self.cross_attention_norm)
        return self.feed_forward(x), self_weights, cross_weights


def run_layers(layers, x, biases, output_attentions: bool, output_hidden_states: bool, **kwargs):
    """Apply ``layers`` in turn (layer i gets ``biases[i]``); returns (x, hidden states, attentions,
    cross-attentions), the last three None unless requested."""
    hidden = [x] if output_hidden_states else None
    attentions = [] if output_attentions else None
    cross = [] if output_attentions else None
    for i, layer in enumerate(layers):
        out = layer(x, biases[i], i, need_weights=output_attentions, **kwargs)
        x = out[0]
        if output_hidden_states:
            hidden.append(x)
        if output_attentions:
            attentions.append(out[1])
            if len(out) > 2:
                cross.append(out[2])
    as_tuple = lambda v: tuple(v) if v else None  # noqa: E731
    return x, as_tuple(hidden), as_tuple(attentions), as_tuple(cross)

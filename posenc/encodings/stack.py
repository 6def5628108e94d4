"""The encodings one attention stack applies, composed behind the single-encoding hook interface.

An encoder applies its position and its segment encoding; a decoder its position encoding alone.
The attention layers talk to an :class:`EncodingStack` exactly as to one encoding, and every hook
is called on every member, in order (position first):

- ``embed_input``: each adds to the input in turn;
- ``rotate_qk``: rotations are applied in turn;
- ``layer_bias`` / ``content_bias`` / ``value_term``: summed;
- ``score_scale``: the first member's (the position encoding's). It is one number that cannot be
  composed, so a segment encoding that overrides it is refused at registration.
"""

from __future__ import annotations

import torch

from .base import Encoding, EncodingContext


def _overrides(enc: Encoding, hook: str) -> bool:
    return getattr(type(enc), hook) is not getattr(Encoding, hook)


def _add(total: torch.Tensor | None, term: torch.Tensor | None) -> torch.Tensor | None:
    if term is None:
        return total
    return term if total is None else total + term


class EncodingStack:
    """Position (and segment) encodings of one attention stack; see the module docstring."""

    def __init__(self, *encodings: Encoding):
        self.encodings = [e for e in encodings if e is not None]
        self._rotating = [e for e in self.encodings if _overrides(e, "rotate_qk")]
        self._content = [e for e in self.encodings if _overrides(e, "content_bias")]
        self._values = [e for e in self.encodings if _overrides(e, "value_term")]
        self._static = [e for e in self.encodings if e.has_layer_bias]

    @property
    def eager_reason(self) -> str | None:
        return next((e.eager_reason for e in self.encodings if e.eager_reason), None)

    @property
    def adds_logit_terms(self) -> bool:
        """Some member adds a bias or content term to the attention logits."""
        return bool(self._static or self._content)

    @property
    def shared_across_layers(self) -> bool:
        """Every content-independent term is the same in every layer (one bias for the stack)."""
        return all(e.shared_across_layers for e in self._static)

    def check_positions(self, ctx: EncodingContext) -> None:
        for e in self.encodings:
            e.check_positions(ctx)

    def embed_input(self, x: torch.Tensor, ctx: EncodingContext) -> torch.Tensor:
        for e in self.encodings:
            x = e.embed_input(x, ctx)
        return x

    def prepare(self, ctx: EncodingContext) -> None:
        for e in self.encodings:
            e.prepare(ctx)

    def static_biases(self, ctx: EncodingContext, mask: torch.Tensor | None, num_layers: int) -> list[torch.Tensor | None]:
        """Per-layer sum of ``mask`` and the content-independent terms [1|b, h|1, Lq, Lk]; built once
        (and the same tensor handed to every layer) when every term is shared across layers."""

        def build(layer):
            bias = mask
            for e in self._static:
                bias = _add(bias, e.layer_bias(layer, ctx))
            return bias

        if self.shared_across_layers:
            return [build(0)] * num_layers
        return [build(layer) for layer in range(num_layers)]

    def rotate_qk(self, layer: int, q: torch.Tensor, k: torch.Tensor, ctx: EncodingContext):
        for e in self._rotating:
            q, k = e.rotate_qk(layer, q, k, ctx)
        return q, k

    def content_bias(self, layer: int, q: torch.Tensor, k: torch.Tensor, ctx: EncodingContext):
        bias = None
        for e in self._content:
            bias = _add(bias, e.content_bias(layer, q, k, ctx))
        return bias

    def score_scale(self, head_dim: int) -> float:
        return self.encodings[0].score_scale(head_dim)

    def value_term(self, layer: int, probs: torch.Tensor, ctx: EncodingContext):
        out = None
        for e in self._values:
            out = _add(out, e.value_term(layer, probs, ctx))
        return out

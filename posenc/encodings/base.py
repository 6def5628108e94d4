"""The contract every position and segment encoding implements.

An encoding is a small ``nn.Module`` owned once by the model (never per layer, so shared
parameters are stored once). The encoder calls its hooks in this order each forward::

    x     = encoding.embed_input(x, ctx)                  # add something to the token embeddings
    state = encoding.prepare(ctx)                         # once per forward (content-independent work)
    for layer l:
        q, k  = encoding.rotate_qk(l, q, k, ctx)          # e.g. RoPE
        bias  = encoding.layer_bias(l, ctx)               # [1|b, h, q, k] additive logit bias, cached
              + encoding.content_bias(l, q, k, ctx)       # [b, h, q, k] bias that reads q/k (Shaw, DeBERTa)
        attn  = softmax(q·kᵀ · encoding.score_scale(d_h) + bias)
        out   = attn·v + encoding.value_term(l, attn, ctx)   # eager only (Shaw's value vectors)

Every hook has a no-op default, so an encoding overrides only what it changes. The attention
layer never learns *which* encoding it holds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn


@dataclass(frozen=True)
class NoOptions:
    """Options of an encoding that takes none."""


@dataclass
class EncodingContext:
    """What the encodings see during one forward pass.

    ``position_ids``: [b, L] absolute positions (0 at the first real token for right padding).
    ``token_type_ids``: [b, L] segment ids or None. ``attention_mask``: [b, L] 1 = real token.
    ``state``: per-encoding scratch space filled by :meth:`Encoding.prepare`.
    """

    batch_size: int
    seq_len: int
    device: torch.device
    dtype: torch.dtype
    position_ids: torch.Tensor | None = None
    token_type_ids: torch.Tensor | None = None
    attention_mask: torch.Tensor | None = None
    state: dict[str, Any] = field(default_factory=dict)


class Encoding(nn.Module):
    """Base class of position and segment encodings (see module docstring for the hook order).

    Class attributes declare properties the test-suite checks and the model relies on:

    - ``replaces_input_positions``: the encoder must not add any input position table.
    - ``translation_invariant``: outputs depend on positions only through i − j.
    - ``content_dependent_bias``: ``content_bias`` reads q/k, so it cannot be cached per forward.
    - ``Options``: frozen dataclass of the user-settable options (validated at config time).
    - ``supports_projected_keys``: still valid when Linformer mixes keys along the sequence
      (None: inferred — true only for encodings that touch nothing but the input).
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type] = NoOptions
    replaces_input_positions: ClassVar[bool] = True
    translation_invariant: ClassVar[bool] = False
    content_dependent_bias: ClassVar[bool] = False
    has_layer_bias: ClassVar[bool] = False
    supports_projected_keys: ClassVar[bool | None] = None

    def __init__(self, config, options):
        super().__init__()
        self.options = options
        self.num_layers = config.num_hidden_layers
        self.num_heads = config.num_attention_heads
        self.hidden_size = config.hidden_size
        self.head_dim = config.hidden_size // config.num_attention_heads

    # --- declared limits --------------------------------------------------------------
    @property
    def max_length(self) -> int | None:
        """Longest sequence this encoding can represent (None: unlimited)."""
        return None

    @property
    def shared_across_layers(self) -> bool:
        """True when every layer sees the same position term (computed once per forward)."""
        return True

    @property
    def eager_reason(self) -> str | None:
        """Why the fused (SDPA) path cannot express this encoding, or None if it can."""
        return None

    def check_length(self, seq_len: int) -> None:
        limit = self.max_length
        if limit is not None and seq_len > limit:
            raise ValueError(
                f"sequence length {seq_len} exceeds the {self.name!r} table of {limit} positions; "
                f"truncate inputs to {limit} tokens or build the model with a larger "
                f"max_position_embeddings (or the encoding's max_length option)"
            )

    # --- hooks (no-op defaults) -------------------------------------------------------
    def embed_input(self, x: torch.Tensor, ctx: EncodingContext) -> torch.Tensor:
        """Modify the input embeddings [b, L, d]."""
        return x

    def prepare(self, ctx: EncodingContext) -> None:
        """Once per forward: precompute what does not depend on the layer input."""

    def layer_bias(self, layer: int, ctx: EncodingContext) -> torch.Tensor | None:
        """Content-independent additive logit bias [1|b, h, L, L] for ``layer`` (unscaled)."""
        return None

    def content_bias(self, layer: int, q: torch.Tensor, k: torch.Tensor, ctx: EncodingContext) -> torch.Tensor | None:
        """Additive logit bias computed from q, k [b, h, L, d_h]; returns [b, h, L, L] (already scaled)."""
        return None

    def rotate_qk(self, layer: int, q: torch.Tensor, k: torch.Tensor, ctx: EncodingContext):
        return q, k

    def score_scale(self, head_dim: int) -> float:
        """Multiplier of the token–token term q·kᵀ (BERT: 1/√d_h)."""
        return 1.0 / math.sqrt(head_dim)

    def value_term(self, layer: int, probs: torch.Tensor, ctx: EncodingContext) -> torch.Tensor | None:
        """Extra attention output [b, h, L, d_h] computed from the probabilities (eager path only)."""
        return None

    def init_weights(self, std: float) -> None:
        """Initialise this encoding's own parameters (child Linear/Embedding/LayerNorm are
        handled by the model's ``_init_weights``)."""

    def bias_matrix(self, seq_len: int) -> torch.Tensor | None:
        """The learned content-independent position bias [layers_or_1, h, L, L] for plots."""
        if not self.has_layer_bias:
            return None
        ctx = EncodingContext(
            batch_size=1, seq_len=seq_len, device=_device_of(self), dtype=torch.float32,
            position_ids=torch.arange(seq_len, device=_device_of(self))[None],
        )
        with torch.no_grad():
            self.prepare(ctx)
            layers = 1 if self.shared_across_layers else self.num_layers
            mats = [self.layer_bias(layer, ctx) for layer in range(layers)]
        return torch.cat([m[:1] for m in mats], dim=0)

    def extra_repr(self) -> str:
        fields = dataclasses.asdict(self.options) if dataclasses.is_dataclass(self.options) else {}
        return ", ".join(f"{k}={v}" for k, v in fields.items())


class PositionEncoding(Encoding):
    """A position encoding (registered in ``POSITION_ENCODINGS``)."""


class SegmentEncoding(Encoding):
    """A segment (token-type) encoding (registered in ``SEGMENT_ENCODINGS``).

    New segment parameters start at zero so that adding a segment encoding to a model
    pre-trained without one leaves its function unchanged at step 0.
    """

    def __init__(self, config, options):
        super().__init__(config, options)
        self.num_segments = config.type_vocab_size

    def check_segments(self, token_type_ids: torch.Tensor | None) -> None:
        if token_type_ids is None or token_type_ids.numel() == 0:
            return
        top = int(token_type_ids.max())
        low = int(token_type_ids.min())
        if low < 0 or top >= self.num_segments:
            bad = top if top >= self.num_segments else low
            raise ValueError(
                f"token_type_ids contain segment id {bad}, but segment encoding {self.name!r} has "
                f"{self.num_segments} segments (ids 0..{self.num_segments - 1}); set "
                f"type_vocab_size >= {max(top + 1, 2)} in the model config or fix the inputs"
            )


def _device_of(module: nn.Module) -> torch.device:
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")


def relative_offsets(seq_len: int, device, key_len: int | None = None) -> torch.Tensor:
    """[L, L_k] matrix of signed offsets j − i (key position minus query position)."""
    key_len = seq_len if key_len is None else key_len
    q = torch.arange(seq_len, device=device)[:, None]
    k = torch.arange(key_len, device=device)[None, :]
    return k - q


def toeplitz(by_offset: torch.Tensor, seq_len: int) -> torch.Tensor:
    """[..., 2L−1] values per offset j − i (index j − i + L − 1) → [..., L, L] with out[i, j] = v[j − i + L − 1].

    A strided view plus one flip: the backward is a strided sum over 2L−1 values per row instead of the
    scatter-add an [L, L] gather needs (several times slower on CPU).
    """
    return by_offset.unfold(-1, seq_len, 1).flip(-2)


def offsets_1d(seq_len: int, device) -> torch.Tensor:
    """The 2L−1 signed offsets j − i, from −(L−1) to L−1, in :func:`toeplitz` order."""
    return torch.arange(-(seq_len - 1), seq_len, device=device)

"""The contract every position and segment encoding implements.

An encoding is a small ``nn.Module`` owned once by the model (never per layer, so shared
parameters are stored once). Each attention stack (an encoder, a decoder's self-attention) calls
its hooks in this order each forward, through :class:`~posenc.encodings.stack.EncodingStack`::

    x     = encoding.embed_input(x, ctx)                  # add something to the token embeddings
    state = encoding.prepare(ctx)                         # once per forward (content-independent work)
    for layer l:
        q, k  = encoding.rotate_qk(l, q, k, ctx)          # new tokens only, before a key/value cache (RoPE)
        bias  = encoding.layer_bias(l, ctx)               # [1|b, h, Lq, Lk] additive logit bias, cached
              + encoding.content_bias(l, q, k, ctx)       # [b, h, Lq, Lk] bias that reads q and all keys
        attn  = softmax(q·kᵀ · encoding.score_scale(d_h) + bias)
        out   = attn·v + encoding.value_term(l, attn, ctx)   # eager only (Shaw's value vectors)

Every hook has a no-op default, so an encoding overrides only what it changes. The attention
layer never learns *which* encoding it holds.

Positions are true positions (:class:`EncodingContext`): queries at ``q_positions`` [b|1, Lq],
keys at ``k_positions`` [b|1, Lk]. In an encoder both are the input's positions; in a cached
decoder step one query at t meets the keys at 0..t. When both are the plain ``arange`` shared by
the batch (``ctx.canonical``), an encoding may take a fast path (Toeplitz views, one [1, h, L, L]
bias for every layer); otherwise it reads the rows/offsets of the given positions.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
from torch import nn

EXTRAPOLATION = ("any", "clipped", "table")


@dataclass(frozen=True)
class NoOptions:
    """Options of an encoding that takes none."""


def is_arange(positions: torch.Tensor) -> bool:
    """True when every row of ``positions`` [b|1, L] is 0..L−1 (reads the tensor on the host;
    False under ``torch.compile`` so compiled graphs take the general path without a sync)."""
    if torch.compiler.is_compiling():
        return False
    n = positions.shape[-1]
    return bool((positions == torch.arange(n, device=positions.device)).all())


@dataclass
class EncodingContext:
    """What the encodings see during one forward pass of one attention stack.

    ``position_ids`` (alias ``q_positions``): [b|1, Lq] long, positions of the tokens this forward
    embeds, which are also the queries (``seq_len`` = Lq). Default: 0..Lq−1.
    ``k_positions``: [b|1, Lk] long, positions of every key attended to (default: the same as the
    queries; a cached decoder step passes 0..t). ``causal``: keys after their query are masked
    (decoder self-attention). ``canonical``: queries at 0..Lq−1 and keys at 0..Lk−1, one row shared
    by the batch, so fast paths apply (None: inferred from the tensors, one host read).
    ``token_type_ids``: [b, L] segment ids or None. ``attention_mask``: [b, Lk] 1 = real key.
    ``state``: per-encoding scratch space filled by :meth:`Encoding.prepare`.
    ``qk_projection``: x [..., d] → (x·W_Q + b_Q, x·W_K + b_K) of the self-attention layer now
    calling ``content_bias``; each layer sets it before the call (DeBERTa's shared keys project
    the relative table with the layer's own content projections).
    """

    batch_size: int
    seq_len: int
    device: torch.device
    dtype: torch.dtype
    position_ids: torch.Tensor | None = None
    token_type_ids: torch.Tensor | None = None
    attention_mask: torch.Tensor | None = None
    k_positions: torch.Tensor | None = None
    causal: bool = False
    canonical: bool | None = None
    state: dict[Any, Any] = field(default_factory=dict)
    qk_projection: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None

    def __post_init__(self):
        if self.position_ids is None:
            self.position_ids = torch.arange(self.seq_len, device=self.device)[None]
            if self.k_positions is None and self.canonical is None:
                self.canonical = True
        if self.k_positions is None:
            self.k_positions = self.position_ids
        if self.canonical is None:
            self.canonical = is_arange(self.position_ids) and (
                self.k_positions is self.position_ids or is_arange(self.k_positions))

    @property
    def q_positions(self) -> torch.Tensor:
        """[b|1, Lq] query positions (the same tensor as ``position_ids``)."""
        return self.position_ids

    @property
    def key_len(self) -> int:
        return self.k_positions.shape[-1]

    def relative_positions(self) -> torch.Tensor:
        """[b|1, Lq, Lk] signed offsets j − i = k_position − q_position."""
        return self.k_positions[..., None, :] - self.q_positions[..., :, None]


class Encoding(nn.Module):
    """Base class of position and segment encodings (see module docstring for the hook order).

    Class attributes declare properties the test-suite checks, the model relies on, and
    ``posenc list`` shows:

    - ``paper_name``: display name in reports (e.g. "DIET-REL", "Shaw et al. (2018)").
    - ``family``: how position enters ("none", "input embedding", "absolute logit bias",
      "relative logit bias", "relative content term", "q/k rotation", "segment ...").
    - ``reads_positions``: the encoding uses positions at all (False only for NoPE-like encodings);
      options that change positions (e.g. randomized positions) apply exactly where this is true.
    - ``replaces_input_positions``: the encoder must not add any input position table.
    - ``translation_invariant``: outputs depend on positions only through i − j.
    - ``learnable``: has trained parameters (False: a fixed formula).
    - ``supports_bidirectional`` / ``supports_causal``: usable in an encoder / a causal decoder;
      configs refuse the other use with a clear error.
    - ``extrapolation``: "any" (a value for every position), "clipped" (offsets beyond a span reuse
      the edge value) or "table" (positions beyond ``max_length`` are refused).
    - ``content_dependent_bias``: ``content_bias`` reads q/k, so it cannot be cached per forward.
    - ``Options``: frozen dataclass of the user-settable options (validated at config time).
    - ``supports_projected_keys``: still valid when Linformer mixes keys along the sequence
      (None: inferred — true only for encodings that touch nothing but the input).
    - ``eager_reason`` (instance property): why the fused kernel cannot run it, or None.
    """

    name: ClassVar[str] = ""
    paper_name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    Options: ClassVar[type] = NoOptions
    reads_positions: ClassVar[bool] = True
    replaces_input_positions: ClassVar[bool] = True
    translation_invariant: ClassVar[bool] = False
    learnable: ClassVar[bool] = True
    supports_bidirectional: ClassVar[bool] = True
    supports_causal: ClassVar[bool] = True
    extrapolation: ClassVar[str] = "any"
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

    @classmethod
    def display_name(cls) -> str:
        return cls.paper_name or cls.name

    @classmethod
    def paper_label(cls, options: dict) -> str:
        """Report name for a configured encoding (``options``: its options as a dict); by default
        ``paper_name``. An encoding whose paper names variants by option overrides this."""
        return cls.display_name()

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        """The declared properties as a plain dict (``posenc list`` renders it as a table)."""
        return {
            "family": cls.family, "reads_positions": cls.reads_positions,
            "bidirectional": cls.supports_bidirectional, "causal": cls.supports_causal,
            "learnable": cls.learnable, "extrapolation": cls.extrapolation,
            "translation_invariant": cls.translation_invariant,
            "input_positions": not cls.replaces_input_positions,
            "fused_kernel": not cls._eager_by_default(),
        }

    @classmethod
    def _eager_by_default(cls) -> bool:
        """Whether the default options need the eager kernel (``eager_reason`` of a default instance)."""
        from types import SimpleNamespace

        tiny = SimpleNamespace(num_hidden_layers=1, num_attention_heads=2, hidden_size=8, max_position_embeddings=8,
                               layer_norm_eps=1e-12, type_vocab_size=2, attention="full")
        return cls(tiny, cls.Options()).eager_reason is not None

    # --- declared limits --------------------------------------------------------------
    @property
    def max_length(self) -> int | None:
        """Number of positions this encoding can represent, 0..max_length−1 (None: unlimited)."""
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
        """Refuse ``seq_len`` positions 0..seq_len−1 beyond the table, naming the fix."""
        limit = self.max_length
        if limit is not None and seq_len > limit:
            raise ValueError(
                f"sequence length {seq_len} exceeds the {self.name!r} table of {limit} positions; "
                f"truncate inputs to {limit} tokens or build the model with a larger "
                f"max_position_embeddings (or the encoding's max_length option)"
            )

    def check_positions(self, ctx: EncodingContext) -> None:
        """Refuse positions outside 0..max_length−1 (canonical positions: by length, no host read)."""
        if ctx.canonical:
            self.check_length(max(ctx.seq_len, ctx.key_len))
            return
        if torch.compiler.is_compiling():
            return
        low = int(min(ctx.q_positions.min(), ctx.k_positions.min()))
        if low < 0:
            raise ValueError(f"position_ids contain {low}; positions must be >= 0")
        top = int(max(ctx.q_positions.max(), ctx.k_positions.max()))
        limit = self.max_length
        if limit is not None and top >= limit:
            raise ValueError(
                f"position {top} exceeds the {self.name!r} table of {limit} positions (0..{limit - 1}); "
                f"shorten the input or build the model with a larger max_position_embeddings "
                f"(or the encoding's max_length option)"
            )

    # --- hooks (no-op defaults) -------------------------------------------------------
    def embed_input(self, x: torch.Tensor, ctx: EncodingContext) -> torch.Tensor:
        """Modify the input embeddings [b, Lq, d] of the tokens at ``ctx.position_ids``."""
        return x

    def prepare(self, ctx: EncodingContext) -> None:
        """Once per forward: precompute what does not depend on the layer input."""

    def layer_bias(self, layer: int, ctx: EncodingContext) -> torch.Tensor | None:
        """Content-independent additive logit bias [1|b, h, Lq, Lk] for ``layer`` (unscaled)."""
        return None

    def content_bias(self, layer: int, q: torch.Tensor, k: torch.Tensor, ctx: EncodingContext) -> torch.Tensor | None:
        """Additive logit bias from q [b, h, Lq, d_h] and all keys k [b, h, Lk, d_h] (cached ones
        included); returns [b, h, Lq, Lk] (already scaled). ``ctx.qk_projection`` is the calling
        layer's query/key projection."""
        return None

    def rotate_qk(self, layer: int, q: torch.Tensor, k: torch.Tensor, ctx: EncodingContext):
        """Transform the new tokens' q, k [b, h, Lq, d_h] (both at ``ctx.q_positions``), before
        keys enter a cache: cached keys are stored already transformed."""
        return q, k

    def score_scale(self, head_dim: int) -> float:
        """Multiplier of the token–token term q·kᵀ (BERT: 1/√d_h)."""
        return 1.0 / math.sqrt(head_dim)

    def value_term(self, layer: int, probs: torch.Tensor, ctx: EncodingContext) -> torch.Tensor | None:
        """Extra attention output [b, h, Lq, d_h] from the probabilities [b, h, Lq, Lk] (eager path only)."""
        return None

    def init_weights(self, std: float) -> None:
        """Initialise this encoding's own parameters (child Linear/Embedding/LayerNorm are
        handled by the model's ``_init_weights``)."""

    def bias_matrix(self, seq_len: int) -> torch.Tensor | None:
        """The learned content-independent position bias [layers_or_1, h, L, L] for plots."""
        if not self.has_layer_bias:
            return None
        ctx = EncodingContext(batch_size=1, seq_len=seq_len, device=_device_of(self), dtype=torch.float32)
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
    pre-trained without one leaves its function unchanged at step 0. A segment encoding may
    override every hook but ``score_scale`` (one number that the position encoding owns); the
    registry refuses one that does.
    """

    reads_positions = False

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


def toeplitz(by_offset: torch.Tensor, seq_len: int, key_len: int | None = None) -> torch.Tensor:
    """[..., Lq+Lk−1] values per offset j − i (index j − i + Lq − 1) → [..., Lq, Lk] with
    out[i, j] = v[j − i + Lq − 1] (Lk defaults to Lq).

    A strided view plus one flip: the backward is a strided sum over Lq+Lk−1 values per row instead
    of the scatter-add an [Lq, Lk] gather needs (several times slower on CPU). The result is
    contiguous (``by_offset`` is made contiguous first, a copy of Lq+Lk−1 values per row): a bias
    whose last stride is not 1 is copied again by the fused attention kernel in every layer.
    """
    key_len = seq_len if key_len is None else key_len
    return by_offset.contiguous().unfold(-1, key_len, 1).flip(-2)


def offsets_1d(seq_len: int, device, key_len: int | None = None) -> torch.Tensor:
    """The Lq+Lk−1 signed offsets j − i, from −(Lq−1) to Lk−1, in :func:`toeplitz` order."""
    key_len = seq_len if key_len is None else key_len
    return torch.arange(-(seq_len - 1), key_len, device=device)


def per_batch(index: torch.Tensor, batch: int, heads: int) -> torch.Tensor:
    """Broadcast an index [b|1, Lq, Lk] to [b, h, Lq, Lk] (a view) for ``gather`` on scores."""
    return index[:, None].expand(batch, heads, *index.shape[-2:])

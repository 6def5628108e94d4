"""``PosencSeq2SeqConfig``: a Transformer encoder-decoder (Vaswani et al. 2017) with one ``position``
slot used by both sides.

Defaults are transformer-base (Vaswani et al. 2017, Table 3): 6 + 6 layers, width 512, 8 heads,
FFN 2048, ReLU, dropout 0.1, post-LN, one shared vocabulary whose embedding is tied three ways
(encoder input, decoder input, output projection) and scaled by √d at the input.

The position encoding acts in encoder self-attention (bidirectional) and in decoder self-attention
(causal); each side builds its own instance of the same spec (own parameters: the two sides see
different languages and directions, as in T5, whose encoder and decoder have separate relative
biases). Cross-attention carries no position term unless ``cross_attention_position: bias``, which
adds the encoding's content-independent bias between target position i and source position j
(a third instance, same spec; only encodings with such a bias qualify).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transformers import PretrainedConfig

from ..encodings import check_supports, normalize_spec, parse_spec
from ..options import OptionError
from ..registry import did_you_mean
from .configuration import check_sizes
from .layers import check_layer_norm_position

CROSS_ATTENTION_POSITIONS = ("none", "bias")


@dataclass(frozen=True)
class StackConfig:
    """The size fields one side (encoder or decoder) is built from; what encodings and layers read.
    ``causal``: the encodings built from it serve causal self-attention (a decoder)."""

    num_hidden_layers: int
    num_attention_heads: int
    hidden_size: int
    intermediate_size: int
    hidden_act: str
    hidden_dropout_prob: float
    attention_probs_dropout_prob: float
    layer_norm_eps: float
    max_position_embeddings: int
    initializer_range: float
    layer_norm_position: str
    causal: bool = False
    type_vocab_size: int = 1
    attention: str = "full"


class PosencSeq2SeqConfig(PretrainedConfig):
    """Configuration of a posenc encoder-decoder (:class:`PosencForConditionalGeneration`).

    Args:
        position: position encoding name or ``{"name": ..., **options}``, used by encoder and decoder.
        cross_attention_position: ``"none"`` (default) or ``"bias"`` (see module docstring).
        encoder_layers / decoder_layers: depth of each side.
        layer_norm_position: ``"post"`` (default, the paper's era) or ``"pre"`` (final LayerNorm per side).
        scale_embedding: multiply token embeddings by √hidden_size (Vaswani et al. 2017, §3.4).
        max_position_embeddings: rows of absolute tables on each side (generate() also caps its default
            length, 20 new tokens, there).
        decoder_start_token_id: first decoder input (default: ``bos_token_id``); labels are shifted
            right behind it.
    """

    model_type = "posenc_seq2seq"
    keys_to_ignore_at_inference = ["cache"]
    attribute_map = {"num_hidden_layers": "encoder_layers"}

    def __init__(
        self,
        vocab_size: int = 32000,
        hidden_size: int = 512,
        encoder_layers: int = 6,
        decoder_layers: int = 6,
        num_attention_heads: int = 8,
        intermediate_size: int = 2048,
        hidden_act: str = "relu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.0,
        max_position_embeddings: int = 1024,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-5,
        position: Any = "sinusoidal",
        cross_attention_position: str = "none",
        layer_norm_position: str = "post",
        scale_embedding: bool = True,
        pad_token_id: int = 0,
        bos_token_id: int = 1,
        eos_token_id: int = 2,
        decoder_start_token_id: int | None = None,
        tie_word_embeddings: bool = True,
        is_encoder_decoder: bool = True,
        use_cache: bool = True,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.position = normalize_spec("position", position)
        check_supports("position", self.position, causal=False, where="the encoder (bidirectional self-attention)")
        check_supports("position", self.position, causal=True, where="the decoder (causal self-attention)")
        self.cross_attention_position = check_cross_attention_position(cross_attention_position, self.position)
        self.layer_norm_position = check_layer_norm_position(layer_norm_position)
        self.scale_embedding = scale_embedding
        self.use_cache = use_cache
        if decoder_start_token_id is None:
            decoder_start_token_id = bos_token_id
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         decoder_start_token_id=decoder_start_token_id, tie_word_embeddings=tie_word_embeddings,
                         is_encoder_decoder=is_encoder_decoder, **kwargs)
        self.validate_sizes()

    def validate_sizes(self) -> None:
        check_sizes(self, ("vocab_size", "hidden_size", "encoder_layers", "decoder_layers", "num_attention_heads",
                           "intermediate_size", "max_position_embeddings"))
        for name in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < self.vocab_size:
                raise ValueError(f"{name} {value} is outside the vocabulary 0..{self.vocab_size - 1}")

    def side(self, which: str) -> StackConfig:
        """The :class:`StackConfig` of ``"encoder"``, ``"decoder"`` (causal) or ``"cross"`` (the decoder's
        cross-attention: decoder depth, bidirectional)."""
        return StackConfig(
            num_hidden_layers=self.encoder_layers if which == "encoder" else self.decoder_layers,
            num_attention_heads=self.num_attention_heads, hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size, hidden_act=self.hidden_act,
            hidden_dropout_prob=self.hidden_dropout_prob, attention_probs_dropout_prob=self.attention_probs_dropout_prob,
            layer_norm_eps=self.layer_norm_eps, max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range, layer_norm_position=self.layer_norm_position,
            causal=which == "decoder")


def check_cross_attention_position(value: str, position: dict) -> str:
    if value not in CROSS_ATTENTION_POSITIONS:
        raise OptionError(f"cross_attention_position must be one of {', '.join(CROSS_ATTENTION_POSITIONS)}, got "
                          f"{value!r}.{did_you_mean(str(value), list(CROSS_ATTENTION_POSITIONS))}")
    if value == "bias":
        from ..encodings import POSITION_ENCODINGS

        cls, _ = parse_spec("position", position)
        if not cls.has_layer_bias:
            usable = [n for n in POSITION_ENCODINGS.names() if POSITION_ENCODINGS.get(n).has_layer_bias]
            raise OptionError(
                f"cross_attention_position 'bias' needs a position encoding with a content-independent logit bias; "
                f"{cls.name!r} has none. Use one of: {', '.join(usable)}, or cross_attention_position 'none'")
    return value

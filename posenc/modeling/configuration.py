"""``PosencConfig``: BERT's size fields plus one ``position`` and one ``segment`` slot.

Each slot is a registry name or ``{"name": ..., **options}``; it is validated when the config
is built (unknown names/options fail with the closest match) and stored as a plain JSON dict
with every option resolved, so ``save_pretrained``/``from_pretrained`` round-trip it.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

from ..encodings import check_supports, normalize_spec
from .layers import check_layer_norm_position
from .linformer import check_attention_compatible, normalize_attention

SIZE_PRESETS: dict[str, dict[str, int]] = {
    # a few-minute CPU model for tests and the quickstart
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512),
    # the paper's BERT_SMALL (timing only in the paper): d=512, L=4, h=8
    "small": dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, intermediate_size=2048),
    # BERT_BASE: d=768, L=12, h=12
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


def size_preset(name: str) -> dict[str, int]:
    """Size fields of a named preset (``tiny``, ``small`` = BERT_SMALL, ``base`` = BERT_BASE)."""
    from ..registry import did_you_mean

    if name not in SIZE_PRESETS:
        raise ValueError(f"unknown size preset {name!r}.{did_you_mean(name, list(SIZE_PRESETS))} Known: {', '.join(SIZE_PRESETS)}")
    return dict(SIZE_PRESETS[name])


class PosencConfig(PretrainedConfig):
    """Configuration of a posenc encoder (field names as in ``BertConfig``).

    Args:
        position: position encoding name or ``{"name": ..., **options}`` (see ``posenc.list_encodings()``).
        segment: segment encoding name or mapping (``none``, ``input``, ``diet``).
        attention: ``"full"`` (default) or ``{"name": "linformer", "k": 32, "sharing": "layer"|"none"}``
            (keys/values projected along the sequence; see :mod:`posenc.modeling.linformer`).
        max_position_embeddings: rows of absolute tables (``absolute``, ``diet_abs``, ``tupe``) and
            the default span of relative tables.
        layer_norm_position: ``"post"`` (default; BERT: x = LN(x + f(x))) or ``"pre"``
            (x = x + f(LN(x)), plus a final LayerNorm after the last layer).
    """

    model_type = "posenc"

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        pad_token_id: int | None = 0,
        position: Any = "absolute",
        segment: Any = "input",
        classifier_dropout: float | None = None,
        tie_word_embeddings: bool = True,
        attention: Any = "full",
        layer_norm_position: str = "post",
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.classifier_dropout = classifier_dropout
        self.position = normalize_spec("position", position)
        self.segment = normalize_spec("segment", segment)
        self.attention = normalize_attention(attention)
        self.layer_norm_position = check_layer_norm_position(layer_norm_position)
        check_attention_compatible(self.attention, self.position, self.segment)
        check_supports("position", self.position, causal=False, where="an encoder (bidirectional attention)")
        super().__init__(pad_token_id=pad_token_id, tie_word_embeddings=tie_word_embeddings, **kwargs)
        self.validate_sizes()

    def validate_sizes(self) -> None:
        check_sizes(self, ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                           "intermediate_size", "max_position_embeddings", "type_vocab_size"))


def check_sizes(config, names: tuple[str, ...]) -> None:
    """Heads divide the width, and every field in ``names`` is a positive integer."""
    if config.hidden_size % config.num_attention_heads:
        raise ValueError(
            f"hidden_size {config.hidden_size} is not divisible by num_attention_heads "
            f"{config.num_attention_heads}; pick a head count that divides it"
        )
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")

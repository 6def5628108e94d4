"""The implementations a user would pick instead of posenc, built at the benchmark's shape.

Each peer gets a fresh config object (transformers v5 shares a config passed to ``from_config``
between models, docs/training.md "Pitfalls of the stack") and the fused kernel (``sdpa``) where the class supports it;
the kernel it really runs is reported. Differences that are part of the peer's design, not of
the benchmark, are listed in ``notes``:

- ``bert``: ``BertModel`` (learned absolute table, token types): the baseline of Table 1.
- ``deberta_v2``: ``DebertaV2Model`` with ``relative_attention=True, pos_att_type=["c2p", "p2c"]``,
  no input positions, no log buckets (``position_buckets=-1``) and ``max_relative_positions =
  max_position_embeddings`` — the same choices as posenc's ``deberta`` defaults.
- ``t5``: ``T5EncoderModel`` with ``d_kv = d/h``, ``d_ff``, ``feed_forward_proj="gelu"``, 32 buckets,
  max distance 128; T5 has RMSNorm (pre-norm), no biases and no token-type embedding.
- ``roformer``: ``RoFormerModel`` (rotary q/k, token types), same sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..registry import Registry

PEERS: Registry[Callable] = Registry("benchmark peer")


@dataclass
class Peer:
    """A built peer model and what the report says about it."""

    model: object
    kernel: str
    counterpart: str  # the posenc encoding it competes with
    notes: str
    uses_token_types: bool = True


def _build(model_cls, config, attn: str = "sdpa"):
    impl = attn if getattr(model_cls, "_supports_sdpa", False) else "eager"
    model = model_cls._from_config(config, attn_implementation=impl)
    return model, model.config._attn_implementation


@PEERS.register("bert")
def bert(shape, max_len: int) -> Peer:
    from transformers import BertConfig, BertModel

    cfg = BertConfig(**shape.sizes(), max_position_embeddings=max_len)
    model, kernel = _build(BertModel, cfg)
    return Peer(model, kernel, "absolute", "HF BertModel")


@PEERS.register("deberta_v2")
def deberta_v2(shape, max_len: int) -> Peer:
    from transformers import DebertaV2Config, DebertaV2Model

    cfg = DebertaV2Config(**shape.sizes(), max_position_embeddings=max_len, type_vocab_size=2,
                          relative_attention=True, pos_att_type=["c2p", "p2c"], position_biased_input=False,
                          max_relative_positions=-1, position_buckets=-1)
    model, kernel = _build(DebertaV2Model, cfg)
    return Peer(model, kernel, "deberta", f"HF DebertaV2Model c2p+p2c, k={max_len}, no buckets")


@PEERS.register("t5")
def t5(shape, max_len: int) -> Peer:
    from transformers import T5Config, T5EncoderModel

    cfg = T5Config(vocab_size=shape.vocab_size, d_model=shape.hidden_size, d_kv=shape.head_dim,
                   d_ff=shape.intermediate_size, num_layers=shape.num_hidden_layers,
                   num_heads=shape.num_attention_heads, feed_forward_proj="gelu",
                   relative_attention_num_buckets=32, relative_attention_max_distance=128,
                   is_encoder_decoder=False, use_cache=False)
    model, kernel = _build(T5EncoderModel, cfg)
    return Peer(model, kernel, "t5", "HF T5EncoderModel (RMSNorm, no biases, no token types)", uses_token_types=False)


@PEERS.register("roformer")
def roformer(shape, max_len: int) -> Peer:
    from transformers import RoFormerConfig, RoFormerModel

    cfg = RoFormerConfig(**shape.sizes(), max_position_embeddings=max_len)
    model, kernel = _build(RoFormerModel, cfg)
    return Peer(model, kernel, "rotary", "HF RoFormerModel")


def build_peer(name: str, shape, max_len: int) -> Peer:
    """Build peer ``name`` (``bert``, ``deberta_v2``, ``t5``, ``roformer``) at ``shape``."""
    return PEERS.get(name)(shape, max_len)

"""Load DeBERTa-v2/v3 checkpoints into posenc (``position: deberta``) through an explicit name map
with shape checks.

``from_deberta(x)`` accepts a transformers ``DebertaV2Model`` / ``DebertaV2ForMaskedLM``, a state
dict with its config, a local directory or a Hub id, and returns a ``PosencModel`` (no pooler:
``DebertaV2Model`` has none) or a ``PosencForMaskedLM`` computing the same function: the
``deberta`` encoding's options come from the config (``pos_att_type`` → ``terms``,
``position_buckets``, ``max_relative_positions`` (−1: ``max_position_embeddings``),
``share_att_key``, ``norm_rel_ebd``), token types map to ``segment: input`` (or ``none`` when
``type_vocab_size`` is 0).

What does not map is refused with the reason: DeBERTa v1 (``model_type: deberta``), no relative
attention, an absolute table at the input as well (``position_biased_input: true``), the
convolution of DeBERTa-v2-xlarge (``conv_kernel_size``), factorised embeddings
(``embedding_size`` ≠ ``hidden_size``), a head size other than d/h, and task heads other than
the MLM head (``ContextPooler`` has no posenc counterpart). The replaced-token-detection head of
ELECTRA-style checkpoints (``mask_predictions.*``) is dropped, as transformers drops it.

Padded positions: DeBERTa zeroes their embeddings and lets their (fully masked) queries attend
uniformly; posenc lets them attend to the real tokens. Outputs at real tokens are the same; the
values at padded positions are meaningless in both and differ.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .checkpoints import (CheckpointConversionError, bert_layout_map, finish_conversion, load_checkpoint, map_state_dict,
                          rename_legacy_layer_norm)
from .configuration import PosencConfig

_CONFIG_FIELDS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "initializer_range",
    "layer_norm_eps", "pad_token_id",
)
# present in DeBERTa checkpoints, with no posenc counterpart on purpose (transformers ignores them too)
_IGNORABLE = re.compile(r"(^|\.)embeddings\.position_ids$|^mask_predictions\.|^cls\.predictions\.decoder\.bias$"
                        r"|(^|\.)embeddings\.position_embeddings\.weight$")


class DebertaConversionError(CheckpointConversionError):
    """A DeBERTa checkpoint that does not map onto posenc (names the reason or the offending keys)."""


def _terms(value) -> str:
    kinds = [t.strip().lower() for t in (value.split("|") if isinstance(value, str) else (value or []))]
    kinds = [t for t in kinds if t]
    unknown = sorted(set(kinds) - {"c2p", "p2c"})
    if unknown:
        raise DebertaConversionError(f"pos_att_type {value!r} has {', '.join(unknown)}; posenc's deberta computes c2p and p2c only")
    if not kinds:
        raise DebertaConversionError("pos_att_type is empty: the checkpoint's attention has no position term")
    return "|".join(t for t in ("c2p", "p2c") if t in kinds)


def deberta_position_spec(cfg: Mapping[str, Any]) -> dict:
    """The ``deberta`` encoding spec computing what a DebertaV2 config computes (or a clear refusal)."""
    refuse = []
    if cfg.get("model_type", "deberta-v2") != "deberta-v2":
        refuse.append(f"model_type {cfg.get('model_type')!r}: only DeBERTa-v2/v3 ('deberta-v2') checkpoints map "
                      f"(DeBERTa v1 projects q/k/v with one in_proj and separate biases)")
    if not cfg.get("relative_attention", False):
        refuse.append("relative_attention is false: the model has no disentangled attention to map onto 'deberta'")
    if cfg.get("position_biased_input", True):
        refuse.append("position_biased_input is true: the model adds an absolute position table at the input as well "
                      "as relative attention, and posenc has one position slot")
    if (cfg.get("conv_kernel_size") or 0) > 0:
        refuse.append(f"conv_kernel_size={cfg['conv_kernel_size']}: DeBERTa-v2's convolution after the first layer has "
                      f"no posenc counterpart")
    if cfg.get("embedding_size") not in (None, cfg.get("hidden_size")):
        refuse.append(f"embedding_size={cfg['embedding_size']} differs from hidden_size={cfg.get('hidden_size')} "
                      f"(a projected embedding has no posenc counterpart)")
    head = cfg.get("attention_head_size")
    if head is not None and head * cfg["num_attention_heads"] != cfg["hidden_size"]:
        refuse.append(f"attention_head_size={head} is not hidden_size / num_attention_heads")
    if refuse:
        raise DebertaConversionError("cannot convert this DeBERTa checkpoint:\n  - " + "\n  - ".join(refuse))
    k = cfg.get("max_relative_positions", -1)
    k = cfg["max_position_embeddings"] if k is None or k < 1 else k
    buckets = cfg.get("position_buckets", -1)
    norm = [x.strip() for x in str(cfg.get("norm_rel_ebd", "none")).lower().split("|")]
    return {"name": "deberta", "terms": _terms(cfg.get("pos_att_type")), "position_buckets": max(buckets, 0),
            "max_relative_positions": int(k), "share_att_key": bool(cfg.get("share_att_key", False)),
            "rel_layer_norm": "layer_norm" in norm, "p2c_index": "reference"}


def deberta_key_map(num_layers: int, prefix: str, share_att_key: bool) -> dict[str, list[str]]:
    """posenc key (inside ``PosencModel``) → DeBERTa keys it is built from (several: concatenated)."""
    p = prefix
    m = bert_layout_map(prefix, num_layers, ("query_proj", "key_proj", "value_proj"))
    m.update({
        "position_encoding.rel_embeddings.weight": [f"{p}encoder.rel_embeddings.weight"],
        "position_encoding.rel_norm.weight": [f"{p}encoder.LayerNorm.weight"],
        "position_encoding.rel_norm.bias": [f"{p}encoder.LayerNorm.bias"],
    })
    for i in range(num_layers):
        for kind in ("weight", "bias"):
            if not share_att_key:
                m[f"position_encoding.pos_k.{i}.{kind}"] = [f"{p}encoder.layer.{i}.attention.self.pos_key_proj.{kind}"]
                m[f"position_encoding.pos_q.{i}.{kind}"] = [f"{p}encoder.layer.{i}.attention.self.pos_query_proj.{kind}"]
    return m


def _mlm_head_map(sd: Mapping[str, Any]) -> dict[str, list[str]]:
    """The legacy head (``cls.predictions.*``, a BERT-style head whose decoder is tied to the word
    embeddings) or the v3 head (``lm_predictions.lm_head.*``, the same function)."""
    if any(k.startswith("lm_predictions.") for k in sd):
        h = "lm_predictions.lm_head."
        return {"lm_head.dense.weight": [f"{h}dense.weight"], "lm_head.dense.bias": [f"{h}dense.bias"],
                "lm_head.norm.weight": [f"{h}LayerNorm.weight"], "lm_head.norm.bias": [f"{h}LayerNorm.bias"],
                "lm_head.bias": [f"{h}bias"]}
    h = "cls.predictions."
    return {"lm_head.dense.weight": [f"{h}transform.dense.weight"], "lm_head.dense.bias": [f"{h}transform.dense.bias"],
            "lm_head.norm.weight": [f"{h}transform.LayerNorm.weight"], "lm_head.norm.bias": [f"{h}transform.LayerNorm.bias"],
            "lm_head.bias": [f"{h}bias"], "lm_head.decoder.weight": [f"{h}decoder.weight"]}


def from_deberta(source, **config_overrides):
    """Convert a DeBERTa-v2/v3 checkpoint to the equivalent posenc model (see module docstring).

    ``config_overrides`` are applied to the derived ``PosencConfig``. Raises
    :class:`DebertaConversionError` naming what does not map, unmatched keys or mismatched shapes.
    """
    from .modeling import PosencForMaskedLM, PosencModel

    sd, cfg = load_checkpoint(source, "DeBERTa-v2", DebertaConversionError)
    sd = rename_legacy_layer_norm(sd)
    position = deberta_position_spec(cfg)
    prefix = "deberta." if any(k.startswith("deberta.") for k in sd) else ""
    heads = sorted({k.split(".")[0] for k in sd if not k.startswith(("deberta.", "embeddings.", "encoder."))
                    and not _IGNORABLE.search(k)} - {"cls", "lm_predictions"})
    if heads:
        raise DebertaConversionError(
            f"cannot convert this DeBERTa checkpoint: task head(s) {', '.join(heads)} have no posenc counterpart "
            f"(DeBERTa's ContextPooler differs from posenc's pooler); convert the base model "
            f"(DebertaV2Model or the masked-LM checkpoint) and fine-tune a posenc head")
    segments = int(cfg.get("type_vocab_size", 0) or 0)
    kwargs = {k: cfg[k] for k in _CONFIG_FIELDS if k in cfg}
    kwargs.update(type_vocab_size=max(segments, 1), tie_word_embeddings=True)
    kwargs.update(config_overrides)
    config = PosencConfig(position=position, segment="input" if segments > 0 else "none", **kwargs)

    mlm = any(k.startswith(("cls.predictions.", "lm_predictions.")) for k in sd)
    model, base = (PosencForMaskedLM(config), "posenc.") if mlm else (PosencModel(config, add_pooling_layer=False), "")
    key_map = {base + k: v for k, v in deberta_key_map(config.num_hidden_layers, prefix, position["share_att_key"]).items()}
    if mlm:
        key_map.update(_mlm_head_map(sd))
    tied = {"lm_head.decoder.weight"}  # tied to the word embeddings; absent from v3 heads and from v5 files
    target = model.state_dict()
    new_sd, used, problems = map_state_dict(sd, key_map, target, optional=tied)
    decoder = new_sd.get("lm_head.decoder.weight")
    if decoder is not None and not bool((decoder == new_sd.get(base + "word_embeddings.weight", decoder)).all()):
        problems.append("cls.predictions.decoder.weight differs from the word embeddings (an untied decoder); "
                        "posenc's MLM head is tied")
    return finish_conversion(model, sd, new_sd, used, problems, _IGNORABLE, tied, "DeBERTa", DebertaConversionError)

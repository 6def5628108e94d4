"""Load BERT checkpoints into posenc through an explicit name map with shape checks.

``from_bert(x)`` accepts a transformers BERT model, a state dict (with its config), a local
directory or a Hub id, and returns the matching posenc model (``PosencModel``,
``PosencForMaskedLM`` or ``PosencForSequenceClassification``) with ``position: absolute`` and
``segment: input`` — or ``position: shaw`` for checkpoints trained with transformers v4's
``relative_key`` / ``relative_key_query`` (removed in v5: their ``distance_embedding`` tensors load
into Shaw's key table, clip k = max_position_embeddings − 1, key_query for ``relative_key_query``).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping

import torch

from .checkpoints import (CheckpointConversionError, bert_layout_map, finish_conversion, load_checkpoint, map_state_dict,
                          rename_legacy_layer_norm)
from .configuration import PosencConfig

logger = logging.getLogger(__name__)

_CONFIG_FIELDS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
    "initializer_range", "layer_norm_eps", "pad_token_id", "classifier_dropout",
)
# present in BERT checkpoints, with no posenc counterpart on purpose
_IGNORABLE = re.compile(r"(^|\.)embeddings\.position_ids$|^cls\.seq_relationship\.|^cls\.predictions\.decoder\.bias$")


class BertConversionError(CheckpointConversionError):
    """A BERT checkpoint that does not map onto posenc (names the offending keys)."""


def _position_spec(cfg: Mapping[str, Any]) -> Any:
    kind = cfg.get("position_embedding_type", "absolute") or "absolute"
    if kind == "absolute":
        return "absolute"
    if kind in ("relative_key", "relative_key_query"):
        return {"name": "shaw", "clip": int(cfg["max_position_embeddings"]) - 1, "key_query": kind == "relative_key_query"}
    raise BertConversionError(f"unsupported position_embedding_type {kind!r}; expected absolute, relative_key or relative_key_query")


def bert_key_map(num_layers: int, prefix: str, shaw: bool) -> dict[str, list[str]]:
    """posenc key (inside ``PosencModel``) → BERT keys it is built from (several: concatenated)."""
    p = prefix
    m = bert_layout_map(prefix, num_layers, ("query", "key", "value"))
    if not shaw:
        m["position_encoding.table.weight"] = [f"{p}embeddings.position_embeddings.weight"]
    m["pooler.weight"] = [f"{p}pooler.dense.weight"]
    m["pooler.bias"] = [f"{p}pooler.dense.bias"]
    return m


def from_bert(source, **config_overrides):
    """Convert a BERT checkpoint to the equivalent posenc model (see module docstring).

    ``config_overrides`` (e.g. ``num_labels=3``) are applied to the derived ``PosencConfig``.
    Raises :class:`BertConversionError` listing unmatched keys or mismatched shapes.
    """
    from .modeling import PosencForMaskedLM, PosencForSequenceClassification, PosencModel

    sd, bert_cfg = load_checkpoint(source, "BERT", BertConversionError)
    sd = rename_legacy_layer_norm(sd)
    prefix = "bert." if any(k.startswith("bert.") for k in sd) else ""
    position = _position_spec(bert_cfg)
    shaw = isinstance(position, dict)
    cfg_kwargs = {k: bert_cfg[k] for k in _CONFIG_FIELDS if k in bert_cfg}
    if any(k.startswith("classifier.") for k in sd):
        cfg_kwargs["num_labels"] = sd["classifier.weight"].shape[0]
        for k in ("id2label", "label2id", "problem_type"):
            if bert_cfg.get(k) is not None:
                cfg_kwargs[k] = bert_cfg[k]
    cfg_kwargs.update(config_overrides)
    config = PosencConfig(position=position, segment="input", **cfg_kwargs)

    has_pooler = f"{prefix}pooler.dense.weight" in sd
    if any(k.startswith("cls.predictions.") for k in sd):
        model, base = PosencForMaskedLM(config), "posenc."
    elif "classifier.weight" in sd:
        model, base = PosencForSequenceClassification(config), "posenc."
    else:
        model, base = PosencModel(config, add_pooling_layer=has_pooler), ""

    key_map = {base + k: v for k, v in bert_key_map(config.num_hidden_layers, prefix, shaw).items()}
    if not has_pooler or base == "posenc." and getattr(model.posenc, "pooler", None) is None:
        key_map = {k: v for k, v in key_map.items() if ".pooler." not in f".{k}"}
    key_map.update({
        "lm_head.dense.weight": ["cls.predictions.transform.dense.weight"],
        "lm_head.dense.bias": ["cls.predictions.transform.dense.bias"],
        "lm_head.norm.weight": ["cls.predictions.transform.LayerNorm.weight"],
        "lm_head.norm.bias": ["cls.predictions.transform.LayerNorm.bias"],
        "lm_head.bias": ["cls.predictions.bias"],
        "lm_head.decoder.weight": ["cls.predictions.decoder.weight"],
        "classifier.weight": ["classifier.weight"],
        "classifier.bias": ["classifier.bias"],
    })
    target = model.state_dict()
    # the decoder is tied to the word embeddings: transformers v5 does not save it
    tied = {"lm_head.decoder.weight"}
    new_sd, used, problems = map_state_dict(sd, key_map, target, optional=tied)
    if shaw:
        tables = []
        for i in range(config.num_hidden_layers):
            name = f"{prefix}encoder.layer.{i}.attention.self.distance_embedding.weight"
            if name not in sd:
                problems.append(f"relative checkpoint lacks {name}")
                continue
            used.add(name)
            # BERT indexes the table by (i − j) + n − 1, Shaw's by clip(j − i) + k: reverse the rows
            tables.append(sd[name].flip(0))
        unused_abs = f"{prefix}embeddings.position_embeddings.weight"
        used.add(unused_abs)  # v4 kept (but never used) the absolute table for relative models
        if tables:
            stacked = torch.stack(tables)
            key = base + "position_encoding.key_table"
            if tuple(stacked.shape) != tuple(target[key].shape):
                problems.append(f"distance_embedding tables have shape {tuple(stacked.shape)}, posenc {key} expects {tuple(target[key].shape)}")
            else:
                new_sd[key] = stacked
    return finish_conversion(model, sd, new_sd, used, problems, _IGNORABLE, tied, "BERT", BertConversionError)

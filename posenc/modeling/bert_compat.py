"""Load BERT checkpoints into posenc through an explicit name map with shape checks.

``from_bert(x)`` accepts a transformers BERT model, a state dict (with its config), a local
directory or a Hub id, and returns the matching posenc model (``PosencModel``,
``PosencForMaskedLM`` or ``PosencForSequenceClassification``) with ``position: absolute`` and
``segment: input`` — or ``position: shaw`` for checkpoints trained with transformers v4's
``relative_key`` / ``relative_key_query`` (removed in v5: their ``distance_embedding`` tensors load
into Shaw's key table, clip k = max_position_embeddings − 1, key_query for ``relative_key_query``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any, Mapping

import torch

from .configuration import PosencConfig

logger = logging.getLogger(__name__)

_CONFIG_FIELDS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
    "initializer_range", "layer_norm_eps", "pad_token_id", "classifier_dropout",
)
# present in BERT checkpoints, with no posenc counterpart on purpose
_IGNORABLE = re.compile(r"(^|\.)embeddings\.position_ids$|^cls\.seq_relationship\.|^cls\.predictions\.decoder\.bias$")


class BertConversionError(ValueError):
    """A BERT checkpoint that does not map onto posenc (names the offending keys)."""


def _load_source(source) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, config dict) from a model, a (state_dict, config) pair, a directory or a Hub id."""
    if isinstance(source, torch.nn.Module):
        return dict(source.state_dict()), source.config.to_dict()
    if isinstance(source, tuple) and len(source) == 2:
        sd, cfg = source
        return dict(sd), (cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg))
    if isinstance(source, (str, os.PathLike)):
        return _load_path(str(source))
    raise TypeError(
        "from_bert expects a transformers BERT model, a (state_dict, config) pair, a local directory or a Hub id; "
        f"got {type(source).__name__}"
    )


def _load_path(path: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    def fetch(name):
        if os.path.isdir(path):
            p = os.path.join(path, name)
            return p if os.path.exists(p) else None
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        try:
            return hf_hub_download(path, name)
        except EntryNotFoundError:
            return None

    cfg_file = fetch("config.json")
    if cfg_file is None:
        raise BertConversionError(f"{path}: no config.json; pass a BERT checkpoint directory or Hub id")
    with open(cfg_file, encoding="utf-8") as f:
        cfg = json.load(f)
    st = fetch("model.safetensors")
    if st is not None:
        from safetensors.torch import load_file

        return load_file(st), cfg
    binf = fetch("pytorch_model.bin")
    if binf is None:
        raise BertConversionError(f"{path}: neither model.safetensors nor pytorch_model.bin found")
    return torch.load(binf, map_location="cpu", weights_only=True), cfg


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
    m = {
        "word_embeddings.weight": [f"{p}embeddings.word_embeddings.weight"],
        "segment_encoding.weight": [f"{p}embeddings.token_type_embeddings.weight"],
        "embed_norm.weight": [f"{p}embeddings.LayerNorm.weight"],
        "embed_norm.bias": [f"{p}embeddings.LayerNorm.bias"],
    }
    if not shaw:
        m["position_encoding.table.weight"] = [f"{p}embeddings.position_embeddings.weight"]
    for i in range(num_layers):
        b, o = f"{p}encoder.layer.{i}.", f"layers.{i}."
        for kind in ("weight", "bias"):
            m[f"{o}attention.qkv.{kind}"] = [f"{b}attention.self.{n}.{kind}" for n in ("query", "key", "value")]
            m[f"{o}attention.out.{kind}"] = [f"{b}attention.output.dense.{kind}"]
            m[f"{o}attention_norm.{kind}"] = [f"{b}attention.output.LayerNorm.{kind}"]
            m[f"{o}ffn_in.{kind}"] = [f"{b}intermediate.dense.{kind}"]
            m[f"{o}ffn_out.{kind}"] = [f"{b}output.dense.{kind}"]
            m[f"{o}ffn_norm.{kind}"] = [f"{b}output.LayerNorm.{kind}"]
    m["pooler.weight"] = [f"{p}pooler.dense.weight"]
    m["pooler.bias"] = [f"{p}pooler.dense.bias"]
    return m


def _rename_legacy(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # TF-era checkpoints name LayerNorm parameters gamma/beta
    return {re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", k)): v
            for k, v in sd.items()}


def from_bert(source, **config_overrides):
    """Convert a BERT checkpoint to the equivalent posenc model (see module docstring).

    ``config_overrides`` (e.g. ``num_labels=3``) are applied to the derived ``PosencConfig``.
    Raises :class:`BertConversionError` listing unmatched keys or mismatched shapes.
    """
    from .modeling import PosencForMaskedLM, PosencForSequenceClassification, PosencModel

    sd, bert_cfg = _load_source(source)
    sd = _rename_legacy(sd)
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
    key_map = {k: v for k, v in key_map.items() if k in target}

    new_sd, used, problems = {}, set(), []
    for key, sources in key_map.items():
        missing = [s for s in sources if s not in sd]
        if missing:
            if key == base + "lm_head.decoder.weight":  # tied: may be absent from the file
                continue
            problems.append(f"posenc {key} needs BERT {', '.join(missing)} (not in the checkpoint)")
            continue
        tensor = torch.cat([sd[s] for s in sources], dim=0) if len(sources) > 1 else sd[sources[0]]
        used.update(sources)
        if tuple(tensor.shape) != tuple(target[key].shape):
            problems.append(f"{' + '.join(sources)} has shape {tuple(tensor.shape)}, posenc {key} expects {tuple(target[key].shape)}")
            continue
        new_sd[key] = tensor
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
    unmatched = sorted(k for k in sd if k not in used and not _IGNORABLE.search(k))
    if unmatched:
        problems.append("BERT keys with no posenc counterpart: " + ", ".join(unmatched))
    not_loaded = sorted(k for k in target if k not in new_sd and k != base + "lm_head.decoder.weight")
    if not_loaded and not problems:
        problems.append("posenc parameters not filled from the checkpoint: " + ", ".join(not_loaded))
    if problems:
        raise BertConversionError("cannot convert this BERT checkpoint:\n  - " + "\n  - ".join(problems))
    model.load_state_dict(new_sd, strict=False)
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    model.eval()
    return model

"""Shared machinery of the checkpoint converters (``from_bert``, ``from_deberta``): read a checkpoint
from wherever it is, and fill a posenc model through an explicit name map with shape checks.

A name map is ``{posenc key: [checkpoint keys]}``; several checkpoint keys are concatenated along
dim 0 (BERT's and DeBERTa's separate query/key/value projections → posenc's fused ``qkv``). Every
problem is collected, then reported at once: missing keys, shape mismatches, checkpoint keys with
no counterpart, posenc parameters left unfilled.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import torch


class CheckpointConversionError(ValueError):
    """A checkpoint that does not map onto posenc (names the offending keys)."""


def load_checkpoint(source, family: str, error=CheckpointConversionError) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, config dict) from a transformers model, a ``(state_dict, config)`` pair, a local
    directory (``config.json`` + ``model.safetensors`` or ``pytorch_model.bin``) or a Hub id."""
    if isinstance(source, torch.nn.Module):
        return dict(source.state_dict()), source.config.to_dict()
    if isinstance(source, tuple) and len(source) == 2:
        sd, cfg = source
        return dict(sd), (cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg))
    if isinstance(source, (str, os.PathLike)):
        return _load_path(str(source), family, error)
    raise TypeError(
        f"expected a transformers {family} model, a (state_dict, config) pair, a local directory or a Hub id; "
        f"got {type(source).__name__}")


def _load_path(path: str, family: str, error) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
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
        raise error(f"{path}: no config.json; pass a {family} checkpoint directory or Hub id")
    with open(cfg_file, encoding="utf-8") as f:
        cfg = json.load(f)
    st = fetch("model.safetensors")
    if st is not None:
        from safetensors.torch import load_file

        return load_file(st), cfg
    binf = fetch("pytorch_model.bin")
    if binf is None:
        raise error(f"{path}: neither model.safetensors nor pytorch_model.bin found")
    return torch.load(binf, map_location="cpu", weights_only=True), cfg


def bert_layout_map(prefix: str, num_layers: int, qkv: tuple[str, str, str]) -> dict[str, list[str]]:
    """Embeddings and encoder layers named as in BERT (which DeBERTa-v2 follows) → posenc keys;
    ``qkv``: the names of the query, key and value projections under ``attention.self``."""
    p = prefix
    m = {
        "word_embeddings.weight": [f"{p}embeddings.word_embeddings.weight"],
        "segment_encoding.weight": [f"{p}embeddings.token_type_embeddings.weight"],
        "embed_norm.weight": [f"{p}embeddings.LayerNorm.weight"],
        "embed_norm.bias": [f"{p}embeddings.LayerNorm.bias"],
    }
    for i in range(num_layers):
        b, o = f"{p}encoder.layer.{i}.", f"layers.{i}."
        for kind in ("weight", "bias"):
            m[f"{o}attention.qkv.{kind}"] = [f"{b}attention.self.{n}.{kind}" for n in qkv]
            m[f"{o}attention.out.{kind}"] = [f"{b}attention.output.dense.{kind}"]
            m[f"{o}attention_norm.{kind}"] = [f"{b}attention.output.LayerNorm.{kind}"]
            m[f"{o}ffn_in.{kind}"] = [f"{b}intermediate.dense.{kind}"]
            m[f"{o}ffn_out.{kind}"] = [f"{b}output.dense.{kind}"]
            m[f"{o}ffn_norm.{kind}"] = [f"{b}output.LayerNorm.{kind}"]
    return m


def rename_legacy_layer_norm(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """TF-era checkpoints name LayerNorm parameters gamma/beta."""
    return {re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", k)): v
            for k, v in sd.items()}


def map_state_dict(sd: dict[str, torch.Tensor], key_map: dict[str, list[str]], target: dict[str, torch.Tensor],
                   optional: set[str] = frozenset()) -> tuple[dict[str, torch.Tensor], set[str], list[str]]:
    """Build posenc tensors from ``sd`` by ``key_map`` (entries whose posenc key is not in ``target``
    are skipped). Returns (new state dict, checkpoint keys used, problems). Keys in ``optional``
    may be absent from the checkpoint (tied weights that transformers does not save)."""
    new_sd, used, problems = {}, set(), []
    for key, sources in key_map.items():
        if key not in target:
            continue
        missing = [s for s in sources if s not in sd]
        if missing:
            if key not in optional:
                problems.append(f"posenc {key} needs {', '.join(missing)} (not in the checkpoint)")
            continue
        tensor = torch.cat([sd[s] for s in sources], dim=0) if len(sources) > 1 else sd[sources[0]]
        used.update(sources)
        if tuple(tensor.shape) != tuple(target[key].shape):
            problems.append(f"{' + '.join(sources)} has shape {tuple(tensor.shape)}, posenc {key} expects "
                            f"{tuple(target[key].shape)}")
            continue
        new_sd[key] = tensor
    return new_sd, used, problems


def finish_conversion(model, sd, new_sd, used, problems, ignorable: re.Pattern, optional: set[str], family: str,
                      error=CheckpointConversionError):
    """Report unmatched checkpoint keys and unfilled posenc parameters (raising ``error`` with every
    problem), else load ``new_sd`` into ``model``, tie weights and return it in eval mode."""
    unmatched = sorted(k for k in sd if k not in used and not ignorable.search(k))
    if unmatched:
        problems.append(f"{family} keys with no posenc counterpart: " + ", ".join(unmatched))
    target = model.state_dict()
    not_loaded = sorted(k for k in target if k not in new_sd and k not in optional)
    if not_loaded and not problems:
        problems.append("posenc parameters not filled from the checkpoint: " + ", ".join(not_loaded))
    if problems:
        raise error(f"cannot convert this {family} checkpoint:\n  - " + "\n  - ".join(problems))
    model.load_state_dict(new_sd, strict=False)
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    return model.eval()

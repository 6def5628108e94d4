"""Build posenc models from the ``model:`` section of an experiment config."""

from __future__ import annotations

import inspect
from pathlib import Path

from .config import ModelSection
from .schema import FieldProblem


def config_fields() -> list[str]:
    """Keyword arguments PosencConfig accepts by name (it also swallows unknown kwargs silently,
    so we check ``model.config`` keys against this list ourselves)."""
    import posenc
    from transformers import PretrainedConfig

    names = set(inspect.signature(posenc.PosencConfig.__init__).parameters)
    names |= set(inspect.signature(PretrainedConfig.__init__).parameters)
    return sorted(n for n in names if n not in ("self", "kwargs"))


def model_config_kwargs(model: ModelSection) -> dict:
    """Preset sizes, then the section's overrides and encodings (PosencConfig kwargs)."""
    import posenc

    from ..registry import did_you_mean

    valid = config_fields()
    for k in model.config:
        if k not in valid:
            raise FieldProblem("config", f"{k!r} is not a PosencConfig field.{did_you_mean(k, valid)}")
    kw = dict(posenc.size_preset(model.preset)) if model.preset else {}
    kw.update(model.size_overrides())
    if model.position is not None:
        kw["position"] = model.position
    if model.segment is not None:
        kw["segment"] = model.segment
    return kw


def build_config(model: ModelSection, tokenizer, **task_kw):
    """A PosencConfig for a model trained from scratch with ``tokenizer``."""
    import posenc

    return posenc.PosencConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                               **model_config_kwargs(model), **task_kw)


def resolve_pretrained(src: str) -> str:
    """A pre-train run dir → its ``best/`` model; a model dir or hub id stays as it is."""
    p = Path(src)
    if p.is_dir():
        if (p / "config.json").exists():
            return str(p)
        if (p / "best" / "config.json").exists():
            return str(p / "best")
        raise FileNotFoundError(f"model.from {src!r}: neither it nor {p / 'best'} holds a saved model (config.json); "
                                "did the pre-training run finish?")
    return src


def model_config_for_checks(model: ModelSection, from_dir: Path | None):
    """The PosencConfig a run would build (vocabulary size aside), or None when ``from_dir`` holds
    a model that is not a posenc model (nothing to check then)."""
    import posenc

    if from_dir is None:
        return posenc.PosencConfig(vocab_size=8, **model_config_kwargs(model))
    try:
        config = posenc.PosencConfig.from_pretrained(resolve_pretrained(str(from_dir)))
    except (OSError, ValueError, KeyError):
        return None
    if model.segment is not None:
        config.segment = model.segment
    return config


def length_limit(config) -> tuple[int, str] | None:
    """``(n, what)``: the longest input a model built from ``config`` accepts and the module that
    sets it (an absolute table, a Linformer projection), or None when nothing limits it. Built on
    the meta device, so no memory is allocated; every module exposing an integer ``max_length``
    counts, so a new encoding with a table needs no entry here."""
    import copy

    import torch

    import posenc

    config = copy.deepcopy(config)
    config.num_hidden_layers = 1  # a table's length does not depend on depth; one layer builds fast
    with torch.device("meta"):
        model = posenc.PosencModel(config, add_pooling_layer=False)
    limits = []
    for module in model.modules():
        n = getattr(module, "max_length", None)
        if isinstance(n, int) and not isinstance(n, bool):
            name = getattr(module, "name", "")
            limits.append((n, f"the {name!r} encoding" if name else f"the {type(module).__name__}"))
    return min(limits) if limits else None

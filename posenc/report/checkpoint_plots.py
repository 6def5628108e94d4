"""Learned-position figures drawn from pre-trained checkpoints (``RUN_DIR/best``).

Relies on the model contract (docs/CONTRACTS.md): ``position_encoding.bias_matrix(L)`` returns
``[layers_or_1, heads, L, L]`` or None, and an absolute input table is exposed as
``position_encoding.table`` (an ``nn.Embedding``). A relative (translation-invariant) bias is drawn
against the offset i − j (DIET-REL, T5; paper Fig. 7), any other bias as per-head heatmaps
(DIET-ABS P_Q·P_Kᵀ; paper Fig. 4), and the table as a cosine-similarity map (paper Fig. 5).
A checkpoint that cannot be loaded is reported and skipped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import plots


def _declared_relative(position: str) -> bool:
    """The encoding class declares translation invariance (its bias depends on i − j only)."""
    from ..encodings import POSITION_ENCODINGS

    return position in POSITION_ENCODINGS.names() and POSITION_ENCODINGS.get(position).translation_invariant


def load_position_module(model_dir: Path):
    """(position encoding module) of the saved model in ``model_dir``; raises on failure."""
    import posenc  # noqa: F401  (registers the posenc model type with transformers' Auto classes)
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    # an MLM checkpoint loaded as the bare encoder reports its unused head; keep the report quiet
    level, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(str(model_dir))
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()
    enc = getattr(model, "position_encoding", None)
    if enc is None:  # a task-head model keeps the encoder under .posenc
        enc = getattr(getattr(model, "posenc", None), "position_encoding", None)
    if enc is None:
        raise AttributeError(f"{type(model).__name__} has no position_encoding")
    return enc


def figures_for_module(enc, label: str, position: str, out_dir: Path, seq_len: int) -> list[plots.Plot]:
    """Every position figure the module supports, written under ``out_dir``."""
    import torch

    made = []
    with torch.no_grad():
        bias = enc.bias_matrix(seq_len) if hasattr(enc, "bias_matrix") else None
        if bias is not None:
            b = bias.detach().float().cpu().numpy()
            if b.ndim == 3:  # tolerate [heads, L, L]
                b = b[None]
            stem = plots._slug(label)
            if _declared_relative(position) or plots.is_translation_invariant(b):
                made.append(plots.bias_vs_offset(b, out_dir / f"bias_offset_{stem}.png", label))
            else:
                made.append(plots.bias_heatmaps(b, out_dir / f"bias_heatmap_{stem}.png", label))
        table = getattr(enc, "table", None)
        weight = getattr(table, "weight", None)
        if weight is not None:
            made.append(plots.cosine_similarity_map(weight.detach().float().cpu().numpy(),
                                                    out_dir / f"cosine_{plots._slug(label)}.png", label, seq_len))
    return [p for p in made if p is not None]


def checkpoint_figures(runs: pd.DataFrame, out_dir: Path, seq_len: int = 64) -> tuple[list[plots.Plot], list[str]]:
    """Figures for one pre-train run (lowest seed) per encoding; (plots, error messages)."""
    if runs.empty:
        return [], []
    pt = runs[runs["kind"] == "pretrain"].sort_values(["encoding", "seed"])
    made, errors = [], []
    for enc_label, grp in pt.groupby("encoding", sort=True):
        r = grp.iloc[0]
        model_dir = Path(r["run_dir"]) / (r.get("model_dir") or "best")
        if not (model_dir / "config.json").is_file():
            errors.append(f"{model_dir}: no saved model (config.json missing); position figures skipped")
            continue
        try:
            module = load_position_module(model_dir)
            made += figures_for_module(module, enc_label, r["position"], Path(out_dir), seq_len)
        except Exception as e:  # a broken or foreign checkpoint must not stop the report
            errors.append(f"{model_dir}: could not draw position figures ({type(e).__name__}: {e})")
    return made, errors

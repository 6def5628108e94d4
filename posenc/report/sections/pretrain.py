"""Pre-training: final and best held-out MLM loss per encoding, the loss curves, and the corpus's
unigram entropy as the reference a model that ignores context reaches."""

from __future__ import annotations

import math

import pandas as pd

from .. import plots
from ..collect import load_curves
from ..display import num, signed
from .base import Block, Part, ReportSection, register_section
from .task_results import speed_cells


def corpus_entropy(runs: pd.DataFrame) -> tuple[float | None, str]:
    """(median unigram entropy recorded by the pre-train runs, a note when they disagree or lack it)."""
    if runs.empty or "unigram_entropy" not in runs:
        return None, ""
    pt = runs[runs["kind"] == "pretrain"]
    h = pd.to_numeric(pt["unigram_entropy"], errors="coerce").dropna()
    if h.empty:
        return None, ("the pre-train runs recorded no unigram entropy (made before posenc wrote it): "
                      "no reference line") if len(pt) else ""
    note = "" if h.max() - h.min() < 1e-6 else (f"the runs' corpora differ: unigram entropy {h.min():.3f}–{h.max():.3f} "
                                                "nats/token (different tokenizers or corpora); the median is drawn")
    return float(h.median()), note


@register_section
class PretrainSection(ReportSection):
    name = "pretrain"
    order = 60

    def applies(self, report) -> bool:
        return not report.pretrain.empty

    def build(self, report, plot_dir) -> Part:
        entropy, note = corpus_entropy(report.runs)
        rows = []
        for _, r in report.pretrain.iterrows():
            row = {"Encoding": r["encoding"], "Metric": r["main_metric"], "n": int(r["n"]), "lr": r["learning_rates"],
                   "final (median)": num(r["final_median"]), "final std": num(r["final_std"]),
                   "best (median)": num(r["best_median"]), "best std": num(r["best_std"])}
            if entropy is not None:
                row["best − unigram H"] = signed(r["best_median"] - entropy, decimals=3)
            rows.append({**row, **speed_cells(r)})
        text = ["MLM loss (lower is better): 'final' is the last evaluation, 'best' the best checkpoint; medians over seeds."]
        if entropy is not None:
            text.append(f"Unigram entropy of the pre-training blocks: H = {entropy:.3f} nats/token, the loss of a model "
                        "that predicts every masked token from corpus frequencies alone. A best loss that is not clearly "
                        "below H (negative 'best − unigram H') means pre-training has not yet taught the model to use "
                        "context, and fine-tuning comparisons on top of it say little about the encodings.")
        if note:
            text.append(note[0].upper() + note[1:] + ".")
        figures = []
        if plot_dir is not None:
            pt = report.runs[report.runs["kind"] == "pretrain"]
            fig = plots.pretraining_curves(load_curves(pt), plot_dir / "pretraining_curves.png", entropy)
            figures = [fig] if fig is not None else []
        notes = []
        if entropy is not None:
            stuck = report.pretrain[pd.to_numeric(report.pretrain["best_median"], errors="coerce") >= entropy]
            if len(stuck):
                notes.append(f"Pre-training did not beat a context-free model for {', '.join(stuck['encoding'])}: best MLM "
                             f"loss ≥ the corpus's unigram entropy {entropy:.2f} nats/token; fine-tuning differences built "
                             "on such a model say little about the encodings.")
        table = report.pretrain.assign(unigram_entropy=entropy if entropy is not None else math.nan)
        return Part(blocks=[Block("pretrain", "Pre-training", text, pd.DataFrame(rows), figures)], csv={"pretrain": table}, notes=notes)

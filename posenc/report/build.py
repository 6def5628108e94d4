"""Assemble a :class:`Report` from run directories: collect, aggregate, compare, plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from . import aggregate, averages, compare, plots
from .collect import load_runs

BANNER = (
    "Small-scale numbers: these results come from this project's own (small) runs. They are NOT the "
    "DIET paper's numbers (BERT_BASE, 500k pre-training steps, 5 seeds on full GLUE) and must not "
    "be read as a reproduction of them."
)


@dataclass
class Report:
    """Everything an exporter needs; every table is a tidy DataFrame."""

    runs: pd.DataFrame                 # complete runs, one row each
    selected: pd.DataFrame             # the fine-tune runs at each encoding × task's chosen lr
    incomplete: pd.DataFrame           # runs that do not count, with the reason
    finetune: pd.DataFrame             # one row per encoding × task
    lr_grid: pd.DataFrame              # one row per encoding × task × learning rate
    comparison: pd.DataFrame           # one row per (encoding ≠ baseline) × task
    averages: pd.DataFrame             # one row per encoding: paper average, GLUE score
    pretrain: pd.DataFrame             # one row per pre-trained encoding
    probes: pd.DataFrame               # length generalisation rows (probe.json)
    baseline: str | None
    sources: list[str]
    plots: list[plots.Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figure_errors: list[str] = field(default_factory=list)  # checkpoints that could not be drawn

    @property
    def encodings(self) -> list[str]:
        return sorted(self.runs["encoding"].unique()) if not self.runs.empty else []


def build_report(paths: Iterable[str | Path], out_dir: str | Path | None = None, baseline: str | None = None,
                 make_plots: bool = True, bias_length: int = 64) -> Report:
    """Read runs under ``paths`` and compute every table; figures go to ``out_dir/plots``."""
    paths = [str(p) for p in paths]
    table = load_runs(paths)
    runs = table.runs
    notes = list(table.warnings)
    encs = sorted(runs["encoding"].unique()) if not runs.empty else []
    slots = {} if runs.empty else {e: (g["position"].iloc[0], g["segment"].iloc[0]) for e, g in runs.groupby("encoding")}
    base = compare.resolve_baseline(baseline, encs) if baseline else compare.default_baseline(encs, slots)

    ft = runs[runs["kind"] == "finetune"] if not runs.empty else runs
    selected = aggregate.runs_at_best_lr(ft) if not ft.empty else ft
    finetune = aggregate.add_relative_speed(aggregate.aggregate_finetune(runs), base, ["task"])
    pretrain = aggregate.add_relative_speed(aggregate.aggregate_pretrain(runs), base, [])
    report = Report(
        runs=runs, selected=selected, incomplete=table.incomplete, finetune=finetune,
        lr_grid=aggregate.lr_grid(ft) if not ft.empty else aggregate.lr_grid(pd.DataFrame()),
        comparison=compare.compare_to_baseline(selected, base),
        averages=averages.averages_table(finetune), pretrain=pretrain, probes=table.probes,
        baseline=base, sources=paths, notes=notes,
    )
    devices = sorted(d for d in runs.get("device", pd.Series(dtype=object)).dropna().unique()) if not runs.empty else []
    if len(devices) > 1:
        notes.append("runs come from different devices (" + ", ".join(devices) + "); speed columns are "
                     "comparable only between runs on the same device")
    if make_plots and out_dir is not None:
        report.plots, report.figure_errors = make_figures(report, Path(out_dir) / "plots", bias_length)
    return report


def make_figures(report: Report, plot_dir: Path, bias_length: int) -> tuple[list[plots.Plot], list[str]]:
    """Write every figure the data supports; (plots, problems met on the way)."""
    from .checkpoint_plots import checkpoint_figures

    made = [plots.task_bars(report.selected, plot_dir / "task_bars.png") if not report.selected.empty else None,
            plots.cost_quality(report.finetune, plot_dir / "cost_quality.png") if not report.finetune.empty else None,
            plots.length_generalisation(report.probes, plot_dir / "length_generalisation.png")]
    figs, errors = checkpoint_figures(report.runs, plot_dir, bias_length)
    return [p for p in made if p is not None] + figs, errors

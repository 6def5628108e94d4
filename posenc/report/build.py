"""Assemble a :class:`Report` from run directories: collect, aggregate, compare, then let every
registered section (:mod:`posenc.report.sections`) that applies add its part."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from . import aggregate, compare
from .collect import load_runs

BANNER = (
    "Small-scale numbers: these results come from this project's own (small) runs. They are NOT the "
    "DIET paper's numbers (BERT_BASE, 500k pre-training steps, 5 seeds on full GLUE and XTREME; "
    "6-layer Transformers trained 250k steps on WMT18) and must not be read as a reproduction of them."
)


@dataclass
class Report:
    """Everything an exporter needs; every table is a tidy DataFrame."""

    runs: pd.DataFrame                 # complete runs, one row each
    selected: pd.DataFrame             # the fine-tune runs at each encoding × task's chosen lr
    incomplete: pd.DataFrame           # runs that do not count, with the reason
    finetune: pd.DataFrame             # one row per encoding × task (the checkpoint-selection score)
    lr_grid: pd.DataFrame              # one row per encoding × task × learning rate
    comparison: pd.DataFrame           # one row per (encoding ≠ baseline) × task
    averages: pd.DataFrame             # one row per encoding: paper average, GLUE score
    pretrain: pd.DataFrame             # one row per pre-trained encoding
    probes: pd.DataFrame               # length generalisation rows (probe.json)
    baseline: str | None
    sources: list[str]
    notes: list[str] = field(default_factory=list)
    figure_errors: list[str] = field(default_factory=list)  # checkpoints that could not be drawn
    bench: pd.DataFrame | None = None  # a `posenc bench` CSV (--bench), the controlled source of speed
    bench_path: str | None = None
    bias_length: int = 64
    parts: dict = field(default_factory=dict)  # section name -> sections.base.Part, in report order

    @property
    def encodings(self) -> list[str]:
        return sorted(self.runs["encoding"].unique()) if not self.runs.empty else []

    @property
    def blocks(self) -> list:
        """Every display block, in reading order."""
        return [b for part in self.parts.values() for b in part.blocks]

    @property
    def plots(self) -> list:
        """Every figure of the report, each once, in reading order."""
        return [p for b in self.blocks for p in b.figures]

    def gathered(self, what: str) -> pd.DataFrame:
        """The sections' ``headlines``, ``findings`` or ``flags`` stacked into one frame."""
        from .sections.base import Part

        frames = [getattr(p, what) for p in self.parts.values() if not getattr(p, what).empty]
        return pd.concat(frames, ignore_index=True) if frames else getattr(Part(), what)


def build_report(paths: Iterable[str | Path], out_dir: str | Path | None = None, baseline: str | None = None,
                 make_plots: bool = True, bias_length: int = 64, bench: str | Path | None = None) -> Report:
    """Read runs under ``paths`` and compute every section; figures go to ``out_dir/plots``.
    ``bench``: a CSV written by ``posenc bench``, whose interleaved timings replace the sweep's
    uncontrolled step times wherever the report states a cost."""
    from .sections import SECTIONS
    from .speed import load_bench

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
    from .averages import averages_table

    report = Report(
        runs=runs, selected=selected, incomplete=table.incomplete, finetune=finetune,
        lr_grid=aggregate.lr_grid(ft) if not ft.empty else aggregate.lr_grid(pd.DataFrame()),
        comparison=compare.compare_to_baseline(selected, base),
        averages=averages_table(finetune), pretrain=pretrain, probes=table.probes,
        baseline=base, sources=paths, notes=notes, bias_length=bias_length,
        bench=load_bench(bench) if bench is not None else None, bench_path=str(bench) if bench is not None else None,
    )
    devices = sorted(d for d in runs.get("device", pd.Series(dtype=object)).dropna().unique()) if not runs.empty else []
    if len(devices) > 1:
        notes.append("runs come from different devices (" + ", ".join(devices) + "); speed columns are "
                     "comparable only between runs on the same device")
    plot_dir = Path(out_dir) / "plots" if make_plots and out_dir is not None else None
    active = [s for _, s in SECTIONS.items() if s.applies(report)]
    built = {}
    for section in sorted(active, key=lambda s: (s.uses_parts, s.order, s.name)):
        report.parts = {s.name: built[s.name] for s in sorted(active, key=lambda s: (s.order, s.name)) if s.name in built}
        built[section.name] = section.build(report, plot_dir)
    report.parts = {s.name: built[s.name] for s in sorted(active, key=lambda s: (s.order, s.name))}
    return report

"""CSV export: tidy tables with raw (unscaled) values; ``results.csv`` has one row per encoding × task."""

from __future__ import annotations

from pathlib import Path

from .build import Report

# file name -> Report attribute
TABLES = {"results.csv": "finetune", "runs.csv": "runs", "comparison.csv": "comparison", "averages.csv": "averages",
          "lr_grid.csv": "lr_grid", "pretrain.csv": "pretrain", "probes.csv": "probes", "incomplete.csv": "incomplete"}


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, attr in TABLES.items():
        df = getattr(rep, attr)
        if df is None or df.empty:
            continue
        path = out_dir / name
        df.to_csv(path, index=False)
        written.append(path)
    return written

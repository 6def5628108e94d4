"""CSV export: every section's tidy tables with raw (unscaled) values, ``<name>.csv`` each;
``results.csv`` has one row per encoding × task. Nested cells (per-language results) are JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .build import Report


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    nested = [c for c in df.columns if df[c].map(lambda v: isinstance(v, (dict, list))).any()]
    if not nested:
        return df
    return df.assign(**{c: df[c].map(lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
                        for c in nested})


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for part in rep.parts.values():
        for name, df in part.csv.items():
            if df is None or df.empty:
                continue
            path = out_dir / f"{name}.csv"
            _flat(df).to_csv(path, index=False)
            written.append(path)
    return written

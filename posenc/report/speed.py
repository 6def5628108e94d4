"""Where a report's cost numbers come from: a ``posenc bench`` CSV, or the sweep's own timings.

Step times recorded by fine-tune and pre-train runs are *uncontrolled*: each run is timed alone,
under whatever load the machine had at that moment (one quickstart measured ``absolute`` at 270
ms/step and ``diet_rel`` at 80 ms on the same task, a "−70%" that says nothing about the
encodings). ``posenc bench`` times the models round-robin in one process, so drifting load hits
all alike; its ratios are the ones to quote. A report given ``--bench CSV`` matches each run's
position encoding to a bench model (same name and options) and states every cost from the bench;
without one, cost columns are labelled "uncontrolled".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

UNCONTROLLED = ("timed by the sweep's own runs, one at a time, under whatever load the machine had: "
                "uncontrolled, not a measurement of the encodings' cost (pass --bench with a `posenc bench` "
                "CSV for interleaved timings)")
BENCH_REQUIRED = ("model", "mode", "batch", "length", "median_ms", "status")
COST_COLUMNS = ["encoding", "bench_model", "mode", "batch", "length", "median_ms", "baseline_ms", "ratio"]


def load_bench(path: str | Path) -> pd.DataFrame:
    """Read a ``posenc bench`` CSV; a missing file or a CSV without its columns is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--bench {str(path)!r}: no such file (`posenc bench --out DIR` writes DIR/bench.csv)")
    try:
        df = pd.read_csv(path)
    except (ValueError, OSError) as e:
        raise ValueError(f"--bench {path}: cannot read it as CSV ({e})") from None
    missing = [c for c in BENCH_REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"--bench {path}: not a `posenc bench` CSV (missing columns {', '.join(missing)}; "
                         f"has {', '.join(map(str, df.columns))})")
    return df


def position_key(spec) -> str | None:
    """Canonical label of a position encoding with its non-default options (``diet_abs(rank=32)``);
    ``spec`` is a dict, a JSON string of one, or a bench model label. None if it is not a
    registered posenc encoding (e.g. ``hf:bert``, an attention variant ``x@linformer``)."""
    from ..encodings import encoding_label
    from ..bench.cases import parse_named

    try:
        if isinstance(spec, str) and spec.startswith("{"):
            spec = json.loads(spec)
        if isinstance(spec, str):
            if ":" in spec or "@" in spec:
                return None
            spec = parse_named(spec)
        return encoding_label(spec, "none").rsplit("+", 1)[0]
    except (ValueError, KeyError, TypeError):
        return None


def bench_costs(bench: pd.DataFrame, positions: dict[str, str], baseline: str | None) -> pd.DataFrame:
    """One row per report encoding × bench mode × batch × length: the bench's median time of the
    encoding's position and its ratio to the baseline encoding's position in the same run.

    ``positions``: encoding label -> its position options (dict or JSON)."""
    if bench is None or bench.empty:
        return pd.DataFrame(columns=COST_COLUMNS)
    ok = bench[bench["status"].astype(str) == "ok"].copy()
    ok["key"] = ok["model"].map(position_key)
    ok = ok.dropna(subset=["key", "median_ms"])
    times = ok.groupby(["key", "mode", "batch", "length"])["median_ms"].median()
    models = ok.groupby("key")["model"].first()
    base_key = position_key(positions.get(baseline)) if baseline else None
    rows = []
    for enc, pos in sorted(positions.items()):
        key = position_key(pos)
        if key is None or key not in models.index:
            continue
        for (k, mode, batch, length), ms in times.items():
            if k != key:
                continue
            base_ms = times.get((base_key, mode, batch, length), math.nan) if base_key else math.nan
            rows.append({"encoding": enc, "bench_model": models[key], "mode": mode, "batch": int(batch),
                         "length": int(length), "median_ms": float(ms), "baseline_ms": float(base_ms),
                         "ratio": float(ms) / base_ms if base_ms == base_ms and base_ms > 0 else math.nan})
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def headline_costs(costs: pd.DataFrame, mode: str = "train") -> pd.DataFrame:
    """Per encoding, the ratio at the bench's largest length (then largest batch) in ``mode``
    where the baseline was timed too: ``encoding, ratio, where``."""
    c = costs[(costs["mode"] == mode) & costs["ratio"].notna()] if not costs.empty else costs
    rows = []
    for enc, g in c.groupby("encoding", sort=True):
        r = g.sort_values(["length", "batch"]).iloc[-1]
        rows.append({"encoding": enc, "ratio": r["ratio"],
                     "where": f"posenc bench, {mode}, L={r['length']}, b={r['batch']}"})
    return pd.DataFrame(rows, columns=["encoding", "ratio", "where"])


def _other_runs_speed(runs: pd.DataFrame, baseline: str | None) -> pd.DataFrame:
    """Runs of other kinds (e.g. ``translate``): median step time per encoding × task, relative to
    the baseline's on the same task."""
    from .aggregate import add_relative_speed

    if "step_time_s" not in runs or "task" not in runs:
        return pd.DataFrame()
    timed = runs.assign(step_time_s=pd.to_numeric(runs["step_time_s"], errors="coerce")).dropna(subset=["step_time_s"])
    if timed.empty:
        return pd.DataFrame()
    table = timed.groupby(["encoding", "task"], as_index=False)["step_time_s"].median()
    return add_relative_speed(table, baseline, ["task"])


def report_costs(report) -> pd.DataFrame:
    """Per encoding of the report: ``ratio`` (step time / baseline's), ``where`` (its source),
    ``controlled`` (from a bench) and ``params_ratio`` (parameter count / baseline's, from the runs)."""
    runs = report.runs
    if runs.empty:
        return pd.DataFrame(columns=["encoding", "ratio", "where", "controlled", "params_ratio"])
    positions = runs.groupby("encoding")["position_options"].first().to_dict()
    params = runs.assign(p=pd.to_numeric(runs["num_parameters"], errors="coerce"))
    ft = params[params["kind"] == "finetune"]
    params = (ft if not ft.empty else params).groupby("encoding")["p"].median()
    base_params = params.get(report.baseline, math.nan)
    bench = headline_costs(bench_costs(report.bench, positions, report.baseline)) if report.bench is not None else None
    sweep = report.finetune if not report.finetune.empty else report.pretrain if not report.pretrain.empty \
        else _other_runs_speed(runs, report.baseline)
    rows = []
    for enc in report.encodings:
        row = {"encoding": enc, "params_ratio": params.get(enc, math.nan) / base_params if base_params else math.nan}
        hit = bench[bench["encoding"] == enc] if bench is not None else None
        if hit is not None and len(hit):
            row.update(ratio=float(hit["ratio"].iloc[0]), where=hit["where"].iloc[0], controlled=True)
        elif report.bench is not None:
            row.update(ratio=math.nan, where="not in the bench CSV", controlled=True)
        else:
            rel = pd.to_numeric(sweep.loc[sweep["encoding"] == enc, "step_time_vs_baseline"], errors="coerce") \
                if "step_time_vs_baseline" in sweep else pd.Series(dtype=float)
            row.update(ratio=1 + rel.median() if rel.notna().any() else math.nan,
                       where="sweep runs, uncontrolled", controlled=False)
        rows.append(row)
    return pd.DataFrame(rows, columns=["encoding", "ratio", "where", "controlled", "params_ratio"])

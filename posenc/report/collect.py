"""Read run directories into tidy pandas DataFrames (one row per run).

A run directory is any folder holding ``results.json`` (schema in docs/CONTRACTS.md). Paths given
by the user may be run directories or parents; they are searched recursively. Runs whose status
is not ``complete``, whose results.json cannot be parsed, or that have a ``metrics.jsonl`` but no
results.json (still running or crashed) are returned separately as *incomplete*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

SCHEMA_VERSION = 1
SPEED_COLUMNS = ("num_parameters", "tokens_per_s", "step_time_s", "train_time_s", "peak_memory_mb")


@dataclass
class RunTable:
    """Complete runs (one row each), incomplete runs, probe rows and warnings."""

    runs: pd.DataFrame
    incomplete: pd.DataFrame
    probes: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def find_run_dirs(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(dirs with results.json, dirs with metrics.jsonl but no results.json), sorted, unique."""
    with_results, without = set(), set()
    for p in map(Path, paths):
        if not p.exists():
            raise FileNotFoundError(f"run directory {str(p)!r} does not exist")
        if p.is_file():
            p = p.parent
        for r in p.rglob("results.json"):
            with_results.add(r.parent.resolve())
        if (p / "results.json").is_file():
            with_results.add(p.resolve())
        for m in list(p.rglob("metrics.jsonl")) + ([p / "metrics.jsonl"] if (p / "metrics.jsonl").is_file() else []):
            if not (m.parent / "results.json").exists():
                without.add(m.parent.resolve())
    return sorted(with_results), sorted(without)


def options_label(slot) -> str:
    """``{"name": "diet_abs", "rank": 128}`` -> ``diet_abs(rank=128)``; strings pass through."""
    if slot is None:
        return "?"
    if isinstance(slot, str):
        return slot
    name = slot.get("name", "?")
    opts = ",".join(f"{k}={v}" for k, v in sorted(slot.items()) if k != "name")
    return f"{name}({opts})" if opts else name


def _slot_name(slot) -> str:
    if isinstance(slot, dict):
        return str(slot.get("name", "?"))
    return str(slot) if slot is not None else "?"


def run_row(run_dir: Path, res: dict) -> dict:
    """Flatten one results.json into a row; metrics become ``best.<name>`` / ``final.<name>``."""
    best = res.get("best") or {}
    final = res.get("final") or {}
    main = res.get("main_metric")
    best_metrics = best.get("metrics") or {}
    final_metrics = final.get("metrics") or {}
    encoding = res.get("encoding") or f"{options_label(res.get('position'))}+{options_label(res.get('segment'))}"
    row = {
        "run_dir": str(run_dir),
        "run_name": res.get("run_name") or run_dir.name,
        "kind": res.get("kind", "finetune"),
        "task": res.get("task", "?"),
        "encoding": encoding,
        "position": _slot_name(res.get("position")),
        "position_options": json.dumps(res.get("position"), sort_keys=True),
        "segment": _slot_name(res.get("segment")),
        "seed": res.get("seed"),
        "learning_rate": res.get("learning_rate"),
        "main_metric": main,
        "greater_is_better": bool(res.get("greater_is_better", True)),
        "best_step": best.get("step"),
        "final_step": final.get("step"),
        # the paper's protocol: each run contributes its best checkpoint's score
        "score": best_metrics.get(main, final_metrics.get(main)),
        "final_score": final_metrics.get(main),
        # always predicting the most frequent training label (None for regression / unknown)
        "majority": (res.get("majority_baseline") or {}).get(main),
        "baseline_name": res.get("baseline_name"),  # what that trivial predictor is (the task kind's name for it)
        "pretrained_from": res.get("pretrained_from"),
        "model_dir": res.get("model_dir", "best"),
        "device": _device(run_dir),
        # what a task kind and the XTREME protocol add (absent in older runs)
        "task_kind": res.get("task_kind"),
        "trained": res.get("trained", True),
        "report_columns": res.get("report_columns") or ([main] if main else []),
        "protocol": res.get("protocol"),
        "zero_shot": res.get("zero_shot") if isinstance(res.get("zero_shot"), dict) else None,
        "unigram_entropy": res.get("unigram_entropy"),
        "results": res,  # the whole results.json, for sections that read fields of their own
    }
    for col in SPEED_COLUMNS:
        row[col] = res.get(col)
    for k, v in best_metrics.items():
        row[f"best.{k}"] = v
    for k, v in final_metrics.items():
        row[f"final.{k}"] = v
    return row


def _device(run_dir: Path):
    try:
        meta = json.loads((run_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    dev = meta.get("device") if isinstance(meta, dict) else None
    return None if dev is None else str(dev)


def load_runs(paths: Iterable[str | Path]) -> RunTable:
    """Collect every run under ``paths``; see the module docstring for what counts as incomplete."""
    done, unfinished = find_run_dirs(paths)
    rows, bad, warnings = [], [], []
    for d in done:
        try:
            res = json.loads((d / "results.json").read_text())
            if not isinstance(res, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            bad.append({"run_dir": str(d), "status": "unreadable", "reason": f"results.json: {e}"})
            continue
        if res.get("schema", SCHEMA_VERSION) > SCHEMA_VERSION:
            warnings.append(f"{d}: results.json schema {res.get('schema')} is newer than {SCHEMA_VERSION}")
        status = res.get("status", "?")
        if status != "complete":
            bad.append({"run_dir": str(d), "status": str(status),
                        "reason": res.get("reason") or res.get("error") or "status is not 'complete'",
                        "encoding": res.get("encoding"), "task": res.get("task"), "seed": res.get("seed")})
            continue
        if res.get("main_metric") is None:
            bad.append({"run_dir": str(d), "status": "invalid", "reason": "results.json has no main_metric"})
            continue
        row = run_row(d, res)
        if not isinstance(row["score"], (int, float)) or isinstance(row["score"], bool):
            bad.append({"run_dir": str(d), "status": "invalid", "encoding": row["encoding"], "task": row["task"],
                        "seed": row["seed"], "reason": f"no numeric {row['main_metric']!r} in best/final metrics"})
            continue
        rows.append(row)
    for d in unfinished:
        bad.append({"run_dir": str(d), "status": "no results.json",
                    "reason": "metrics.jsonl without results.json: still running or crashed"})
    runs = pd.DataFrame(rows)
    incomplete = pd.DataFrame(bad, columns=["run_dir", "status", "reason", "encoding", "task", "seed"])
    probes = load_probes(done, runs)
    return RunTable(runs=runs, incomplete=incomplete, probes=probes, warnings=warnings)


def load_probes(run_dirs: Iterable[Path], runs: pd.DataFrame) -> pd.DataFrame:
    """Rows (run_dir, encoding, seed, length, mlm_loss, supported, reason) from ``probe.json``.

    Format (written by ``posenc probe``): ``{"lengths": [...], "mlm_loss": [...], "supported": bool,
    "reason": str}``. Each evaluated length gives a row; lengths an encoding cannot represent give
    one more row with length/mlm_loss NaN, ``supported`` False and the reason.
    """
    by_dir = {} if runs.empty else runs.set_index("run_dir")[["encoding", "seed"]].to_dict("index")
    rows = []
    for d in run_dirs:
        f = Path(d) / "probe.json"
        if not f.is_file() or str(d) not in by_dir:
            continue
        meta = by_dir[str(d)]
        try:
            probe = json.loads(f.read_text())
        except (OSError, ValueError) as e:
            rows.append({"run_dir": str(d), **meta, "length": None, "mlm_loss": None,
                         "supported": False, "reason": f"unreadable probe.json: {e}"})
            continue
        supported = bool(probe.get("supported", True))
        lengths, losses = probe.get("lengths") or [], probe.get("mlm_loss") or []
        for n, loss in zip(lengths, losses):  # the lengths it could evaluate (e.g. 1x for an absolute table)
            rows.append({"run_dir": str(d), **meta, "length": n, "mlm_loss": loss, "supported": True, "reason": ""})
        if not supported or not lengths:  # one row for what it could not
            rows.append({"run_dir": str(d), **meta, "length": None, "mlm_loss": None,
                         "supported": False, "reason": probe.get("reason", "")})
    return pd.DataFrame(rows, columns=["run_dir", "encoding", "seed", "length", "mlm_loss", "supported", "reason"])


def load_curves(runs: pd.DataFrame, metric: str = "loss") -> pd.DataFrame:
    """(encoding, seed, run_dir, step, ``metric``) of every evaluation row in the runs'
    ``metrics.jsonl`` (rows ``{"step": ..., "eval": {...}}``); unreadable lines are skipped."""
    rows = []
    for _, r in runs.iterrows():
        path = Path(r["run_dir"]) / "metrics.jsonl"
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            value = (row.get("eval") or {}).get(metric) if isinstance(row, dict) else None
            if isinstance(value, (int, float)) and isinstance(row.get("step"), int):
                rows.append({"encoding": r["encoding"], "seed": r["seed"], "run_dir": r["run_dir"],
                             "step": row["step"], metric: float(value)})
    out = pd.DataFrame(rows, columns=["encoding", "seed", "run_dir", "step", metric])
    return out.drop_duplicates(["run_dir", "step"], keep="last")

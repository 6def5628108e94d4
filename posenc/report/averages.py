"""GLUE score and the DIET paper's 7-number average over the tasks a report actually has.

The per-task definitions come from :mod:`posenc.metrics` (``GLUE_TASK_METRICS``, ``PAPER_COLUMNS``:
e.g. STS-B counts Spearman and QQP accuracy in the paper average). Its ``glue_score`` and
``paper_average`` demand every task; a report usually has a subset, so here the same per-task
numbers are averaged over the present tasks only, and the missing ones are listed. When all are
present the values equal ``posenc.metrics.glue_score`` / ``paper_average`` (checked in tests).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from ..metrics import GLUE_TASK_METRICS, PAPER_COLUMNS

GLUE_TASKS = tuple(GLUE_TASK_METRICS)
_MNLI = {"mnlim": "mnli_matched", "mnlimatched": "mnli_matched",
         "mnlimm": "mnli_mismatched", "mnlimismatched": "mnli_mismatched"}


def norm_task(name: str) -> str:
    """``"SST-2"`` -> ``"sst2"``, ``"MNLI-mm"`` -> ``"mnli_mismatched"`` (posenc.metrics' names)."""
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    return _MNLI.get(key, key)


def is_mismatched(metric: str) -> bool:
    """Whether a metric name denotes MNLI's mismatched split (``mm_accuracy``,
    ``validation_mismatched/accuracy``, ``accuracy_mm``, ...)."""
    tokens = re.split(r"[^a-z0-9]+", str(metric).lower())
    return "mm" in tokens or any("mismatched" in t for t in tokens)


def _base_metric(metric: str) -> str:
    tokens = [t for t in re.split(r"[^a-z0-9]+", metric.lower()) if t and t != "mm" and "matched" not in t
              and t not in ("validation", "eval", "dev")]
    return "_".join(tokens) or metric


def task_metrics(rows: pd.DataFrame) -> dict[str, dict[str, float]]:
    """One encoding's aggregate rows -> ``{task: {metric: median}}``; an ``mnli`` row carrying
    mismatched metrics is split into ``mnli_matched`` and ``mnli_mismatched``."""
    out: dict[str, dict[str, float]] = {}
    for _, r in rows.iterrows():
        mets = {c[7:]: float(r[c]) for c in r.index if c.startswith("median.") and pd.notna(r[c])}
        mets.setdefault(r["main_metric"], float(r["median"]))
        t = norm_task(r["task"])
        if t == "mnli" and not any(is_mismatched(m) for m in mets):
            out["mnli_matched"] = mets  # one MNLI number: the matched split (mismatched is reported missing)
        elif t == "mnli":
            out["mnli_matched"] = {_base_metric(m): v for m, v in mets.items() if not is_mismatched(m)}
            out["mnli_mismatched"] = {_base_metric(m): v for m, v in mets.items() if is_mismatched(m)}
        else:
            out[t] = mets
    return out


def paper_values(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """The paper's Table 2 numbers present in ``results`` (column -> value), per PAPER_COLUMNS."""
    vals = {}
    for col, metric in PAPER_COLUMNS.items():
        src = results.get(col) or (results.get("mnli") if col == "mnli_matched" else None)
        if src and metric in src:
            vals[col] = src[metric]
    return vals


def paper_average(results: dict[str, dict[str, float]]) -> tuple[float, list[str]]:
    """(mean of the paper's 7 numbers present, the missing ones as ``task:metric``)."""
    vals = paper_values(results)
    missing = [f"{c}:{m}" for c, m in PAPER_COLUMNS.items() if c not in vals]
    return (sum(vals.values()) / len(vals) if vals else math.nan), missing


def glue_task_scores(results: dict[str, dict[str, float]]) -> tuple[dict[str, float], list[str]]:
    """({GLUE task: its leaderboard number}, missing ``task`` or ``task:metric``)."""
    scores, missing = {}, []
    res = dict(results)
    if "mnli" not in res and "mnli_matched" in res and "mnli_mismatched" in res:
        mm, m = res["mnli_mismatched"], res["mnli_matched"]
        if "accuracy" in m and "accuracy" in mm:
            res["mnli"] = {"accuracy": (m["accuracy"] + mm["accuracy"]) / 2}
    elif "mnli_matched" in res and "mnli" not in res:
        missing.append("mnli_mismatched")
    for task, metrics in GLUE_TASK_METRICS.items():
        if task not in res:
            if not (task == "mnli" and "mnli_mismatched" in missing):
                missing.append(task)
            continue
        absent = [m for m in metrics if m not in res[task]]
        if absent:
            missing.append(f"{task}:{','.join(absent)}")
            continue
        scores[task] = sum(res[task][m] for m in metrics) / len(metrics)
    return scores, missing


def glue_score(results: dict[str, dict[str, float]]) -> tuple[float, list[str], int]:
    """(mean GLUE task number over present tasks, missing, number of tasks used)."""
    scores, missing = glue_task_scores(results)
    return (sum(scores.values()) / len(scores) if scores else math.nan), missing, len(scores)


def averages_table(agg: pd.DataFrame) -> pd.DataFrame:
    """One row per encoding: paper_avg (+ n, missing) and glue_score (+ n, missing)."""
    cols = ["encoding", "paper_avg", "paper_avg_n", "paper_avg_missing", "glue_score", "glue_n", "glue_missing"]
    if agg.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for enc, grp in agg.groupby("encoding", sort=True):
        res = task_metrics(grp)
        pavg, pmiss = paper_average(res)
        gs, gmiss, gn = glue_score(res)
        rows.append({"encoding": enc, "paper_avg": pavg, "paper_avg_n": len(PAPER_COLUMNS) - len(pmiss),
                     "paper_avg_missing": ", ".join(pmiss), "glue_score": gs, "glue_n": gn,
                     "glue_missing": ", ".join(gmiss)})
    return pd.DataFrame(rows, columns=cols)

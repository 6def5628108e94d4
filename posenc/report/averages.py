"""GLUE score and the paper's 7-number average, computed over the tasks present.

Local helpers: ``posenc.metrics`` did not exist when this was written; if it later provides
``glue_score``/``paper_average`` with the same meaning, these can delegate to it.

* **paper average** (DIET §5.2): plain mean of MNLI-m, MNLI-mm, QQP, QNLI, SST-2, CoLA, STS-B,
  each the task's main metric (the paper does not say which metric per task).
* **GLUE score** (Wang et al. 2019): mean over GLUE tasks of the task score, where a task with two
  metrics scores their mean (MRPC/QQP: F1 and accuracy; STS-B: Pearson and Spearman; MNLI:
  matched and mismatched accuracy).

Both are returned with the list of missing components, never silently over fewer tasks.
"""

from __future__ import annotations

import math

import pandas as pd

PAPER_COLUMNS = ("mnli_m", "mnli_mm", "qqp", "qnli", "sst2", "cola", "stsb")
GLUE_TASKS = ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli")
# metric-name fragments whose mean forms the GLUE task score (besides the main metric)
_GLUE_PARTS = {"mrpc": ("f1", "accuracy"), "qqp": ("f1", "accuracy"), "stsb": ("pearson", "spearman")}
_MNLI_MM = ("mnli_mm", "mnli_mismatched", "mnlimm")
_MNLI_M = ("mnli_m", "mnli_matched", "mnlim")


def norm_task(name: str) -> str:
    """``"SST-2"`` -> ``"sst2"``, ``"sts_b"`` -> ``"stsb"``; mnli variants keep an ``_m``/``_mm``."""
    n = str(name).lower().replace("-", "_")
    for full in _MNLI_MM:
        if n.replace("_", "") == full.replace("_", ""):
            return "mnli_mm"
    for full in _MNLI_M:
        if n.replace("_", "") == full.replace("_", ""):
            return "mnli_m"
    return n.replace("_", "")


def _is_mm(metric: str) -> bool:
    m = metric.lower()
    return "mismatched" in m or m.startswith("mm_") or m.endswith("_mm") or "_mm_" in m


def task_values(rows: pd.DataFrame) -> dict[str, float]:
    """Per normalised task, the median main metric of one encoding's aggregate rows; an ``mnli``
    task whose metrics include a mismatched variant yields both ``mnli_m`` and ``mnli_mm``."""
    out = {}
    for _, r in rows.iterrows():
        t = norm_task(r["task"])
        if t == "mnli":
            out["mnli_m"] = r["median"]
            mm = [c for c in r.index if c.startswith("median.") and _is_mm(c[7:]) and pd.notna(r[c])]
            if mm:
                out["mnli_mm"] = r[mm[0]]
        else:
            out[t] = r["median"]
    return out


def glue_task_scores(rows: pd.DataFrame) -> dict[str, float]:
    """GLUE task score per task present (see module docstring)."""
    scores = {}
    for _, r in rows.iterrows():
        t = norm_task(r["task"])
        base = "mnli" if t in ("mnli", "mnli_m", "mnli_mm") else t
        if base not in GLUE_TASKS:
            continue
        vals = [r["median"]]
        for frag in _GLUE_PARTS.get(base, ()):
            vals += [r[c] for c in r.index if c.startswith("median.") and frag in c[7:].lower()
                     and c[7:] != r["main_metric"] and pd.notna(r[c])]
        if base == "mnli":
            vals += [r[c] for c in r.index if c.startswith("median.") and _is_mm(c[7:]) and pd.notna(r[c])]
            scores.setdefault("mnli", []).extend(vals)
        else:
            scores[base] = vals
    return {t: sum(v) / len(v) for t, v in scores.items()}


def paper_average(values: dict[str, float]) -> tuple[float, list[str]]:
    """(mean over the present paper columns, missing columns); NaN when none is present."""
    present = [values[c] for c in PAPER_COLUMNS if c in values and not _nan(values[c])]
    missing = [c for c in PAPER_COLUMNS if c not in values or _nan(values[c])]
    return (sum(present) / len(present) if present else math.nan), missing


def glue_score(task_scores: dict[str, float]) -> tuple[float, list[str]]:
    """(mean GLUE task score over present tasks, missing GLUE tasks)."""
    present = [task_scores[t] for t in GLUE_TASKS if t in task_scores and not _nan(task_scores[t])]
    missing = [t for t in GLUE_TASKS if t not in task_scores]
    return (sum(present) / len(present) if present else math.nan), missing


def averages_table(agg: pd.DataFrame) -> pd.DataFrame:
    """One row per encoding: paper_avg, its missing columns, glue_score, its missing tasks."""
    cols = ["encoding", "paper_avg", "paper_avg_n", "paper_avg_missing", "glue_score", "glue_n", "glue_missing"]
    if agg.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for enc, grp in agg.groupby("encoding", sort=True):
        pavg, pmiss = paper_average(task_values(grp))
        gs, gmiss = glue_score(glue_task_scores(grp))
        rows.append({"encoding": enc, "paper_avg": pavg, "paper_avg_n": len(PAPER_COLUMNS) - len(pmiss),
                     "paper_avg_missing": ",".join(pmiss), "glue_score": gs,
                     "glue_n": len(GLUE_TASKS) - len(gmiss), "glue_missing": ",".join(gmiss)})
    return pd.DataFrame(rows, columns=cols)


def _nan(v) -> bool:
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return True

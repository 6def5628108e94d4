"""Zero-shot cross-lingual results (XTREME protocol) as tidy tables.

Input: the fine-tune runs at each encoding × task's chosen learning rate whose results.json
carries ``zero_shot`` (fine-tuned on ``train_language``, checkpoint selected on its dev set,
every language evaluated with that checkpoint: Hu et al. 2020, XTREME, §4). Definitions:

* a task's **score metric** is the mean of its metrics when it has several (``combined``: span QA's
  F1 and EM), else its main metric;
* per run, the **mean over languages** is the unweighted mean over the languages it evaluated
  (the train language included, as in XTREME), and the **transfer gap** is the train language's
  value minus the mean of the others (the "cross-lingual transfer gap" of Hu et al. 2020);
* every table cell is the **median over seeds** of the per-run quantity (the DIET paper's
  protocol: 5 seeds, median);
* the **XTREME score** is the mean over tasks of each task's mean over languages of its score
  metric (XTREME, Table 2 "Avg": QA tasks enter as the mean of F1 and EM; with mBERT's published
  numbers this gives its 59.6);
* the DIET paper's **7-number average** is the mean of XNLI accuracy and the F1 and EM of XQuAD,
  MLQA and TyDiQA-GoldP (Chen et al. 2021, Table 3 "Avg").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import compare
from .display import is_percent

# Chen et al. 2021, Table 3: (task, metric suffix) per column, in order.
PAPER_TABLE3_COLUMNS: tuple[tuple[str, str], ...] = (
    ("xnli", "accuracy"), ("xquad", "f1"), ("xquad", "exact_match"), ("mlqa", "f1"), ("mlqa", "exact_match"),
    ("tydiqa", "f1"), ("tydiqa", "exact_match"))
PAPER_TABLE3_HEADERS = {"xnli": "XNLI", "xquad": "XQuAD", "mlqa": "MLQA", "tydiqa": "TyDiQA"}
# DIET paper Table 3 (XTREME, zero-shot from English, median of 5 runs), as printed.
PAPER_TABLE3 = [
    ("Devlin et al. (2018)", "input", "input", 67.0, "66.0 / 49.9", "56.2 / 41.0", "59.0 / 47.9", 55.3),
    ("Shaw et al. (2018)", "per-head", "input", 67.9, "69.5 / 53.9", "58.2 / 43.1", "64.8 / 49.9", 58.2),
    ("Raffel et al. (2020)", "per-head", "input", 68.5, "69.9 / 53.5", "59.5 / 44.3", "63.8 / 50.6", 58.6),
    ("Ke et al. (2020)", "per-head", "input", 67.8, "68.6 / 52.0", "58.6 / 43.2", "63.9 / 48.7", 57.5),
    ("DIET-REL", "per-head", "input", 68.0, "68.1 / 52.8", "57.7 / 42.7", "63.3 / 50.9", 57.6),
    ("DIET-REL", "per-head", "per-head", 68.4, "69.4 / 54.4", "58.6 / 43.5", "62.4 / 49.3", 58.0),
    ("DIET-ABS (d_p=128, share)", "per-head", "per-head", 68.5, "70.0 / 53.6", "59.8 / 44.5", "64.6 / 51.5", 58.9),
    ("Wang et al. (2020) [Linformer] (k=256)", "input", "input", 63.6, "59.1 / 43.7", "48.9 / 34.0", "50.5 / 37.9", 48.2),
    ("DIET-ABS^LIN (k=256)", "per-head", "input", 64.4, "61.6 / 46.0", "52.2 / 37.0", "53.6 / 40.9", 50.8),
]
XTREME_TASK_COUNT = 9  # Hu et al. 2020, Table 1: XNLI, PAWS-X, POS, NER, XQuAD, MLQA, TyDiQA-GoldP, BUCC, Tatoeba
LONG_COLUMNS = ["encoding", "task", "seed", "run_dir", "language", "metric", "value", "trivial", "greater_is_better",
                "protocol", "train_language", "examples"]


def has_zero_shot(runs: pd.DataFrame) -> pd.Series:
    """Which rows carry per-language zero-shot results."""
    if runs.empty or "zero_shot" not in runs:
        return pd.Series(False, index=runs.index, dtype=bool)
    return runs["zero_shot"].map(lambda z: isinstance(z, dict) and bool(z.get("languages")))


def metric_matches(metric: str, suffix: str) -> bool:
    """``mlqa_f1`` matches ``f1``; ``squad_exact_match`` matches ``exact_match``."""
    return metric == suffix or metric.endswith("_" + suffix)


def score_metric(metrics: list[str], main: str) -> str:
    """The number a task enters averages with: ``combined`` (mean of its metrics) when it has
    several, else its main metric."""
    return "combined" if len(metrics) > 1 else main


def long_table(selected: pd.DataFrame) -> pd.DataFrame:
    """One row per run × language × metric (the report columns and ``combined``)."""
    zs = selected[has_zero_shot(selected)] if not selected.empty else selected
    rows = []
    for _, r in zs.iterrows():
        z = r["zero_shot"]
        cols = list(r["report_columns"] or [r["main_metric"]])
        for lang, mets in z["languages"].items():
            trivial = (z.get("baseline") or {}).get(lang) or {}
            for m in cols + (["combined"] if len(cols) > 1 else []):
                v = mets.get(m)
                if m == "combined" and v is None and all(isinstance(mets.get(c), (int, float)) for c in cols):
                    v = float(np.mean([mets[c] for c in cols]))
                if not isinstance(v, (int, float)):
                    continue
                t = trivial.get(m)
                if m == "combined" and t is None and all(isinstance(trivial.get(c), (int, float)) for c in cols):
                    t = float(np.mean([trivial[c] for c in cols]))
                rows.append({"encoding": r["encoding"], "task": r["task"], "seed": r["seed"], "run_dir": r["run_dir"],
                             "language": lang, "metric": m, "value": float(v),
                             "trivial": float(t) if isinstance(t, (int, float)) else math.nan,
                             "greater_is_better": bool(r["greater_is_better"]),
                             "protocol": z.get("protocol") or r.get("protocol") or "paper",
                             "train_language": z.get("train_language") or "en", "examples": mets.get("eval_examples")})
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def _beats(values: pd.Series, trivial: float, greater: bool) -> bool:
    return bool((values > trivial).all() if greater else (values < trivial).all())


def _above_trivial(long: pd.DataFrame) -> pd.Series:
    """Per row: the value beats the trivial baseline (NaN where there is none)."""
    beats = long["value"].where(long["greater_is_better"], -long["value"]) > \
        long["trivial"].where(long["greater_is_better"], -long["trivial"])
    return beats.where(long["trivial"].notna())


def language_table(long: pd.DataFrame) -> pd.DataFrame:
    """One row per encoding × task × language × metric: n, median, min, max over seeds, the
    trivial baseline and whether every seed beats it."""
    cols = ["encoding", "task", "language", "metric", "n", "median", "min", "max", "trivial", "beats_trivial",
            "greater_is_better", "protocol", "examples"]
    if long.empty:
        return pd.DataFrame(columns=cols)
    keys = ["encoding", "task", "language", "metric"]
    g = long.assign(above=_above_trivial(long)).groupby(keys, sort=False)
    out = g["value"].agg(n="count", median="median", min="min", max="max")
    out["trivial"] = g["trivial"].first()
    has = g["above"].count() > 0
    out["beats_trivial"] = g["above"].agg(lambda a: bool(a.dropna().astype(bool).all())).where(has, None)
    out["greater_is_better"] = g["greater_is_better"].first()
    out["protocol"] = g["protocol"].agg(lambda p: ", ".join(sorted(set(p))))
    out["examples"] = g["examples"].max()
    return out.reset_index()[cols]


def run_summaries(long: pd.DataFrame) -> pd.DataFrame:
    """One row per run × metric: its mean over languages, its transfer gap (train language minus
    the mean of the others), the languages used."""
    cols = ["encoding", "task", "seed", "run_dir", "metric", "mean", "gap", "languages", "trivial_mean",
            "greater_is_better", "protocol"]
    if long.empty:
        return pd.DataFrame(columns=cols)
    keys = ["run_dir", "metric"]
    is_train = long["language"] == long["train_language"]
    g = long.assign(train_value=long["value"].where(is_train), is_train=is_train).groupby(keys, sort=False)
    out = g[["encoding", "task", "seed", "greater_is_better", "protocol"]].first()
    total, count = g["value"].sum(), g["value"].count()
    out["mean"] = total / count
    train, n_train = g["train_value"].sum(), g["is_train"].sum()
    others = (count - n_train).where(lambda n: n > 0)
    out["gap"] = (train - (total - train) / others).where(n_train > 0)
    out["languages"] = g["language"].agg(",".join)
    out["trivial_mean"] = g["trivial"].mean().where(g["trivial"].count() == count)
    return out.reset_index()[cols]


def task_table(long: pd.DataFrame, selected: pd.DataFrame, per_run: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per encoding × task × metric: medians over seeds of the mean over languages and of
    the transfer gap, seed std of the mean, the languages, what is missing, the protocol, and
    the train-language dev score that selected the checkpoint (median)."""
    cols = ["encoding", "task", "metric", "score_metric", "n", "mean", "mean_std", "gap", "n_languages", "languages",
            "n_task_languages", "missing", "not_evaluated", "trivial_mean", "beats_trivial", "greater_is_better", "protocol",
            "protocol_note", "selection_median", "trained"]
    per_run = run_summaries(long) if per_run is None else per_run
    if per_run.empty:
        return pd.DataFrame(columns=cols)
    info = selected[has_zero_shot(selected)].set_index("run_dir")
    rows = []
    for (enc, task, m), g in per_run.groupby(["encoding", "task", "metric"], sort=True):
        runs = info.loc[g["run_dir"]]
        zs = list(runs["zero_shot"])
        missing = {}
        for z in zs:
            missing.update(z.get("missing") or {})
        evaluated = list(dict.fromkeys(lang for s in g["languages"] for lang in s.split(",")))
        declared = list(dict.fromkeys(lang for z in zs for lang in (z.get("task_languages") or [])))
        triv = g["trivial_mean"].dropna()
        first = runs.iloc[0]
        rows.append({
            "encoding": enc, "task": task, "metric": m,
            "score_metric": score_metric(list(first["report_columns"] or []), first["main_metric"]),
            "n": len(g), "mean": g["mean"].median(), "mean_std": g["mean"].std(ddof=1), "gap": g["gap"].median(),
            "n_languages": len(evaluated), "languages": ",".join(evaluated),
            "n_task_languages": len(set(declared) | set(evaluated) | set(missing)),
            "missing": "; ".join(f"{lang}: {why}" for lang, why in sorted(missing.items())),
            "not_evaluated": ",".join(x for x in declared if x not in evaluated and x not in missing),
            "trivial_mean": triv.iloc[0] if len(triv) else math.nan,
            "beats_trivial": _beats(g["mean"], triv.iloc[0], bool(g["greater_is_better"].iloc[0])) if len(triv) else None,
            "greater_is_better": bool(g["greater_is_better"].iloc[0]),
            "protocol": ", ".join(sorted(set(g["protocol"]))),
            "protocol_note": next((z.get("protocol_note") for z in zs if z.get("protocol_note")), ""),
            "selection_median": pd.to_numeric(runs["score"], errors="coerce").median(),
            "trained": bool(runs["trained"].fillna(True).astype(bool).all()),
        })
    return pd.DataFrame(rows, columns=cols)


def task_scores(tasks: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`task_table` for each task's score metric."""
    return tasks[tasks["metric"] == tasks["score_metric"]] if not tasks.empty else tasks


def xtreme_scores(tasks: pd.DataFrame) -> pd.DataFrame:
    """Per encoding: the XTREME score over the zero-shot tasks it has (mean of the task means of
    the score metric) and which tasks those are (the benchmark has :data:`XTREME_TASK_COUNT`)."""
    cols = ["encoding", "xtreme_score", "n_tasks", "tasks"]
    s = task_scores(tasks)
    rows = []
    for enc, g in s.groupby("encoding", sort=True):
        have = sorted(g["task"])
        rows.append({"encoding": enc, "xtreme_score": g["mean"].mean(), "n_tasks": len(have), "tasks": ",".join(have)})
    return pd.DataFrame(rows, columns=cols)


def paper_values(tasks: pd.DataFrame, encoding: str) -> dict[tuple[str, str], float]:
    """The DIET Table 3 numbers of ``encoding`` present: {(task, suffix): median mean over languages}."""
    g = tasks[tasks["encoding"] == encoding]
    out = {}
    for task, suffix in PAPER_TABLE3_COLUMNS:
        hit = g[(g["task"] == task) & g["metric"].map(lambda m: metric_matches(m, suffix))]
        if len(hit):
            out[(task, suffix)] = float(hit["mean"].iloc[0])
    return out


def paper_average(tasks: pd.DataFrame, encoding: str) -> tuple[float, list[str]]:
    """(mean of the paper's 7 numbers present, the missing ones as ``task:metric``)."""
    vals = paper_values(tasks, encoding)
    missing = [f"{t}:{m}" for t, m in PAPER_TABLE3_COLUMNS if (t, m) not in vals]
    return (float(np.mean(list(vals.values()))) if vals else math.nan), missing


def comparisons(long: pd.DataFrame, baseline: str | None, per_run: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each encoding against the baseline over seeds, per task on the score metric: the mean over
    languages (scope ``""``) and every language (scope = the language)."""
    from .sections.base import FINDING_COLUMNS

    if long.empty or baseline is None:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    per_run = run_summaries(long) if per_run is None else per_run
    rows = []
    for task, g in long.groupby("task", sort=True):
        cols = g.groupby("metric").size().index
        m = "combined" if "combined" in cols else g["metric"].iloc[0]
        g = g[g["metric"] == m]
        greater = bool(g["greater_is_better"].iloc[0])
        percent = is_percent(m, g["value"])
        runs = per_run[(per_run["task"] == task) & (per_run["metric"] == m)]
        units = [("", runs.rename(columns={"mean": "value"}))] + [(lang, lg) for lang, lg in g.groupby("language", sort=False)]
        for scope, u in units:
            base = u.loc[u["encoding"] == baseline, "value"].to_numpy(float)
            for enc, eg in u.groupby("encoding", sort=True):
                if enc == baseline or len(base) == 0:
                    continue
                r = compare.compare_samples(eg["value"].to_numpy(float), base, greater)
                rows.append({"encoding": enc, "task": task, "scope": scope, "metric": m, "percent": percent,
                             "greater_is_better": greater,
                             **{k: r.get(k) for k in FINDING_COLUMNS if k in r}})
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)

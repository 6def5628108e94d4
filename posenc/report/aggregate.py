"""Seed aggregation and the best-learning-rate rule for fine-tune and pre-train runs.

The paper (DIET, §8.9) reports, per model and task, the **median over 5 seeds of each run's best
checkpoint**; it does not say how the learning rate was chosen. posenc states its rule
(:data:`LR_RULE`) in every report.
"""

from __future__ import annotations

import pandas as pd

from .collect import SPEED_COLUMNS

LR_RULE = (
    "best learning rate = the one whose median (over seeds) of the main metric, each run taking its "
    "best checkpoint, is best (highest, or lowest for metrics where lower is better); ties go to "
    "the rate with more seeds, then the smaller rate"
)
STATS_NOTE = "median/mean/std over seeds at the chosen learning rate; std is the sample std (ddof=1)"


def metric_names(runs: pd.DataFrame) -> list[str]:
    """Metric names present as ``best.<name>`` columns."""
    return [c[len("best."):] for c in runs.columns if c.startswith("best.")]


def lr_grid(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per encoding × task × learning rate: n seeds and median/mean of the main metric."""
    cols = ["encoding", "task", "learning_rate", "main_metric", "n", "median", "mean", "std"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    lr = runs.assign(learning_rate=runs["learning_rate"].fillna(-1.0))
    g = lr.groupby(["encoding", "task", "learning_rate"], sort=True)
    out = g["score"].agg(n="count", median="median", mean="mean", std="std").reset_index()
    out["main_metric"] = g["main_metric"].first().values
    out["greater_is_better"] = g["greater_is_better"].first().values
    out["learning_rate"] = out["learning_rate"].where(out["learning_rate"] >= 0)
    return out[cols + ["greater_is_better"]]


def choose_lr(grid: pd.DataFrame) -> pd.DataFrame:
    """Apply :data:`LR_RULE`: one row of ``grid`` per encoding × task."""
    if grid.empty:
        return grid
    g = grid.assign(
        _key=grid["median"].where(grid["greater_is_better"], -grid["median"]),
        _lr=grid["learning_rate"].fillna(0.0),
    )
    g = g.sort_values(["encoding", "task", "_key", "n", "_lr"], ascending=[True, True, False, False, True],
                      na_position="last")
    return g.groupby(["encoding", "task"], sort=False).head(1).drop(columns=["_key", "_lr"])


def runs_at_best_lr(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs (one per seed) behind each encoding × task's chosen learning rate."""
    if runs.empty:
        return runs
    best = choose_lr(lr_grid(runs))[["encoding", "task", "learning_rate"]]
    lr = runs["learning_rate"].astype(float)
    keyed = runs.assign(_lr=lr.fillna(-1.0))
    best = best.assign(_lr=best["learning_rate"].astype(float).fillna(-1.0)).drop(columns="learning_rate")
    return keyed.merge(best, on=["encoding", "task", "_lr"]).drop(columns="_lr")


def aggregate_finetune(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per encoding × task for ``kind == "finetune"`` runs.

    Columns: encoding, position, segment, task, main_metric, greater_is_better, best_lr, lrs_tried,
    n, seeds, median, mean, std, min, max, ``median.<metric>`` for every metric, and the medians of
    num_parameters, tokens_per_s, step_time_s, train_time_s, peak_memory_mb.
    """
    ft = runs[runs["kind"] == "finetune"] if not runs.empty else runs
    if ft.empty:
        return pd.DataFrame()
    sel = runs_at_best_lr(ft)
    tried = ft.groupby(["encoding", "task"])["learning_rate"].agg(
        lambda s: ",".join(f"{v:g}" for v in sorted(s.dropna().unique())))
    rows = []
    for (enc, task), grp in sel.groupby(["encoding", "task"], sort=True):
        s = grp["score"].astype(float)
        first = grp.iloc[0]
        row = {
            "encoding": enc, "position": first["position"], "segment": first["segment"], "task": task,
            "main_metric": first["main_metric"], "greater_is_better": bool(first["greater_is_better"]),
            "best_lr": first["learning_rate"], "lrs_tried": tried.get((enc, task), ""),
            "n": int(s.count()), "seeds": ",".join(str(x) for x in sorted(grp["seed"].dropna().tolist())),
            "median": s.median(), "mean": s.mean(), "std": s.std(ddof=1), "min": s.min(), "max": s.max(),
        }
        majority = pd.to_numeric(grp["majority"], errors="coerce").dropna() if "majority" in grp else pd.Series(dtype=float)
        row["majority"] = float(majority.iloc[0]) if len(majority) else float("nan")
        if len(majority):  # every seed must beat it, not just the median
            better = s > row["majority"] if row["greater_is_better"] else s < row["majority"]
            row["beats_majority"] = bool(better.all())
        for m in metric_names(grp):
            row[f"median.{m}"] = pd.to_numeric(grp[f"best.{m}"], errors="coerce").median()
        for c in SPEED_COLUMNS:
            row[c] = pd.to_numeric(grp[c], errors="coerce").median()
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate_pretrain(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per encoding for ``kind == "pretrain"`` runs: final/best MLM loss (median over
    seeds), their spread, speed and parameter count."""
    pt = runs[runs["kind"] == "pretrain"] if not runs.empty else runs
    if pt.empty:
        return pd.DataFrame()
    rows = []
    for enc, grp in pt.groupby("encoding", sort=True):
        best = grp["score"].astype(float)
        final = pd.to_numeric(grp["final_score"], errors="coerce")
        row = {
            "encoding": enc, "position": grp.iloc[0]["position"], "segment": grp.iloc[0]["segment"],
            "task": grp.iloc[0]["task"], "main_metric": grp.iloc[0]["main_metric"], "n": int(best.count()),
            "seeds": ",".join(str(x) for x in sorted(grp["seed"].dropna().tolist())),
            "learning_rates": ",".join(f"{v:g}" for v in sorted(grp["learning_rate"].dropna().unique())),
            "final_median": final.median(), "final_std": final.std(ddof=1),
            "best_median": best.median(), "best_std": best.std(ddof=1),
        }
        for c in SPEED_COLUMNS:
            row[c] = pd.to_numeric(grp[c], errors="coerce").median()
        rows.append(row)
    return pd.DataFrame(rows)


def add_relative_speed(table: pd.DataFrame, baseline: str | None, by: list[str]) -> pd.DataFrame:
    """Add ``step_time_vs_baseline``: step time / baseline's step time − 1 (the paper's Table 1
    quantity), matched on the ``by`` columns (e.g. task)."""
    if table.empty or baseline is None or "step_time_s" not in table:
        return table.assign(step_time_vs_baseline=float("nan")) if not table.empty else table
    base = table[table["encoding"] == baseline]
    if by:
        ref = base.set_index(by)["step_time_s"]
        ref_vals = table.set_index(by).index.map(lambda k: ref.get(k, float("nan")))
    else:
        ref_vals = base["step_time_s"].iloc[0] if len(base) else float("nan")
    out = table.copy()
    out["step_time_vs_baseline"] = out["step_time_s"].astype(float) / pd.Series(ref_vals, index=out.index).astype(float) - 1
    return out

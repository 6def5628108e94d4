"""Pairwise comparison of each encoding against a baseline, per task, over fine-tuning seeds.

For every task, the baseline's and the encoding's runs at their own chosen learning rates are
compared on the main metric (best checkpoint per run):

* Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``), two-sided;
* a 95% percentile bootstrap CI (``scipy.stats.bootstrap``, seeds resampled independently per
  side) of the difference of medians and of means;
* Benjamini–Hochberg adjusted p-values over all comparisons in the report;
* "within noise": |difference of means| is smaller than the seed noise, the RMS of the two sides'
  seed standard deviations.

With fewer than two seeds on either side no test is possible and none is reported.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..registry import UnknownNameError, did_you_mean

ALPHA = 0.05
N_BOOTSTRAP = 2000
TEST_NOTE = (
    "Welch's t-test (two-sided) on the main metric over seeds; 95% percentile bootstrap CI "
    f"({N_BOOTSTRAP} resamples, seeds resampled per side) of the difference (encoding − baseline); "
    "p_bh = Benjamini–Hochberg adjusted; 'within noise' = |mean difference| < seed noise "
    "(RMS of both sides' seed std). With < 2 seeds per side no test is possible."
)
CLEAR_RULE = (
    "clearly better/worse = Welch p, Benjamini–Hochberg-adjusted over the comparisons of the same table, "
    f"below {ALPHA} AND the mean difference larger than the seed noise"
)


def default_baseline(encodings: list[str], positions: dict[str, tuple[str, str]] | None = None) -> str | None:
    """``absolute+input`` if present, else the first absolute/input encoding, else the first."""
    if not encodings:
        return None
    if "absolute+input" in encodings:
        return "absolute+input"
    for e in encodings:
        if positions and positions.get(e) == ("absolute", "input"):
            return e
    return sorted(encodings)[0]


def resolve_baseline(name: str, encodings: list[str]) -> str:
    """An exact encoding label, or a unique one starting with ``name`` (e.g. ``absolute``)."""
    if name in encodings:
        return name
    hits = [e for e in encodings if e.startswith(name)]
    if len(hits) == 1:
        return hits[0]
    known = ", ".join(sorted(encodings))
    if len(hits) > 1:
        raise UnknownNameError(f"baseline {name!r} is ambiguous: it matches {', '.join(hits)}")
    raise UnknownNameError(f"unknown baseline encoding {name!r}.{did_you_mean(name, encodings)} Known: {known}")


def _bootstrap_ci(a: np.ndarray, b: np.ndarray, fn) -> tuple[float, float]:
    def diff(x, y, axis=-1):
        return fn(x, axis=axis) - fn(y, axis=axis)

    if np.ptp(np.concatenate([a, b])) == 0:  # all equal: the difference is exactly 0
        return 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny samples: scipy warns about degenerate resamples
        res = stats.bootstrap((a, b), diff, vectorized=True, n_resamples=N_BOOTSTRAP,
                              method="percentile", confidence_level=0.95, rng=np.random.default_rng(0))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare_samples(enc: np.ndarray, base: np.ndarray, greater_is_better: bool = True) -> dict:
    """Statistics for one encoding-vs-baseline pair of seed samples (main metric values)."""
    enc, base = np.asarray(enc, float), np.asarray(base, float)
    out = {"n": len(enc), "n_baseline": len(base),
           "median_diff": float(np.median(enc) - np.median(base)) if len(enc) and len(base) else math.nan,
           "mean_diff": float(enc.mean() - base.mean()) if len(enc) and len(base) else math.nan,
           "t": math.nan, "p_value": math.nan, "ci_median_low": math.nan, "ci_median_high": math.nan,
           "ci_mean_low": math.nan, "ci_mean_high": math.nan, "seed_noise": math.nan,
           "within_noise": None, "testable": len(enc) >= 2 and len(base) >= 2}
    if not out["testable"]:
        out["verdict"] = f"test impossible (n={len(enc)} vs {len(base)} seeds; need ≥ 2 each)"
        return out
    noise = math.sqrt((enc.var(ddof=1) + base.var(ddof=1)) / 2)
    out["seed_noise"] = noise
    out["within_noise"] = bool(abs(out["mean_diff"]) < noise) if noise > 0 else out["mean_diff"] == 0
    if noise > 0:
        t = stats.ttest_ind(enc, base, equal_var=False)
        out["t"], out["p_value"] = float(t.statistic), float(t.pvalue)
    else:  # both sides constant: the difference is exact, no test needed
        out["p_value"] = 1.0 if out["mean_diff"] == 0 else 0.0
    out["ci_median_low"], out["ci_median_high"] = _bootstrap_ci(enc, base, np.median)
    out["ci_mean_low"], out["ci_mean_high"] = _bootstrap_ci(enc, base, np.mean)
    better = (out["mean_diff"] > 0) == bool(greater_is_better)
    if out["p_value"] < ALPHA and not out["within_noise"]:
        out["verdict"] = "better" if better else "worse"
    elif out["p_value"] < ALPHA:
        out["verdict"] = ("better" if better else "worse") + " (significant but within seed noise)"
    elif out["within_noise"]:
        out["verdict"] = "within noise"
    else:
        out["verdict"] = "not significant"
    return out


def compare_to_baseline(selected: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """One row per (encoding ≠ baseline, task) from runs at their chosen learning rates."""
    cols = ["encoding", "task", "baseline", "main_metric", "n", "n_baseline", "median_diff", "mean_diff",
            "ci_median_low", "ci_median_high", "ci_mean_low", "ci_mean_high", "t", "p_value", "p_bh",
            "seed_noise", "within_noise", "testable", "verdict"]
    if selected.empty or baseline is None:
        return pd.DataFrame(columns=cols)
    ft = selected[selected["kind"] == "finetune"]
    rows = []
    for task, grp in ft.groupby("task", sort=True):
        base = grp[grp["encoding"] == baseline]["score"].astype(float).to_numpy()
        for enc, eg in grp.groupby("encoding", sort=True):
            if enc == baseline:
                continue
            if len(base) == 0:
                rows.append({"encoding": enc, "task": task, "baseline": baseline, "n": len(eg), "n_baseline": 0,
                             "testable": False, "verdict": "no baseline runs for this task"})
                continue
            r = compare_samples(eg["score"].astype(float).to_numpy(), base, bool(eg["greater_is_better"].iloc[0]))
            rows.append({"encoding": enc, "task": task, "baseline": baseline,
                         "main_metric": eg["main_metric"].iloc[0], **r})
    out = pd.DataFrame(rows, columns=cols)
    ok = out["p_value"].notna()
    out["p_bh"] = np.nan
    if ok.any():
        out.loc[ok, "p_bh"] = stats.false_discovery_control(out.loc[ok, "p_value"].astype(float).to_numpy())
    return out


def mark_clear(findings: pd.DataFrame) -> pd.DataFrame:
    """Add ``p_bh`` (Benjamini–Hochberg over the rows with a p-value, unless present) and
    ``clear`` (:data:`CLEAR_RULE`: verdict better/worse and p_bh < ALPHA)."""
    out = findings.copy()
    if "p_bh" not in out or out["p_bh"].isna().all():
        out["p_bh"] = np.nan
        ok = pd.to_numeric(out["p_value"], errors="coerce").notna() if len(out) else pd.Series(dtype=bool)
        if len(out) and ok.any():
            out.loc[ok, "p_bh"] = stats.false_discovery_control(out.loc[ok, "p_value"].astype(float).to_numpy())
    p_bh = pd.to_numeric(out["p_bh"], errors="coerce")
    out["clear"] = out["verdict"].isin(["better", "worse"]) & (p_bh < ALPHA) if len(out) else pd.Series(dtype=bool)
    return out

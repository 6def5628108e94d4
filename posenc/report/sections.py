"""The report's sections as display tables (strings), shared by the Markdown, LaTeX and HTML exporters.

Display conventions: metrics whose values all lie in [−1, 1] (accuracy, F1, MCC, correlations) are
shown ×100 like the paper; losses are shown as they are. The CSV export keeps raw values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from . import aggregate, compare, paper_table
from .averages import GLUE_TASKS, PAPER_COLUMNS
from .build import BANNER, Report

DISPLAY_NOTE = "Metrics in [−1, 1] (accuracy, F1, MCC, correlations) are shown ×100; losses as they are."


@dataclass
class Section:
    """A titled block: explanatory ``text`` lines and an optional display ``table``."""

    key: str
    title: str
    text: list[str]
    table: pd.DataFrame | None = None


def is_percent(metric: str, values) -> bool:
    """Show ×100? True for metrics that are not losses and whose values all lie in [−1, 1]."""
    name = str(metric).lower()
    if any(s in name for s in ("loss", "perplexity", "ppl", "bleu", "mse", "mae")):
        return False
    v = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()
    return len(v) > 0 and bool((v.abs() <= 1).all())


def num(v, percent: bool = False, decimals: int = 1) -> str:
    """Format a number for display (×100 with ``decimals`` when ``percent``); NaN/None -> '–'."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–" if v is None else str(v)
    if math.isnan(f):
        return "–"
    if percent:
        return f"{100 * f:.{decimals}f}"
    return f"{f:,.0f}" if abs(f) >= 1000 else f"{f:.4g}"


def _speed(r) -> dict:
    rel = r.get("step_time_vs_baseline")
    return {"Params": num(r.get("num_parameters")),
            "tokens/s": num(r.get("tokens_per_s")), "step (ms)": num(1000 * r["step_time_s"]) if pd.notna(r.get("step_time_s")) else "–",
            "Δstep vs base": "–" if rel is None or pd.isna(rel) else f"{100 * rel:+.0f}%"}


def _majority(r, pct: bool) -> str:
    m = r.get("majority")
    if m is None or pd.isna(m):
        return "–"
    return f"{num(m, pct)} ({'all seeds beat it' if r.get('beats_majority') else 'NOT beaten by every seed'})"


def finetune_table(rep: Report) -> pd.DataFrame:
    """Encoding × task rows: main metric stats, other metrics, speed."""
    rows = []
    for _, r in rep.finetune.iterrows():
        metric = r["main_metric"]
        pct = is_percent(metric, rep.runs.loc[rep.runs["task"] == r["task"], "score"])
        others = [f"{c[7:]}={num(r[c], is_percent(c[7:], [r[c]]))}" for c in r.index
                  if c.startswith("median.") and c[7:] != metric and pd.notna(r[c])]
        rows.append({"Encoding": r["encoding"], "Task": r["task"], "Metric": metric + (" ×100" if pct else ""),
                     "best lr": num(r["best_lr"]), "lrs": r["lrs_tried"], "n": int(r["n"]),
                     "Median": num(r["median"], pct), "Mean ± std": f"{num(r['mean'], pct)} ± {num(r['std'], pct, 2)}",
                     "Majority class": _majority(r, pct),
                     "Other metrics (median)": "; ".join(others) or "–", **_speed(r)})
    return pd.DataFrame(rows)


def comparison_table(rep: Report) -> pd.DataFrame:
    rows = []
    for _, r in rep.comparison.iterrows():
        pct = is_percent(r.get("main_metric") or "", rep.runs.loc[rep.runs["task"] == r["task"], "score"])
        ok = bool(r["testable"])
        rows.append({"Encoding": r["encoding"], "Task": r["task"], "n (enc/base)": f"{r['n']}/{r['n_baseline']}",
                     "Δ median": num(r["median_diff"], pct, 2), "Δ mean": num(r["mean_diff"], pct, 2),
                     "95% CI Δ median": f"[{num(r['ci_median_low'], pct, 2)}, {num(r['ci_median_high'], pct, 2)}]" if ok else "–",
                     "95% CI Δ mean": f"[{num(r['ci_mean_low'], pct, 2)}, {num(r['ci_mean_high'], pct, 2)}]" if ok else "–",
                     "Welch p": f"{r['p_value']:.3g}" if ok and pd.notna(r["p_value"]) else "–",
                     "p (BH)": f"{r['p_bh']:.3g}" if ok and pd.notna(r["p_bh"]) else "–",
                     "seed noise": num(r["seed_noise"], pct, 2) if ok else "–", "Verdict": r["verdict"]})
    return pd.DataFrame(rows)


def pretrain_table(rep: Report) -> pd.DataFrame:
    rows = []
    for _, r in rep.pretrain.iterrows():
        rows.append({"Encoding": r["encoding"], "Metric": r["main_metric"], "n": int(r["n"]), "lr": r["learning_rates"],
                     "final (median)": num(r["final_median"]), "final std": num(r["final_std"]),
                     "best (median)": num(r["best_median"]), "best std": num(r["best_std"]), **_speed(r)})
    return pd.DataFrame(rows)


def averages_table(rep: Report) -> pd.DataFrame:
    rows = []
    for _, r in rep.averages.iterrows():
        rows.append({"Encoding": r["encoding"], "Paper avg (×100)": num(r["paper_avg"], True),
                     "over": f"{r['paper_avg_n']}/7", "missing": r["paper_avg_missing"] or "none",
                     "GLUE score (×100)": num(r["glue_score"], True), "GLUE tasks": f"{r['glue_n']}/{len(GLUE_TASKS)}",
                     "GLUE missing": r["glue_missing"] or "none"})
    return pd.DataFrame(rows)


def lr_table(rep: Report) -> pd.DataFrame:
    g = rep.lr_grid
    chosen = set(map(tuple, rep.finetune[["encoding", "task", "best_lr"]].astype(str).values)) if not rep.finetune.empty else set()
    rows = []
    for _, r in g.iterrows():
        pct = is_percent(r["main_metric"], rep.runs.loc[rep.runs["task"] == r["task"], "score"])
        rows.append({"Encoding": r["encoding"], "Task": r["task"], "lr": num(r["learning_rate"]), "n": int(r["n"]),
                     "Median": num(r["median"], pct), "Mean": num(r["mean"], pct), "Std": num(r["std"], pct),
                     "chosen": "✓" if (r["encoding"], r["task"], str(r["learning_rate"])) in chosen else ""})
    return pd.DataFrame(rows)


def probes_table(rep: Report) -> pd.DataFrame:
    p = rep.probes
    if p.empty:
        return pd.DataFrame()
    rows = []
    for enc, g in p.groupby("encoding", sort=True):
        sup = g[g["supported"].astype(bool) & g["length"].notna()]
        unsup = g[~g["supported"].astype(bool)]
        reasons = "; ".join(sorted({str(x) for x in unsup["reason"].dropna() if str(x)})) or ("not supported" if len(unsup) else "")
        if sup.empty:
            rows.append({"Encoding": enc, "Supported": "no", "MLM loss by length (median)": "–", "Reason": reasons})
            continue
        med = sup.assign(mlm_loss=pd.to_numeric(sup["mlm_loss"], errors="coerce")).groupby("length")["mlm_loss"].median()
        rows.append({"Encoding": enc, "Supported": f"up to {int(med.index.max())}" if len(unsup) else "yes",
                     "MLM loss by length (median)": ", ".join(f"{int(n)}: {num(v)}" for n, v in med.items()), "Reason": reasons})
    return pd.DataFrame(rows)


def incomplete_table(rep: Report) -> pd.DataFrame:
    i = rep.incomplete
    return i[["run_dir", "status", "reason"]].rename(columns={"run_dir": "Run", "status": "Status", "reason": "Reason"})


def sections(rep: Report, include_paper: bool = True) -> list[Section]:
    """Every section, in reading order; empty ones are left out."""
    n_ft = int((rep.runs["kind"] == "finetune").sum()) if not rep.runs.empty else 0
    n_pt = int((rep.runs["kind"] == "pretrain").sum()) if not rep.runs.empty else 0
    out = [Section("summary", "Inputs and protocol", [
        f"Sources: {', '.join(rep.sources)}.",
        f"Complete runs: {len(rep.runs)} ({n_ft} fine-tune, {n_pt} pre-train); incomplete or unreadable "
        f"(excluded): {len(rep.incomplete)}.",
        f"Baseline encoding: {rep.baseline or '(none)'}.",
        "Per run, the score is the main metric of its best checkpoint (paper protocol, §8.9).",
        aggregate.LR_RULE[0].upper() + aggregate.LR_RULE[1:] + ".",
        aggregate.STATS_NOTE[0].upper() + aggregate.STATS_NOTE[1:] + ".",
        compare.TEST_NOTE, DISPLAY_NOTE, *rep.notes])]
    if not rep.finetune.empty:
        t2 = paper_table.table2(rep.finetune, rep.runs)
        out.append(Section("table2", "Table 2 layout (this report's runs)", [
            "Medians over seeds at the chosen learning rate, ×100. Columns and Avg follow posenc.metrics: "
            + ", ".join(f"{t} {m}" for t, m in PAPER_COLUMNS.items()) + " (the paper does not name its "
            "metrics); † = that metric is absent, the task's main metric is shown instead. Avg = mean of the "
            "paper's 7 numbers over those present ('Avg over'). Other tasks: main metric.", BANNER], t2))
        out.append(Section("averages", "Averages", [
            "Paper avg: mean of the paper's 7 numbers present (metrics as in Table 2 layout). GLUE score: mean over "
            "the GLUE tasks present of the leaderboard number (posenc.metrics.GLUE_TASK_METRICS: MRPC/QQP mean of "
            "F1 and accuracy, STS-B mean of Pearson and Spearman, MNLI mean of matched and mismatched accuracy). "
            "Missing components are listed; an average over fewer tasks is not comparable with a full one."],
            averages_table(rep)))
        out.append(Section("finetune", "Fine-tuning results (encoding × task)", [
            "Speed beside quality: parameters, training tokens/s and step time are medians over the same runs; "
            "Δstep is the step-time change relative to the baseline on the same task (the paper's Table 1 quantity)."],
            finetune_table(rep)))
        out.append(Section("comparison", f"Comparison with the baseline ({rep.baseline})", [compare.TEST_NOTE],
                           comparison_table(rep)))
        out.append(Section("lr", "Learning-rate grid", [aggregate.LR_RULE], lr_table(rep)))
    if not rep.pretrain.empty:
        out.append(Section("pretrain", "Pre-training", [
            "MLM loss (lower is better): 'final' is the last evaluation, 'best' the best checkpoint; medians over seeds."],
            pretrain_table(rep)))
    if not rep.probes.empty:
        out.append(Section("probes", "Length generalisation", [
            "MLM loss of each pre-trained model at longer evaluation lengths (probe.json); "
            "encodings that cannot run longer inputs are listed as unsupported with the reason."], probes_table(rep)))
    if not rep.incomplete.empty:
        out.append(Section("incomplete", "Incomplete runs (excluded)", [
            "These runs are not part of any number above."], incomplete_table(rep)))
    if rep.figure_errors:
        out.append(Section("figure_errors", "Checkpoints not drawn", rep.figure_errors))
    if include_paper:
        out.append(Section("paper", "Reference: the paper's Table 2 (NOT these runs)", [
            "DIET paper, Table 2: GLUE dev, BERT_BASE, median of 5 runs, as printed. Shown for orientation only; "
            "it is a different scale of model, data and compute."], paper_table.paper_table_df()))
    return out

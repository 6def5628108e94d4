"""Fine-tuning results per encoding × task (tasks scored on one evaluation set; tasks evaluated
zero-shot per language have their own section): the main metric over seeds at the chosen
learning rate, the other metrics, the trivial baseline, and the speed the runs recorded."""

from __future__ import annotations

import pandas as pd

from .. import plots
from ..crosslingual import has_zero_shot
from ..display import TRIVIAL, is_false, is_percent, num
from .base import FLAG_COLUMNS, HEADLINE_COLUMNS, Block, Part, ReportSection, baseline_name, frame, register_section


def monolingual(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` (with a ``task`` column) for tasks whose runs carry no zero-shot results."""
    if table.empty or runs.empty:
        return table
    zs_tasks = set(runs.loc[has_zero_shot(runs), "task"])
    return table[~table["task"].isin(zs_tasks)]


def speed_cells(r) -> dict:
    """Parameters and the runs' own (uncontrolled) speed."""
    rel = r.get("step_time_vs_baseline")
    return {"Params": num(r.get("num_parameters")),
            "tokens/s (sweep)": num(r.get("tokens_per_s")),
            "step ms (sweep)": num(1000 * r["step_time_s"]) if pd.notna(r.get("step_time_s")) else "–",
            "Δstep vs base (sweep, uncontrolled)": "–" if rel is None or pd.isna(rel) else f"{100 * rel:+.0f}%"}


def _trivial(r, pct: bool, name: str) -> str:
    m = r.get("majority")
    if m is None or pd.isna(m):
        return "–"
    return f"{num(m, pct)} {name} ({'all seeds beat it' if r.get('beats_majority') else 'NOT beaten by every seed'})"


@register_section
class TaskResultsSection(ReportSection):
    name = "task_results"
    order = 30

    def applies(self, report) -> bool:
        return not monolingual(report.finetune, report.runs).empty

    def build(self, report, plot_dir) -> Part:
        agg = monolingual(report.finetune, report.runs)
        rows, heads, flags = [], [], []
        for _, r in agg.iterrows():
            metric = r["main_metric"]
            pct = is_percent(metric, report.runs.loc[report.runs["task"] == r["task"], "score"])
            others = [f"{c[7:]}={num(r[c], is_percent(c[7:], [r[c]]))}" for c in r.index
                      if c.startswith("median.") and c[7:] != metric and pd.notna(r[c])]
            low = is_false(r.get("beats_majority"))
            rows.append({"Encoding": r["encoding"], "Task": r["task"], "Metric": metric + (" ×100" if pct else ""),
                         "best lr": num(r["best_lr"]), "lrs": r["lrs_tried"], "n": int(r["n"]),
                         "Median": num(r["median"], pct) + (f" {TRIVIAL}" if low else ""),
                         "Mean ± std": f"{num(r['mean'], pct)} ± {num(r['std'], pct, 2)}",
                         "Trivial baseline": _trivial(r, pct, baseline_name(report.runs, r["task"])),
                         "Other metrics (median)": "; ".join(others) or "–", **speed_cells(r)})
            heads.append({"encoding": r["encoding"], "task": r["task"], "metric": metric, "median": r["median"],
                          "std": r["std"], "n": int(r["n"]), "greater_is_better": bool(r["greater_is_better"]),
                          "percent": pct, "trivial": low})
            if low:
                sel = report.selected
                scores = sel.loc[(sel["encoding"] == r["encoding"]) & (sel["task"] == r["task"]), "score"].astype(float)
                below = int((scores <= r["majority"]).sum() if r["greater_is_better"] else (scores >= r["majority"]).sum())
                flags.append({"encoding": r["encoding"], "task": r["task"], "scope": "", "metric": metric, "percent": pct,
                              "median": r["median"], "trivial": r["majority"],
                              "baseline_name": baseline_name(report.runs, r["task"]), "seeds_not_above": below,
                              "n": int(r["n"])})
        figures = []
        if plot_dir is not None:
            sel = monolingual(report.selected, report.runs)
            bars = plots.task_bars(sel, plot_dir / "task_bars.png") if not sel.empty else None
            figures = [bars] if bars is not None else []
        text = ["Speed beside quality: parameters, training tokens/s and step time are medians over the same runs, as "
                "each run timed itself in the sweep (uncontrolled: other load on the machine changes them; see the "
                "cost section). Δstep is the step-time change relative to the baseline on the same task (the paper's "
                "Table 1 quantity). The trivial baseline is the task kind's, named in its cell (majority class, most "
                "frequent tag...); "
                f"{TRIVIAL} marks a median whose seeds do not all beat it."]
        block = Block("finetune", "Fine-tuning results (encoding × task)", text, pd.DataFrame(rows), figures)
        return Part(blocks=[block], csv={"results": report.finetune},
                    headlines=frame(heads, HEADLINE_COLUMNS), flags=frame(flags, FLAG_COLUMNS))

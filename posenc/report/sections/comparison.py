"""Each encoding against the baseline, per task, over fine-tuning seeds (Welch test, bootstrap
CIs, Benjamini–Hochberg): the evidence behind the summary's verdicts for tasks scored on one
evaluation set."""

from __future__ import annotations

import pandas as pd

from .. import compare
from ..display import is_percent, num
from .base import FINDING_COLUMNS, Block, Part, ReportSection, frame, register_section
from .task_results import monolingual


def comparison_rows(report) -> pd.DataFrame:
    """Display rows of ``report.comparison``."""
    rows = []
    for _, r in report.comparison.iterrows():
        pct = is_percent(r.get("main_metric") or "", report.runs.loc[report.runs["task"] == r["task"], "score"])
        ok = bool(r["testable"])
        rows.append({"Encoding": r["encoding"], "Task": r["task"], "n (enc/base)": f"{r['n']}/{r['n_baseline']}",
                     "Δ median": num(r["median_diff"], pct, 2), "Δ mean": num(r["mean_diff"], pct, 2),
                     "95% CI Δ median": f"[{num(r['ci_median_low'], pct, 2)}, {num(r['ci_median_high'], pct, 2)}]" if ok else "–",
                     "95% CI Δ mean": f"[{num(r['ci_mean_low'], pct, 2)}, {num(r['ci_mean_high'], pct, 2)}]" if ok else "–",
                     "Welch p": f"{r['p_value']:.3g}" if ok and pd.notna(r["p_value"]) else "–",
                     "p (BH)": f"{r['p_bh']:.3g}" if ok and pd.notna(r["p_bh"]) else "–",
                     "seed noise": num(r["seed_noise"], pct, 2) if ok else "–", "Verdict": r["verdict"]})
    return pd.DataFrame(rows)


@register_section
class ComparisonSection(ReportSection):
    name = "comparison"
    order = 40

    def applies(self, report) -> bool:
        return report.baseline is not None and not report.comparison.empty

    def build(self, report, plot_dir) -> Part:
        findings = []
        greater = report.finetune.set_index(["encoding", "task"])["greater_is_better"].to_dict() \
            if not report.finetune.empty else {}
        for _, r in monolingual(report.comparison, report.runs).iterrows():
            pct = is_percent(r.get("main_metric") or "", report.runs.loc[report.runs["task"] == r["task"], "score"])
            findings.append({**{k: r.get(k) for k in FINDING_COLUMNS if k in r}, "scope": "", "metric": r["main_metric"],
                             "percent": pct, "greater_is_better": greater.get((r["encoding"], r["task"]), True)})
        text = [compare.TEST_NOTE, "For a task evaluated zero-shot per language this compares the train language's dev "
                "score (the checkpoint selection); its per-language comparison is in the zero-shot section."]
        block = Block("comparison", f"Comparison with the baseline ({report.baseline})", text, comparison_rows(report))
        found = compare.mark_clear(frame(findings, FINDING_COLUMNS))
        return Part(blocks=[block], csv={"comparison": report.comparison}, findings=found)

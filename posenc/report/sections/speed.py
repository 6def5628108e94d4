"""Cost: parameters and step time of each encoding relative to the baseline, from a `posenc
bench` CSV when one is given (interleaved timings), else the sweep's own timings labelled
uncontrolled; the quality-vs-cost figure over every task's headline number."""

from __future__ import annotations

import pandas as pd

from .. import plots, speed
from ..display import num, ratio_text
from .base import Block, Part, ReportSection, register_section


@register_section
class CostSection(ReportSection):
    name = "cost"
    order = 45
    uses_parts = True  # the figure plots every section's headline numbers

    def applies(self, report) -> bool:
        return report.bench is not None or (not report.runs.empty and report.runs["step_time_s"].notna().any())

    def build(self, report, plot_dir) -> Part:
        costs = speed.report_costs(report)
        rows = [{"Encoding": r["encoding"], "Params vs base": ratio_text(r["params_ratio"], 1),
                 "Step time vs base": ratio_text(r["ratio"]), "Timed by": r["where"]} for _, r in costs.iterrows()]
        if report.bench is not None:
            text = [f"Step times from the `posenc bench` CSV {report.bench_path}: every model timed round-robin in one "
                    "process, so machine load hits all alike; the ratio is to the baseline's position encoding in the same "
                    "bench, training step, at the bench's largest length. A bench model matches a report encoding by its "
                    "position encoding and options; the bench's own segment setting applies. Parameters come from the runs."]
        else:
            text = ["Step times " + speed.UNCONTROLLED + ". The ratio is the median over tasks of each task's step-time "
                    "ratio to the baseline. Parameters come from the runs (exact)."]
        csv = {"costs": costs}
        blocks = [Block("cost", "Cost (parameters and step time)", text, pd.DataFrame(rows))]
        if report.bench is not None:
            detail = speed.bench_costs(report.bench, report.runs.groupby("encoding")["position_options"].first().to_dict(),
                                       report.baseline)
            csv["bench_costs"] = detail
            table = pd.DataFrame([{"Encoding": r["encoding"], "bench model": r["bench_model"], "mode": r["mode"],
                                   "b": r["batch"], "L": r["length"], "ms (median)": num(r["median_ms"]),
                                   "vs base": ratio_text(r["ratio"])} for _, r in detail.iterrows()])
            blocks.append(Block("bench", "posenc bench timings matched to this report's encodings",
                                ["Median over the bench's interleaved rounds; 'vs base' = time / the baseline's."], table))
        if plot_dir is not None:
            fig = plots.cost_quality(report.gathered("headlines"), costs, plot_dir / "cost_quality.png")
            blocks[0].figures = [fig] if fig is not None else []
        return Part(blocks=blocks, csv=csv)

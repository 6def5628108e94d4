"""The learning-rate grid: every rate tried, per encoding × task, and which one the rule chose."""

from __future__ import annotations

import pandas as pd

from .. import aggregate
from ..display import is_percent, num
from .base import Block, Part, ReportSection, register_section


@register_section
class LearningRateSection(ReportSection):
    name = "lr_grid"
    order = 50

    def applies(self, report) -> bool:
        return not report.lr_grid.empty

    def build(self, report, plot_dir) -> Part:
        g = report.lr_grid
        chosen = set(map(tuple, report.finetune[["encoding", "task", "best_lr"]].astype(str).values)) \
            if not report.finetune.empty else set()
        rows = []
        for _, r in g.iterrows():
            pct = is_percent(r["main_metric"], report.runs.loc[report.runs["task"] == r["task"], "score"])
            rows.append({"Encoding": r["encoding"], "Task": r["task"], "lr": num(r["learning_rate"]), "n": int(r["n"]),
                         "Median": num(r["median"], pct), "Mean": num(r["mean"], pct), "Std": num(r["std"], pct),
                         "chosen": "✓" if (r["encoding"], r["task"], str(r["learning_rate"])) in chosen else ""})
        text = [aggregate.LR_RULE + ". For a task evaluated zero-shot in other languages, the rate is chosen on the "
                "train language's dev set, as the checkpoint is."]
        return Part(blocks=[Block("lr", "Learning-rate grid", text, pd.DataFrame(rows))], csv={"lr_grid": g})

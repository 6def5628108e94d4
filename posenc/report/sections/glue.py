"""GLUE: the DIET paper's Table 2 layout, the paper's 7-number average and the GLUE score over the
GLUE tasks present, and the paper's own Table 2 for reference (definitions: posenc.metrics)."""

from __future__ import annotations

import pandas as pd

from .. import paper_table
from ..averages import GLUE_TASKS, PAPER_COLUMNS, norm_task
from ..build import BANNER
from ..display import num
from .task_results import monolingual
from .base import Block, Part, ReportSection, register_section


def glue_rows(finetune: pd.DataFrame) -> pd.DataFrame:
    """The fine-tune aggregate rows of GLUE tasks."""
    if finetune.empty:
        return finetune
    known = set(GLUE_TASKS) | set(PAPER_COLUMNS) | {"ax"}
    return finetune[finetune["task"].map(norm_task).isin(known)]


def averages_display(averages: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in averages.iterrows():
        rows.append({"Encoding": r["encoding"], "Paper avg (×100)": num(r["paper_avg"], True),
                     "over": f"{r['paper_avg_n']}/7", "missing": r["paper_avg_missing"] or "none",
                     "GLUE score (×100)": num(r["glue_score"], True), "GLUE tasks": f"{r['glue_n']}/{len(GLUE_TASKS)}",
                     "GLUE missing": r["glue_missing"] or "none"})
    return pd.DataFrame(rows)


@register_section
class GlueSection(ReportSection):
    name = "glue"
    order = 20

    def applies(self, report) -> bool:
        return not glue_rows(report.finetune).empty

    def build(self, report, plot_dir) -> Part:
        t2 = paper_table.table2(monolingual(report.finetune, report.runs), report.runs)
        blocks = [
            Block("table2", "Table 2 layout (this report's runs)", [
                "Medians over seeds at the chosen learning rate, ×100. Columns and Avg follow posenc.metrics: "
                + ", ".join(f"{t} {m}" for t, m in PAPER_COLUMNS.items()) + " (the paper does not name its "
                "metrics); † = that metric is absent, the task's main metric is shown instead. Avg = mean of the "
                "paper's 7 numbers over those present ('Avg over'). Other tasks: main metric.", BANNER], t2,
                standalone="table2"),
            Block("averages", "Averages", [
                "Paper avg: mean of the paper's 7 numbers present (metrics as in Table 2 layout). GLUE score: mean over "
                "the GLUE tasks present of the leaderboard number (posenc.metrics.GLUE_TASK_METRICS: MRPC/QQP mean of "
                "F1 and accuracy, STS-B mean of Pearson and Spearman, MNLI mean of matched and mismatched accuracy). "
                "Missing components are listed; an average over fewer tasks is not comparable with a full one."],
                averages_display(report.averages)),
        ]
        return Part(blocks=blocks, csv={"averages": report.averages})


@register_section
class GluePaperReference(ReportSection):
    """The paper's printed Table 2, last in the report."""

    name = "glue_paper"
    order = 100

    def applies(self, report) -> bool:
        return GlueSection().applies(report)

    def build(self, report, plot_dir) -> Part:
        return Part(blocks=[Block("paper", "Reference: the paper's Table 2 (NOT these runs)", [
            "DIET paper, Table 2: GLUE dev, BERT_BASE, median of 5 runs, as printed. Shown for orientation only; "
            "it is a different scale of model, data and compute."], paper_table.paper_table_df())])

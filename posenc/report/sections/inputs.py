"""Inputs and protocol: where the runs came from, what counts, and the rules behind every number."""

from __future__ import annotations

from .. import aggregate, compare
from ..display import DISPLAY_NOTE, MARKER_NOTE, capitalised
from .base import Block, Part, ReportSection, register_section


@register_section
class InputsSection(ReportSection):
    name = "inputs"
    order = 5

    def applies(self, report) -> bool:
        return True

    def build(self, report, plot_dir) -> Part:
        runs = report.runs
        n_ft = int((runs["kind"] == "finetune").sum()) if not runs.empty else 0
        n_pt = int((runs["kind"] == "pretrain").sum()) if not runs.empty else 0
        text = [
            f"Sources: {', '.join(report.sources)}.",
            f"Complete runs: {len(runs)} ({n_ft} fine-tune, {n_pt} pre-train); incomplete or unreadable "
            f"(excluded): {len(report.incomplete)}.",
            f"Baseline encoding: {report.baseline or '(none)'}.",
            "Per run, the score is the main metric of its best checkpoint (paper protocol, §8.9).",
            capitalised(aggregate.LR_RULE) + ".",
            capitalised(aggregate.STATS_NOTE) + ".",
            compare.TEST_NOTE, DISPLAY_NOTE, MARKER_NOTE, *report.notes]
        csv = {"runs": runs.drop(columns=["results"], errors="ignore")} if not runs.empty else {}
        return Part(blocks=[Block("inputs", "Inputs and protocol", text, bullets=True)], csv=csv)

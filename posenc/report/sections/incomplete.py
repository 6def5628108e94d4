"""Runs that do not count (failed, still running, unreadable), with the reason."""

from __future__ import annotations

from .base import Block, Part, ReportSection, register_section


@register_section
class IncompleteSection(ReportSection):
    name = "incomplete"
    order = 90

    def applies(self, report) -> bool:
        return not report.incomplete.empty

    def build(self, report, plot_dir) -> Part:
        i = report.incomplete
        table = i[["run_dir", "status", "reason"]].rename(columns={"run_dir": "Run", "status": "Status", "reason": "Reason"})
        return Part(blocks=[Block("incomplete", "Incomplete runs (excluded)", ["These runs are not part of any number above."],
                                  table)], csv={"incomplete": i})

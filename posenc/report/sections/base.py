"""The report-section contract: one module per section, registered in :data:`SECTIONS`.

A section decides from the runs themselves whether it has something to say (what results.json
carries: ``zero_shot``, a task kind's ``report_columns``, ``unigram_entropy``, ...), never from a
task's or kind's name outside its own module. It returns a :class:`Part`:

* ``blocks``: titled display blocks (text, one display table of strings, figures) that every
  exporter renders in section order (Markdown, LaTeX, HTML);
* ``csv``: tidy tables with raw values, written as ``<name>.csv``;
* ``headlines``: one number per encoding × task (what the summary's table shows);
* ``findings``: comparisons with the baseline (what the summary says differs beyond seed noise);
* ``flags``: numbers at or below the task's trivial baseline (named by :func:`baseline_name`);
* ``notes``: warnings the summary repeats (e.g. pre-training that never beat a context-free model).

The summary section is built last (``uses_parts = True``) from the other parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pandas as pd

from ...registry import Registry
from ..plots import Plot

HEADLINE_COLUMNS = ["encoding", "task", "metric", "median", "std", "n", "greater_is_better", "percent", "trivial"]
FINDING_COLUMNS = ["encoding", "task", "scope", "metric", "percent", "greater_is_better", "n", "n_baseline", "median_diff", "mean_diff",
                   "ci_median_low", "ci_median_high", "p_value", "p_bh", "seed_noise", "within_noise", "testable", "verdict",
                   "clear"]
FLAG_COLUMNS = ["encoding", "task", "scope", "metric", "percent", "median", "trivial", "baseline_name", "seeds_not_above",
                "n"]


@dataclass
class Block:
    """A titled block: ``text`` lines (a bulleted list when ``bullets``), an optional display
    ``table`` (cells are strings), ``footer`` lines under the table (legends, rules), figures.
    ``standalone``: also written alone as ``<standalone>.md`` / ``.tex``. ``layout="side"``: the
    HTML page puts the figures beside the text and table."""

    key: str
    title: str
    text: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    figures: list[Plot] = field(default_factory=list)
    bullets: bool = False
    footer: list[str] = field(default_factory=list)
    standalone: str | None = None
    layout: str = "stack"


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


@dataclass
class Part:
    """What one section contributes (see the module docstring)."""

    blocks: list[Block] = field(default_factory=list)
    csv: dict[str, pd.DataFrame] = field(default_factory=dict)
    headlines: pd.DataFrame = field(default_factory=lambda: _empty(HEADLINE_COLUMNS))
    findings: pd.DataFrame = field(default_factory=lambda: _empty(FINDING_COLUMNS))
    flags: pd.DataFrame = field(default_factory=lambda: _empty(FLAG_COLUMNS))
    notes: list[str] = field(default_factory=list)


class ReportSection:
    """Base class: override :meth:`applies` and :meth:`build`."""

    name: ClassVar[str] = ""
    #: position in the report (lower first); the summary is 0
    order: ClassVar[int] = 50
    #: built after every other section, with their parts in ``report.parts``
    uses_parts: ClassVar[bool] = False

    def applies(self, report) -> bool:
        """Whether the runs hold anything this section shows."""
        raise NotImplementedError

    def build(self, report, plot_dir: Path | None) -> Part:
        """The section's part; figures go under ``plot_dir`` (None: no figures)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<report section {self.name!r}>"


SECTIONS: Registry[ReportSection] = Registry("report section")


def register_section(cls: type[ReportSection]) -> type[ReportSection]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``."""
    SECTIONS.register(cls.name, cls())
    return cls


def baseline_name(runs: pd.DataFrame, task: str) -> str:
    """What ``task``'s trivial baseline predicts, as its runs recorded it (the task kind's
    ``baseline_name``: "majority class", "most frequent tag"...); "trivial baseline" for runs
    written before results.json recorded it."""
    if not runs.empty and "baseline_name" in runs:
        names = runs.loc[runs["task"] == task, "baseline_name"].dropna()
        if len(names):
            return str(names.iloc[0])
    return "trivial baseline"


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """``rows`` as a DataFrame with exactly ``columns`` (missing keys NaN)."""
    return pd.DataFrame(rows, columns=columns)

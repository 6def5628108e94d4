"""Report sections: one module each, registered in :data:`SECTIONS` (contract in ``base.py``;
how to add one: docs/report.md).

Every section that applies to the runs contributes blocks (display), CSV tables, headline
numbers, comparisons with the baseline and trivial-baseline flags; the summary, built last,
opens the report with what differs beyond seed noise, where, and at what measured cost.
"""

from .base import SECTIONS, Block, Part, ReportSection, register_section
from . import (summary, inputs, glue, task_results, crosslingual, comparison, speed, lr_grid,  # noqa: F401,E402
               pretrain, length, probes, positions, incomplete, translation)

__all__ = ["SECTIONS", "Block", "Part", "ReportSection", "register_section"]

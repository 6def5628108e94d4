"""Comparison reports over run directories (``posenc report``).

    from posenc.report import build_report, export
    rep = build_report(["runs/"], out_dir="report/", bench="docs/bench/small-cpu.csv")
    export(rep, "report/", ["markdown", "csv", "latex", "html"])

Modules: collect (run dirs -> DataFrame), aggregate (seeds, best-lr rule), averages (GLUE score,
paper average), compare (vs baseline), crosslingual (zero-shot per-language tables, XTREME score),
speed (bench CSV vs uncontrolled sweep timings), plots / checkpoint_plots (figures), paper_table
(Table 2 layout), display (number formats and markers), sections/ (one module per report section,
registered in SECTIONS; docs/report.md), export_* (one per format), formats (the exporter registry).
"""

from .build import BANNER, Report, build_report
from .formats import EXPORTERS, export, parse_formats
from .sections import SECTIONS, Block, Part, ReportSection, register_section

__all__ = ["BANNER", "EXPORTERS", "SECTIONS", "Block", "Part", "Report", "ReportSection", "build_report", "export",
           "parse_formats", "register_section"]

"""Comparison reports over run directories (``posenc report``).

    from posenc.report import build_report, export
    rep = build_report(["runs/"], out_dir="report/")      # tables + figures
    export(rep, "report/", ["markdown", "csv", "latex", "html"])

Modules: collect (run dirs -> DataFrame), aggregate (seeds, best-lr rule), averages (GLUE score,
paper average), compare (vs baseline), plots / checkpoint_plots (figures), paper_table (Table 2
layout), sections (display tables), export_* (one per format), formats (the exporter registry).
"""

from .build import BANNER, Report, build_report
from .formats import EXPORTERS, export, parse_formats

__all__ = ["BANNER", "EXPORTERS", "Report", "build_report", "export", "parse_formats"]

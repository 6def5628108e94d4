"""Registry of report exporters: ``name -> write(report, out_dir) -> list[Path]``.

Registered explicitly here (no import-for-side-effect); short aliases ``md`` and ``tex`` resolve to
``markdown`` and ``latex``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..registry import Registry
from . import export_csv, export_html, export_latex, export_markdown

EXPORTERS: Registry[Callable] = Registry("report format")
EXPORTERS.register("markdown", export_markdown.write)
EXPORTERS.register("csv", export_csv.write)
EXPORTERS.register("latex", export_latex.write)
EXPORTERS.register("html", export_html.write)
ALIASES = {"md": "markdown", "tex": "latex", "htm": "html"}
DEFAULT_FORMATS = "md,csv,latex,html"


def parse_formats(spec: str) -> list[str]:
    """``"md,csv"`` -> ``["markdown", "csv"]``; unknown names raise UnknownNameError (with a close match)."""
    names = []
    for raw in spec.split(","):
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if not name:
            continue
        EXPORTERS.get(name)  # raises with "Did you mean ...?"
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError(f"no report format given; choose from {', '.join(EXPORTERS.names())}")
    return names


def export(report, out_dir: str | Path, formats: list[str]) -> list[Path]:
    """Run each exporter; returns every written path."""
    written = []
    for name in formats:
        written += EXPORTERS.get(name)(report, Path(out_dir))
    return written

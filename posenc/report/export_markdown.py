"""Markdown export: ``report.md`` (every section, plots linked) and ``table2.md``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .build import BANNER, Report
from .sections import sections


def md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (all cells as text)."""
    head = "| " + " | ".join(md_cell(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def render(rep: Report, out_dir: Path) -> str:
    lines = ["# posenc comparison report", "", f"> **{BANNER}**", ""]
    for s in sections(rep):
        lines += [f"## {s.title}", ""]
        lines += [f"- {t}" if s.key in ("summary", "figure_errors") else t for t in s.text] + [""]
        if s.table is not None and not s.table.empty:
            lines += [md_table(s.table), ""]
    if rep.plots:
        lines += ["## Figures", ""]
        for p in rep.plots:
            rel = Path(p.path).resolve().relative_to(out_dir.resolve()) if _inside(p.path, out_dir) else p.path
            lines += [f"### {p.title}", "", f"![{p.title}]({Path(rel).as_posix()})", "", p.caption, ""]
    return "\n".join(lines)


def _inside(path, root) -> bool:
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "report.md"
    report.write_text(render(rep, out_dir), encoding="utf-8")
    written = [report]
    t2 = next((s for s in sections(rep, include_paper=False) if s.key == "table2"), None)
    if t2 is not None:
        path = out_dir / "table2.md"
        path.write_text(f"> **{BANNER}**\n\n" + "\n".join(t2.text[:1]) + "\n\n" + md_table(t2.table) + "\n", encoding="utf-8")
        written.append(path)
    return written

"""Markdown export: ``report.md`` (every block in order, figures beside their section) and one
``<name>.md`` per standalone table (``table2.md``, ``table3.md``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .build import BANNER, Report


def md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (all cells as text)."""
    head = "| " + " | ".join(md_cell(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def _rel(path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def render(rep: Report, out_dir: Path) -> str:
    lines = ["# posenc comparison report", "", f"> **{BANNER}**", ""]
    for b in rep.blocks:
        lines += [f"## {b.title}", ""]
        lines += [f"- {t}" if b.bullets else t for t in b.text] + [""]
        if b.table is not None and not b.table.empty:
            lines += [md_table(b.table), ""]
        lines += [f"<sub>{t}</sub>" for t in b.footer] + ([""] if b.footer else [])
        for p in b.figures:
            lines += [f"![{p.title}]({_rel(p.path, out_dir)})", "", f"*{p.title}.* {p.caption}", ""]
    return "\n".join(lines)


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "report.md"
    report.write_text(render(rep, out_dir), encoding="utf-8")
    written = [report]
    for b in rep.blocks:
        if b.standalone and b.table is not None and not b.table.empty:
            path = out_dir / f"{b.standalone}.md"
            path.write_text(f"> **{BANNER}**\n\n" + "\n".join(b.text[:1]) + "\n\n" + md_table(b.table) + "\n",
                            encoding="utf-8")
            written.append(path)
    return written

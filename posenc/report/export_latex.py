"""LaTeX export (booktabs): ``report.tex`` with every table and ``table2.tex``.

Fragments for ``\\input``; they need ``\\usepackage{booktabs,amssymb}``. Cells are escaped here and
handed to pandas' ``to_latex`` for the tabular framing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .build import BANNER, Report
from .sections import sections

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_UNICODE = {"±": r"$\pm$", "–": "--", "−": "$-$", "Δ": r"$\Delta$", "✓": r"$\checkmark$", "×": r"$\times$",
            "…": r"\ldots{}", "≥": r"$\geq$", "≤": r"$\leq$", "·": r"$\cdot$", "ᵀ": r"$^{\top}$", "—": "---"}


def latex_escape(value) -> str:
    """Escape LaTeX specials and map the report's few Unicode symbols to math."""
    out = []
    for ch in str(value):
        out.append(_SPECIAL.get(ch) or _UNICODE.get(ch) or ch)
    return "".join(out)


def latex_table(df: pd.DataFrame, caption: str, label: str) -> str:
    spec = "l" * len(df.columns)
    esc = df.astype(str).map(latex_escape)
    esc.columns = [latex_escape(c) for c in df.columns]
    return esc.to_latex(index=False, escape=False, column_format=spec, caption=latex_escape(caption),
                        label=label, position="htbp")


def render(rep: Report, include_paper: bool = True, only: str | None = None) -> str:
    parts = [f"% posenc comparison report. {BANNER}", "% needs \\usepackage{booktabs,amssymb}", ""]
    for s in sections(rep, include_paper=include_paper):
        if s.table is None or s.table.empty or (only and s.key != only):
            continue
        caption = s.title + (". " + s.text[0] if s.text else "")
        if s.key != "paper":
            caption += " Small-scale runs, not the paper's numbers."
        parts += [latex_table(s.table, caption, f"tab:posenc-{s.key}"), ""]
    return "\n".join(parts)


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.tex"
    path.write_text(render(rep), encoding="utf-8")
    written = [path]
    if not rep.finetune.empty:
        t2 = out_dir / "table2.tex"
        t2.write_text(render(rep, include_paper=False, only="table2"), encoding="utf-8")
        written.append(t2)
    return written

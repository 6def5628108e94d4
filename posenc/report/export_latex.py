"""LaTeX export (booktabs): ``report.tex`` with every table and one ``<name>.tex`` per standalone
table (``table2.tex``, ``table3.tex``).

Fragments for ``\\input``; they need ``\\usepackage{booktabs,amssymb}``. Cells are escaped here and
handed to pandas' ``to_latex`` for the tabular framing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .build import BANNER, Report

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_UNICODE = {"±": r"$\pm$", "–": "--", "−": "$-$", "Δ": r"$\Delta$", "✓": r"$\checkmark$", "×": r"$\times$",
            "…": r"\ldots{}", "≥": r"$\geq$", "≤": r"$\leq$", "·": r"$\cdot$", "ᵀ": r"$^{\top}$", "—": "---",
            "▲": r"$\blacktriangle$", "▼": r"$\blacktriangledown$", "†": r"\dag{}", "°": r"$^{\circ}$",
            "→": r"$\rightarrow$", "←": r"$\leftarrow$"}


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


def _block_table(b) -> str:
    caption = b.title + (". " + b.text[0] if b.text else "")
    if not b.key.startswith("paper"):
        caption += " Small-scale runs, not the paper's numbers."
    return latex_table(b.table, caption, f"tab:posenc-{b.key}")


def render(rep: Report) -> str:
    parts = [f"% posenc comparison report. {BANNER}", "% needs \\usepackage{booktabs,amssymb}", ""]
    for b in rep.blocks:
        if b.table is not None and not b.table.empty:
            parts += [_block_table(b), ""]
    return "\n".join(parts)


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.tex"
    path.write_text(render(rep), encoding="utf-8")
    written = [path]
    for b in rep.blocks:
        if b.standalone and b.table is not None and not b.table.empty:
            alone = out_dir / f"{b.standalone}.tex"
            alone.write_text(f"% {BANNER}\n% needs \\usepackage{{booktabs,amssymb}}\n\n{_block_table(b)}\n", encoding="utf-8")
            written.append(alone)
    return written

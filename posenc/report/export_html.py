"""HTML export: one self-contained ``report.html`` (inline CSS, figures as base64 PNG, no external
assets). The summary comes first with its figure beside it; every other section follows with its
figures under its table. Cells carrying the report's markers are coloured (better / worse /
at or below the trivial baseline)."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd

from .build import BANNER, Report
from .display import BETTER, TRIVIAL, WORSE

CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1500px;margin:1em auto;padding:0 1.2em;
color:#222;line-height:1.35}
h1{font-size:1.45em;margin:.2em 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.15em}
.banner{background:#fff8e1;border:1px solid #e6c75a;padding:.35em .7em;border-radius:5px;font-size:.82em;margin:.3em 0}
nav{font-size:.85em;margin:.4em 0 0;color:#555}nav a{margin-right:.9em;color:#2a5db0;text-decoration:none}
.side{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:1.4em;align-items:start}
.side figure{margin:0}.side h2{margin-top:.6em}
@media (max-width:1000px){.side{grid-template-columns:1fr}}
ul{padding-left:1.2em;margin:.3em 0}li{margin:.18em 0}p{margin:.35em 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.6em 0;font-size:.84em}
th,td{border-bottom:1px solid #e3e3e3;padding:.25em .55em;text-align:left;vertical-align:top;max-width:32em}
th{background:#f3f4f6;max-width:11em;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.foot{font-size:.8em;color:#555;margin:.15em 0}
tr:hover td{background:#fafafa}
td.better{color:#0b7a3b;font-weight:600;background:#eaf7ef}td.worse{color:#b42318;font-weight:600;background:#fdecea}
td.trivial{color:#777;background:repeating-linear-gradient(135deg,#f4f4f4,#f4f4f4 4px,#e9e9e9 4px,#e9e9e9 8px)}
figure{margin:1em 0}img{max-width:100%;height:auto}figcaption{color:#555;font-size:.84em;max-width:60em}
.summary li:first-child{font-weight:600}"""
_NUMBER = re.compile(r"^(ref\.$|[−+±\-]?[\d,]*\.?\d+)")


def img_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _cell_class(value: str) -> str:
    classes = []
    if BETTER in value:
        classes.append("better")
    if WORSE in value:
        classes.append("worse")
    if TRIVIAL in value:
        classes.append("trivial")
    if _NUMBER.match(value):
        classes.append("num")
    return f' class="{" ".join(classes)}"' if classes else ""


def table_html(df: pd.DataFrame, key: str) -> str:
    """A table whose cells are classed by their markers (see the module docstring)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = "".join(f"<td{_cell_class(str(v))}>{html.escape(str(v))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="scroll"><table class="posenc-{html.escape(key)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _figure(p) -> str:
    return (f"<figure>{img_tag(p.path, p.title)}<figcaption><b>{html.escape(p.title)}.</b> "
            f"{html.escape(p.caption)}</figcaption></figure>")


def block_html(b) -> str:
    text = ("<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in b.text) + "</ul>") if b.bullets \
        else "".join(f"<p>{html.escape(t)}</p>" for t in b.text)
    table = table_html(b.table, b.key) if b.table is not None and not b.table.empty else ""
    table += "".join(f'<p class="foot">{html.escape(t)}</p>' for t in b.footer)
    figures = "".join(_figure(p) for p in b.figures)
    title = f'<h2 id="{html.escape(b.key)}">{html.escape(b.title)}</h2>'
    if b.layout == "side" and figures:
        return (f'<section class="side {html.escape(b.key)}"><div>{title}{text}{table}</div>'
                f"<div>{figures}</div></section>")
    return f'<section class="{html.escape(b.key)}">{title}{text}{table}{figures}</section>'


def render(rep: Report) -> str:
    blocks = rep.blocks
    nav = "".join(f'<a href="#{html.escape(b.key)}">{html.escape(b.title)}</a>' for b in blocks[1:])
    body = [f'<h1>posenc comparison report</h1><p class="banner">{html.escape(BANNER)}</p>']
    if blocks:
        body.append(block_html(blocks[0]))
    body.append(f"<nav>Details: {nav}</nav>")
    body += [block_html(b) for b in blocks[1:]]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>posenc report</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(render(rep), encoding="utf-8")
    return [path]

"""HTML export: one self-contained ``report.html`` (inline CSS, figures as base64 PNG, no external assets)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .build import BANNER, Report
from .sections import sections

CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
.banner{background:#fff3cd;border:1px solid #e0c060;padding:.8em 1em;border-radius:6px;font-weight:600}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}
th{background:#f4f4f4}figure{margin:1.5em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}"""


def img_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def render(rep: Report) -> str:
    body = [f'<h1>posenc comparison report</h1><p class="banner">{html.escape(BANNER)}</p>']
    for s in sections(rep):
        body.append(f'<h2 id="{s.key}">{html.escape(s.title)}</h2>')
        if s.key in ("summary", "figure_errors"):
            body.append("<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in s.text) + "</ul>")
        else:
            body += [f"<p>{html.escape(t)}</p>" for t in s.text]
        if s.table is not None and not s.table.empty:
            body.append(s.table.to_html(index=False, border=0, escape=True, classes=f"posenc-{s.key}"))
    if rep.plots:
        body.append('<h2 id="figures">Figures</h2>')
        for p in rep.plots:
            body.append(f"<figure>{img_tag(p.path, p.title)}<figcaption><b>{html.escape(p.title)}.</b> "
                        f"{html.escape(p.caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>posenc report</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write(rep: Report, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(render(rep), encoding="utf-8")
    return [path]

"""Benchmark output: ratios, a Table-1-style overhead table, the detail table, CSV and a plot.

Ratios are taken inside one run, at equal mode, batch, length and dtype: ``x_absolute`` divides
by posenc's ``absolute`` (``absolute+mlm`` for masked-LM steps, ``posenc bench --head mlm``) and ``x_bert`` by HF ``BertModel`` (``hf:bert``); ``x_peer`` compares
a posenc encoding with the HF implementation of the same encoding (``deberta`` vs
``hf:deberta_v2``, ``t5`` vs ``hf:t5``, ``rotary`` vs ``hf:roformer``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from .run import COLUMNS

RATIO_COLUMNS = ["x_absolute", "x_bert", "x_peer"]


def _key(row: dict) -> tuple:
    return (row["mode"], row["batch"], row["length"], row["dtype"], row["device"])


def add_ratios(rows: list[dict]) -> list[dict]:
    """Add ``x_absolute``, ``x_bert`` and ``x_peer`` (None where a side is missing) to every row."""
    by_model = {(r["model"], *_key(r)): r["median_ms"] for r in rows if r["median_ms"]}
    peer_of = {r["counterpart"]: r["model"] for r in rows if r["impl"] == "hf" and r["counterpart"] != "absolute"}
    for r in rows:
        t = r["median_ms"]

        def ratio(model):
            base = by_model.get((model, *_key(r)))
            return None if t is None or base is None else t / base

        r["x_absolute"] = ratio("absolute+mlm" if r.get("head") == "mlm" else "absolute")
        r["x_bert"] = ratio("hf:bert")
        peer = peer_of.get(r["model"]) if r["impl"] == "posenc" else None
        r["x_peer"] = ratio(peer) if peer else None
    return rows


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{(x - 1) * 100:+.0f}%"


def overhead_table(rows: list[dict], against: str = "x_absolute") -> str:
    """Markdown: one row per model, one column per (mode, length, batch): % step-time overhead."""
    cols = sorted({(r["mode"] != "train", r["length"], r["batch"]) for r in rows})
    models = list(dict.fromkeys(r["model"] for r in rows))
    cell = {(r["model"], r["mode"] != "train", r["length"], r["batch"]): r for r in rows}
    head = ["model", "kernel"] + [f"{'infer' if inf else 'train'} L={n} b={b}" for inf, n, b in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in models:
        kernel = next((r["kernel"] for r in rows if r["model"] == m and r["kernel"]), "")
        vals = []
        for c in cols:
            r = cell.get((m, *c))
            vals.append("—" if r is None else (_pct(r.get(against)) if r["status"] == "ok" else r["status"].split(" ")[0]))
        lines.append("| " + " | ".join([m, kernel] + vals) + " |")
    return "\n".join(lines)


def detail_table(rows: list[dict]) -> str:
    """Markdown: every measurement with its median, IQR, throughput, memory and ratios."""
    head = ["mode", "L", "b", "model", "kernel", "compiled", "median ms", "IQR ms", "tok/s", "peak MiB",
            "×absolute", "×BERT", "×peer", "status"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def f(x, fmt):
        return "—" if x is None else format(x, fmt)

    for r in rows:
        lines.append("| " + " | ".join([
            r["mode"], str(r["length"]), str(r["batch"]), r["model"], r["kernel"], r["compiled"],
            f(r["median_ms"], ".1f"), f(r["iqr_ms"], ".1f"), f(r["tokens_per_s"], ".0f"), f(r["peak_mem_mb"], ".0f"),
            f(r.get("x_absolute"), ".2f"), f(r.get("x_bert"), ".2f"), f(r.get("x_peer"), ".2f"), r["status"],
        ]) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS + RATIO_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def plot(rows: list[dict], path: Path) -> Path | None:
    """Time (and peak memory, when it was measured) vs sequence length (log-log), training and
    inference, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok" and r["median_ms"]]
    if not ok:
        return None
    batch = min(r["batch"] for r in ok)
    modes = [m for m in ("train", "infer") if any(r["mode"] == m for r in ok)]
    with_memory = any(r["peak_mem_mb"] is not None for r in ok)  # --no-memory: time panels only
    panels = 2 if with_memory else 1
    fig, axes = plt.subplots(panels, len(modes), figsize=(6 * len(modes), 4 * panels), squeeze=False)
    for j, mode in enumerate(modes):
        for model in dict.fromkeys(r["model"] for r in ok):
            pts = sorted((r["length"], r["median_ms"], r["peak_mem_mb"]) for r in ok
                         if r["model"] == model and r["mode"] == mode and r["batch"] == batch)
            if not pts:
                continue
            style = "--" if model.startswith("hf:") else "-"
            axes[0][j].plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label=model)
            if with_memory and all(p[2] is not None for p in pts):
                axes[1][j].plot([p[0] for p in pts], [p[2] for p in pts], style, marker="o", label=model)
        axes[0][j].set_title(f"{mode}: time per {'step' if mode == 'train' else 'forward'} (batch {batch})")
        axes[0][j].set_ylabel("median ms")
        if with_memory:
            axes[1][j].set_title(f"{mode}: peak tensor memory")
            axes[1][j].set_ylabel("MiB")
        for ax in (axes[i][j] for i in range(panels)):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("sequence length")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

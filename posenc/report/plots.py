"""Report figures (matplotlib, Agg canvas; imported lazily so ``import posenc.report`` stays light).

Every function takes plain data (DataFrames or numpy arrays), writes one PNG and returns its
:class:`Plot` record, or ``None`` when there is nothing to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Plot:
    """A written figure: ``name`` (file stem), ``title``, ``path`` and a one-line ``caption``."""

    name: str
    title: str
    path: Path
    caption: str = ""


def _figure(n_panels: int, ncols: int = 3, panel=(4.2, 3.2)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, n_panels))
    nrows = (n_panels + ncols - 1) // ncols
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def _save(fig, path: Path, name: str, title: str, caption: str) -> Plot:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return Plot(name=name, title=title, path=path, caption=caption)


def _short(label: str, n: int = 38) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def task_bars(selected: pd.DataFrame, path: Path) -> Plot | None:
    """Per task: median of the main metric per encoding (bar) with every seed as a point."""
    ft = selected[selected["kind"] == "finetune"] if not selected.empty else selected
    if ft.empty:
        return None
    tasks = sorted(ft["task"].unique())
    encs = sorted(ft["encoding"].unique())
    fig, axes = _figure(len(tasks), ncols=2, panel=(6.0, 0.45 * len(encs) + 1.4))
    rng = np.random.default_rng(0)
    for ax, task in zip(axes, tasks):
        grp = ft[ft["task"] == task]
        for y, enc in enumerate(encs):
            s = grp[grp["encoding"] == enc]["score"].astype(float).to_numpy()
            if len(s) == 0:
                continue
            ax.barh(y, np.median(s), color=f"C{y % 10}", alpha=0.55)
            ax.scatter(s, y + rng.uniform(-0.18, 0.18, len(s)), color="black", s=12, zorder=3)
        ax.set_yticks(range(len(encs)), [_short(e) for e in encs], fontsize=8)
        ax.set_title(f"{task} ({grp['main_metric'].iloc[0]})", fontsize=10)
        lo, hi = grp["score"].min(), grp["score"].max()
        pad = (hi - lo) * 0.3 or abs(hi) * 0.05 or 0.05
        ax.set_xlim(lo - pad, hi + pad)
        ax.invert_yaxis()
    return _save(fig, path, "task_bars", "Main metric per task (median bar, one point per seed)",
                 "Bars: median over seeds at the chosen learning rate; points: individual seeds.")


def cost_quality(agg: pd.DataFrame, path: Path) -> Plot | None:
    """Per task: median main metric (± seed std) against median training step time."""
    if agg.empty or agg["step_time_s"].isna().all():
        return None
    tasks = sorted(agg["task"].unique())
    fig, axes = _figure(len(tasks), ncols=3)
    encs = sorted(agg["encoding"].unique())
    for ax, task in zip(axes, tasks):
        grp = agg[agg["task"] == task]
        for _, r in grp.iterrows():
            i = encs.index(r["encoding"])
            ax.errorbar(r["step_time_s"] * 1000, r["median"], yerr=0 if pd.isna(r["std"]) else r["std"],
                        fmt="o", color=f"C{i % 10}", capsize=3, label=_short(r["encoding"]))
        ax.set_xlabel("step time (ms, median)")
        ax.set_ylabel(grp["main_metric"].iloc[0])
        ax.set_title(task, fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, ncols=2)
    return _save(fig, path, "cost_quality", "Quality vs cost",
                 "Median main metric (error bar: seed std) against median training step time.")


def length_generalisation(probes: pd.DataFrame, path: Path) -> Plot | None:
    """MLM loss against evaluation length, median over seeds, one line per supported encoding."""
    ok = probes[probes["supported"].astype(bool) & probes["length"].notna()] if not probes.empty else probes
    if ok.empty:
        return None
    fig, (ax,) = _figure(1, panel=(6.5, 4.0))
    med = ok.assign(mlm_loss=pd.to_numeric(ok["mlm_loss"], errors="coerce")).groupby(
        ["encoding", "length"])["mlm_loss"].median().reset_index()
    for i, (enc, g) in enumerate(med.groupby("encoding", sort=True)):
        ax.plot(g["length"], g["mlm_loss"], marker="o", color=f"C{i % 10}", label=_short(enc))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("evaluation length (tokens)")
    ax.set_ylabel("MLM loss (median over seeds)")
    ax.legend(fontsize=8)
    return _save(fig, path, "length_generalisation", "Length generalisation",
                 "MLM loss at each evaluation length; encodings that cannot run longer inputs are listed in the table.")


def offset_curves(bias: np.ndarray, max_offset: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, curves [heads, offsets]) for the first layer of ``bias [layers, heads, L, L]``.

    Offset = i − j (query − key). Each value is the mean of that diagonal, which for a relative
    encoding (constant diagonals) is the learned scalar itself."""
    b = np.asarray(bias, dtype=float)
    if b.ndim != 4:
        raise ValueError(f"bias must be [layers, heads, L, L], got shape {b.shape}")
    L = b.shape[-1]
    k = L - 1 if max_offset is None else min(max_offset, L - 1)
    offsets = np.arange(-k, k + 1)
    # np.diagonal(offset=d) holds entries [i, i + d], i.e. i − j = −d
    curves = np.stack([np.diagonal(b[0], offset=-o, axis1=-2, axis2=-1).mean(-1) for o in offsets], -1)
    return offsets, curves


def bias_vs_offset(bias: np.ndarray, path: Path, title: str, max_offset: int | None = None) -> Plot | None:
    """Bias against offset i − j, one line per head of the first layer (paper Fig. 7 style)."""
    b = np.asarray(bias, dtype=float)
    offsets, curves = offset_curves(b, max_offset)
    fig, (ax,) = _figure(1, panel=(6.5, 4.0))
    for h in range(curves.shape[0]):
        ax.plot(offsets, curves[h], lw=1, label=f"head {h}")
    ax.set_xlabel("offset i − j (query − key)")
    ax.set_ylabel("bias")
    ax.set_title(title, fontsize=10)
    if curves.shape[0] <= 16:
        ax.legend(fontsize=7, ncols=2)
    name = "bias_offset_" + _slug(title)
    return _save(fig, Path(path), name, f"{title}: bias vs offset",
                 f"Layer 0 of {b.shape[0]}; one line per head; offset = query − key position.")


def bias_heatmaps(bias: np.ndarray, path: Path, title: str, max_heads: int = 12) -> Plot | None:
    """Heatmap of the position bias (e.g. DIET-ABS P_Q·P_Kᵀ) for each head of the first layer."""
    b = np.asarray(bias, dtype=float)
    if b.ndim != 4:
        raise ValueError(f"bias must be [layers, heads, L, L], got shape {b.shape}")
    heads = min(b.shape[1], max_heads)
    fig, axes = _figure(heads, ncols=4, panel=(3.0, 2.8))
    for h, ax in enumerate(axes):
        im = ax.imshow(b[0, h], cmap="viridis", aspect="equal")
        ax.set_title(f"head {h}", fontsize=9)
        ax.set_xlabel("key j", fontsize=8)
        ax.set_ylabel("query i", fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, Path(path), "bias_heatmap_" + _slug(title), f"{title}: position bias heatmaps",
                 f"Layer 0 of {b.shape[0]}, heads 0–{heads - 1}; entry (i, j) is the bias added to query i's logit for key j.")


def cosine_similarity_map(weight: np.ndarray, path: Path, title: str, length: int | None = None) -> Plot | None:
    """Cosine similarity between the rows (positions) of an absolute position table (paper Fig. 5)."""
    w = np.asarray(weight, dtype=float)
    if w.ndim != 2 or len(w) == 0:
        return None
    w = w[:length] if length else w
    unit = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T
    fig, (ax,) = _figure(1, panel=(5.0, 4.3))
    im = ax.imshow(sim, cmap="RdBu_r", vmin=-1, vmax=1)
    fig.colorbar(im, ax=ax)
    ax.set_xlabel("position")
    ax.set_ylabel("position")
    ax.set_title(title, fontsize=10)
    return _save(fig, Path(path), "cosine_" + _slug(title), f"{title}: position-embedding cosine similarity",
                 f"Cosine similarity of the first {len(w)} rows of the input position table.")


def is_translation_invariant(bias: np.ndarray, rtol: float = 1e-4) -> bool:
    """True when every diagonal of every [L, L] slice is constant (a purely relative bias)."""
    b = np.asarray(bias, dtype=float)
    L = b.shape[-1]
    scale = max(float(np.abs(b).max()), 1e-12)
    for d in range(-(L - 1), L):
        diag = np.diagonal(b, offset=d, axis1=-2, axis2=-1)
        if float(np.ptp(diag, axis=-1).max()) > rtol * scale:
            return False
    return True


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "_" for c in text)
    return "_".join(p for p in keep.split("_") if p)[:60]

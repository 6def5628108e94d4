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


def cost_quality(headlines: pd.DataFrame, costs: pd.DataFrame, path: Path) -> Plot | None:
    """Per task: headline number (median, error bar: seed std) against the step-time ratio to the
    baseline. ``costs`` (posenc.report.speed.report_costs) says whether the ratio is controlled
    (a ``posenc bench`` run) or the sweep's own uncontrolled timing; the axis says which."""
    if headlines.empty or costs.empty or costs["ratio"].isna().all():
        return None
    data = headlines.merge(costs[["encoding", "ratio", "controlled", "where"]], on="encoding").dropna(subset=["ratio"])
    if data.empty:
        return None
    tasks = list(dict.fromkeys(data["task"]))
    encs = sorted(data["encoding"].unique())
    fig, axes = _figure(len(tasks), ncols=3)
    for ax, task in zip(axes, tasks):
        grp = data[data["task"] == task]
        scale = 100 if bool(grp["percent"].iloc[0]) else 1
        for _, r in grp.iterrows():
            i = encs.index(r["encoding"])
            ax.errorbar(r["ratio"], scale * r["median"], yerr=0 if pd.isna(r["std"]) else scale * r["std"],
                        fmt="o", color=f"C{i % 10}", capsize=3, label=_short(r["encoding"]))
        ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
        ax.set_ylabel(grp["metric"].iloc[0] + (" ×100" if scale == 100 else ""))
        ax.set_title(task, fontsize=10)
    controlled = bool(data["controlled"].all())
    where = data["where"].iloc[0] if controlled else "sweep runs: UNCONTROLLED timing"
    for ax in axes:
        ax.set_xlabel(f"step time / baseline's ({where})", fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, ncols=min(4, len(labels)))
    title = "Quality vs cost" + ("" if controlled else " (timing uncontrolled)")
    caption = ("Headline number per task (median over seeds, error bar: seed std) against training step time "
               "relative to the baseline; " + ("timed by `posenc bench`, all models interleaved in one run."
                                               if controlled else "the sweep's own timings, each run alone under "
                                               "whatever load the machine had: NOT a controlled measurement."))
    return _save(fig, path, "cost_quality", title, caption)


def length_generalisation(probes: pd.DataFrame, path: Path, entropy: float | None = None) -> Plot | None:
    """MLM loss against evaluation length, median over seeds, one line per supported encoding;
    ``entropy``: the corpus's unigram entropy, drawn as the context-free reference."""
    ok = probes[probes["supported"].astype(bool) & probes["length"].notna()] if not probes.empty else probes
    if ok.empty:
        return None
    fig, (ax,) = _figure(1, panel=(6.5, 4.0))
    med = ok.assign(mlm_loss=pd.to_numeric(ok["mlm_loss"], errors="coerce")).groupby(
        ["encoding", "length"])["mlm_loss"].median().reset_index()
    for i, (enc, g) in enumerate(med.groupby("encoding", sort=True)):
        ax.plot(g["length"], g["mlm_loss"], marker="o", color=f"C{i % 10}", label=_short(enc))
    _entropy_line(ax, entropy)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("evaluation length (tokens)")
    ax.set_ylabel("MLM loss (median over seeds)")
    ax.legend(fontsize=8)
    return _save(fig, path, "length_generalisation", "Length generalisation",
                 "MLM loss at each evaluation length; encodings that cannot run longer inputs are listed in the table."
                 + (ENTROPY_CAPTION if entropy is not None else ""))


ENTROPY_CAPTION = (" Dashed: the corpus's unigram entropy, the loss of a model that ignores context; a loss at or "
                   "above it means the model has not learned to use context.")


def _entropy_line(ax, entropy: float | None) -> None:
    if entropy is None or not np.isfinite(entropy):
        return
    ax.axhline(entropy, color="0.25", ls="--", lw=1.2, label=f"unigram entropy {entropy:.2f}")


def pretraining_curves(curves: pd.DataFrame, path: Path, entropy: float | None = None) -> Plot | None:
    """Held-out MLM loss against step, one colour per encoding (one line per seed), with the
    corpus's unigram entropy as a reference line. ``curves``: encoding, seed, step, loss."""
    if curves.empty:
        return None
    fig, (ax,) = _figure(1, panel=(6.5, 4.0))
    encs = sorted(curves["encoding"].unique())
    for i, enc in enumerate(encs):
        for j, (_, g) in enumerate(curves[curves["encoding"] == enc].groupby("seed", sort=True)):
            g = g.sort_values("step")
            ax.plot(g["step"], g["loss"], color=f"C{i % 10}", lw=1.4, marker=".", ms=4,
                    label=_short(enc) if j == 0 else None)
    _entropy_line(ax, entropy)
    lo = min(curves["loss"].min(), entropy if entropy is not None and np.isfinite(entropy) else np.inf)
    hi = curves.loc[curves["step"] > 0, "loss"].max() if (curves["step"] > 0).any() else curves["loss"].max()
    ax.set_ylim(lo - 0.05 * (hi - lo + 1e-9) - 0.05, max(hi, lo) + 0.15 * (hi - lo + 1e-9) + 0.05)
    ax.set_xlabel("pre-training step")
    ax.set_ylabel("held-out MLM loss (nats/token)")
    ax.legend(fontsize=8)
    return _save(fig, path, "pretraining_curves", "Pre-training: held-out MLM loss",
                 "Held-out masked-LM loss at every evaluation (one line per seed; the step-0 value is off the top "
                 "when it is far above the rest)." + (ENTROPY_CAPTION if entropy is not None else ""))


def difference_forest(findings: pd.DataFrame, path: Path, baseline: str) -> Plot | None:
    """Each encoding's difference from the baseline per task (median over seeds, 95% bootstrap CI);
    filled markers: clearly different (``clear`` column), hollow: not."""
    f = findings.dropna(subset=["median_diff"]) if not findings.empty else findings
    if f.empty:
        return None
    tasks = list(dict.fromkeys(f["task"]))
    encs = sorted(f["encoding"].unique())
    fig, (ax,) = _figure(1, panel=(6.2, 0.55 * len(tasks) * max(1, len(encs)) ** 0.5 + 1.6))
    step = 0.7 / max(1, len(encs))
    for i, enc in enumerate(encs):
        g = f[f["encoding"] == enc]
        for _, r in g.iterrows():
            y = tasks.index(r["task"]) + (i - (len(encs) - 1) / 2) * step
            scale = (100 if bool(r["percent"]) else 1) * (1 if r.get("greater_is_better", True) is not False else -1)
            x = scale * r["median_diff"]
            if pd.notna(r.get("ci_median_low")) and pd.notna(r.get("ci_median_high")):
                ax.hlines(y, scale * r["ci_median_low"], scale * r["ci_median_high"], color=f"C{i % 10}", lw=1.6)
            clear = bool(r.get("clear"))
            ax.plot(x, y, "o", ms=7, color=f"C{i % 10}", mfc=f"C{i % 10}" if clear else "white", mew=1.6)
        ax.plot([], [], "o", color=f"C{i % 10}", label=_short(enc))
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(range(len(tasks)), tasks, fontsize=9)
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set_xlabel(f"← worse    difference from {_short(baseline, 30)} (median, 95% CI)    better →", fontsize=9)
    ax.legend()
    ax.grid(axis="x", color="0.9")
    ax.get_legend().remove()
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8, ncols=min(3, len(encs)))
    return _save(fig, path, "differences", f"Difference from the baseline ({baseline})",
                 "Per task, each encoding's median minus the baseline's over seeds (×100 for metrics in [0, 1]; "
                 "right = better, i.e. lower for losses), with its 95% bootstrap CI; filled = clearly different "
                 "(BH-adjusted p < 0.05 and the difference exceeds seed noise), hollow = not.")


def language_heatmap(cells: pd.DataFrame, path: Path, baseline: str) -> Plot | None:
    """Encodings × languages, one panel per task: the number in each cell is the median over seeds
    (×100 for metrics in [0, 1]); its colour is the difference from the baseline's cell (blue:
    better, red: worse, whatever the metric's direction); hatched: at or below the trivial baseline.

    ``cells``: task, metric, encoding, column (a language or "mean"), median, trivial_hit (bool),
    greater_is_better, percent, and optionally mark (▲/▼ for a clear difference)."""
    if cells.empty:
        return None
    from matplotlib.patches import Rectangle

    tasks = list(dict.fromkeys(cells["task"]))
    encs = [baseline] + sorted(e for e in cells["encoding"].unique() if e != baseline) \
        if baseline in set(cells["encoding"]) else sorted(cells["encoding"].unique())
    ncols = max(len(dict.fromkeys(cells.loc[cells["task"] == t, "column"])) for t in tasks)
    fig, axes = _figure(len(tasks), ncols=1, panel=(max(5.5, 0.62 * ncols + 2.8), 0.42 * len(encs) + 1.2))
    deltas = []
    for task in tasks:
        c = cells[cells["task"] == task]
        sign = 1 if bool(c["greater_is_better"].iloc[0]) else -1
        base = c[c["encoding"] == baseline].set_index("column")["median"]
        scale = 100 if bool(c["percent"].iloc[0]) else 1
        deltas.append(scale * sign * (c["median"] - c["column"].map(base)))
    lim = max(1e-9, float(np.nanmax(np.abs(np.concatenate([d.to_numpy(float) for d in deltas])))) if deltas else 1)
    for ax, task, delta in zip(axes, tasks, deltas):
        c = cells[cells["task"] == task].assign(delta=delta)
        cols = list(dict.fromkeys(c["column"]))
        scale = 100 if bool(c["percent"].iloc[0]) else 1
        grid = np.full((len(encs), len(cols)), np.nan)
        for _, r in c.iterrows():
            if r["encoding"] in encs:
                grid[encs.index(r["encoding"]), cols.index(r["column"])] = r["delta"] if r["encoding"] != baseline else 0
        im = ax.imshow(np.nan_to_num(grid, nan=0.0), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
        for _, r in c.iterrows():
            if r["encoding"] not in encs:
                continue
            y, x = encs.index(r["encoding"]), cols.index(r["column"])
            ax.text(x, y, f"{scale * r['median']:.1f}{r.get('mark') or ''}", ha="center", va="center", fontsize=8,
                    color="black" if abs(r["delta"]) < 0.6 * lim or r["encoding"] == baseline else "white",
                    fontweight="bold" if r["column"] == "mean" else "normal")
            if bool(r["trivial_hit"]):
                ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.45", lw=0))
        if "mean" in cols:
            ax.axvline(cols.index("mean") - 0.5, color="black", lw=2)
        ax.set_xticks(range(len(cols)), cols, fontsize=8)
        ax.set_yticks(range(len(encs)), [_short(e, 30) for e in encs], fontsize=8)
        ax.set_title(f"{task} ({c['metric'].iloc[0]}{' ×100' if scale == 100 else ''})", fontsize=10)
        ax.tick_params(length=0)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="difference from baseline, points (better →)")
    return _save(fig, path, "languages", "Zero-shot results per language",
                 "Each cell: median over seeds (×100 for metrics in [0, 1]); colour: difference from the baseline "
                 f"({baseline}, first row) in the metric's better direction (blue better, red worse); ▲/▼: clearly "
                 "better/worse; the column after the bar is the mean over languages; hatched: at or below the trivial "
                 "baseline for at least one seed.")


def offset_curves(bias: np.ndarray, max_offset: int | None = None, layer: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, curves [heads, offsets]) for ``layer`` of ``bias [layers, heads, L, L]``.

    Offset = i − j (query − key). Each value is the mean of that diagonal, which for a relative
    encoding (constant diagonals) is the learned scalar itself."""
    b = np.asarray(bias, dtype=float)
    if b.ndim != 4:
        raise ValueError(f"bias must be [layers, heads, L, L], got shape {b.shape}")
    L = b.shape[-1]
    k = L - 1 if max_offset is None else min(max_offset, L - 1)
    offsets = np.arange(-k, k + 1)
    # np.diagonal(offset=d) holds entries [i, i + d], i.e. i − j = −d
    curves = np.stack([np.diagonal(b[layer], offset=-o, axis1=-2, axis2=-1).mean(-1) for o in offsets], -1)
    return offsets, curves


def _robust_limit(values: np.ndarray, q: float = 99.0) -> float:
    """Symmetric colour limit: the ``q``-th percentile of |values| (a few extreme entries, e.g. a
    [CLS] row, must not wash out the rest)."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    return max(float(np.percentile(v, q)) if v.size else 0.0, 1e-12)


def bias_vs_offset(bias: np.ndarray, path: Path, title: str, max_offset: int | None = None) -> Plot | None:
    """A relative bias against the offset i − j (paper Fig. 7 style): left, every layer and head as
    a row of a heat map (structure across heads and layers at a glance); right, layer 0's heads as
    curves with their mean in black."""
    b = np.asarray(bias, dtype=float)
    offsets, first = offset_curves(b, max_offset)
    rows = np.concatenate([offset_curves(b, max_offset, layer)[1] for layer in range(b.shape[0])])
    labels = [f"L{layer} h{h}" for layer in range(b.shape[0]) for h in range(b.shape[1])]
    fig, (left, right) = _figure(2, ncols=2, panel=(5.2, max(3.6, 0.16 * len(labels) + 1.4)))
    lim = _robust_limit(rows)
    im = left.imshow(rows, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest",
                     extent=(offsets[0] - 0.5, offsets[-1] + 0.5, len(labels) - 0.5, -0.5))
    step = max(1, len(labels) // 24)
    left.set_yticks(range(0, len(labels), step), labels[::step], fontsize=7)
    left.axvline(0, color="0.3", lw=0.6, ls=":")
    left.set_xlabel("offset i − j (query − key)")
    left.set_title("every layer × head", fontsize=9)
    fig.colorbar(im, ax=left, shrink=0.8, label="bias")
    for h in range(first.shape[0]):
        right.plot(offsets, first[h], lw=0.9, alpha=0.6, label=f"head {h}" if first.shape[0] <= 8 else None)
    right.plot(offsets, first.mean(0), color="black", lw=2, label="mean over heads")
    right.axhline(0, color="0.6", lw=0.6)
    right.axvline(0, color="0.6", lw=0.6, ls=":")
    right.set_xlabel("offset i − j (query − key)")
    right.set_ylabel("bias")
    right.set_title("layer 0", fontsize=9)
    right.legend(fontsize=7, ncols=2)
    fig.suptitle(title, fontsize=10)
    name = "bias_offset_" + _slug(title)
    return _save(fig, Path(path), name, f"{title}: bias vs offset",
                 f"{b.shape[0]} layer(s) × {b.shape[1]} heads; offset = query − key position. Left: each row one head "
                 "(colour limits at the 99th percentile of |bias|); right: layer 0, one line per head, mean in black. "
                 "Structure = a profile that varies smoothly with the offset (peaks near 0, left/right asymmetry); "
                 "untrained biases look like noise.")


def bias_heatmaps(bias: np.ndarray, path: Path, title: str, max_heads: int = 12) -> Plot | None:
    """Heatmap of the position bias (e.g. DIET-ABS P_Q·P_Kᵀ) for each head of the first layer, on
    one shared, symmetric colour scale (robust to a few extreme entries such as a [CLS] row)."""
    b = np.asarray(bias, dtype=float)
    if b.ndim != 4:
        raise ValueError(f"bias must be [layers, heads, L, L], got shape {b.shape}")
    heads = min(b.shape[1], max_heads)
    fig, axes = _figure(heads, ncols=4, panel=(3.0, 2.7))
    lim = _robust_limit(b[0, :heads])
    for h, ax in enumerate(axes):
        im = ax.imshow(b[0, h], cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="equal", interpolation="nearest")
        ax.set_title(f"head {h}", fontsize=9)
        ax.set_xlabel("key j", fontsize=8)
        ax.set_ylabel("query i", fontsize=8)
    fig.colorbar(im, ax=list(axes), shrink=0.7, label="bias")
    fig.suptitle(title, fontsize=10)
    return _save(fig, Path(path), "bias_heatmap_" + _slug(title), f"{title}: position bias heatmaps",
                 f"Layer 0 of {b.shape[0]}, heads 0–{heads - 1}; entry (i, j) is the bias added to query i's logit for "
                 "key j; one colour scale for all heads, limits at the 99th percentile of |bias|. A band along the "
                 "diagonal = attention prefers nearby tokens.")


def similarity_by_distance(sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distances 1..L−1, mean cosine similarity of position pairs at each distance |i − j|)."""
    L = len(sim)
    d = np.arange(1, L)
    return d, np.array([np.diagonal(sim, offset=k).mean() for k in d])


def cosine_similarity_map(weight: np.ndarray, path: Path, title: str, length: int | None = None) -> Plot | None:
    """Cosine similarity between the rows (positions) of an absolute position table (paper Fig. 5),
    beside its mean over pairs at each distance |i − j| (how fast neighbours stop looking alike)."""
    w = np.asarray(weight, dtype=float)
    if w.ndim != 2 or len(w) == 0:
        return None
    w = w[:length] if length else w
    unit = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T
    fig, (ax, curve) = _figure(2, ncols=2, panel=(4.6, 4.0))
    off = sim[~np.eye(len(sim), dtype=bool)]
    lim = _robust_limit(off) if off.size else 1.0
    im = ax.imshow(sim, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="cosine")
    ax.set_xlabel("position")
    ax.set_ylabel("position")
    ax.set_title("cosine similarity", fontsize=9)
    if len(sim) > 1:
        d, mean = similarity_by_distance(sim)
        curve.plot(d, mean, color="C0", marker=".", ms=3)
        curve.axhline(0, color="0.6", lw=0.6)
        curve.set_xlabel("distance |i − j|")
        curve.set_ylabel("mean cosine similarity")
        curve.set_title("by distance", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return _save(fig, Path(path), "cosine_" + _slug(title), f"{title}: position-embedding cosine similarity",
                 f"Cosine similarity of the first {len(w)} rows of the input position table (colour limits at the 99th "
                 "percentile of the off-diagonal values) and its mean at each distance: a trained table shows "
                 "similarity falling with distance; an untrained one is flat near 0.")


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

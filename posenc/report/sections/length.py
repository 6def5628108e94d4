"""Length generalisation of models trained on short inputs (the ``length`` task kind): accuracy
against input length per encoding, and randomized positions against plain ones (Ruoss et al. 2023).

Applies to runs whose results.json metrics carry ``train_max_length`` and ``<metric>@<length>``
(what the length kind writes; docs/length.md). Numbers are the *final* model's (the kind evaluates
once, at the end of training, as Ruoss et al. do), per-token accuracy of the output symbols:

- accuracy by length: mean ± std over seeds at each evaluated length (the first is N, the longest
  training length), and ``longer``: the mean over the lengths beyond N (Ruoss et al.'s score);
- randomized vs plain: for each encoding whose runs exist with and without ``randomize``, the
  ``longer`` score of both, their difference, and in how many seeds (paired by seed) the
  randomized model scored higher;
- a figure, one panel per task: accuracy against length (log scale), one line per encoding
  (mean over seeds, band = min..max), the training range shaded, the trivial baseline dotted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plots
from ..display import num
from .base import HEADLINE_COLUMNS, Block, Part, ReportSection, frame, register_section

LONGER = "longer"
_AT = re.compile(r"^(?P<metric>.+)@(?P<length>\d+)$")


def _length_metrics(res: dict) -> dict | None:
    final = (res.get("final") or {}).get("metrics") or {}
    return final if "train_max_length" in final else None


def length_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows (encoding, base, randomized, task, seed, metric, length, value, trivial, train_max_length)
    of every run that carries per-length metrics."""
    rows = []
    if runs.empty or "results" not in runs:
        return pd.DataFrame(rows)
    for _, r in runs.iterrows():
        res = r["results"] or {}
        metrics = _length_metrics(res)
        if metrics is None:
            continue
        main = res.get("main_metric")
        position = dict(res.get("position") or {})
        randomized = position.pop("randomize", None) is not None
        base = json.dumps(position, sort_keys=True)
        trivial = res.get("majority_baseline") or {}
        for key, value in metrics.items():
            m = _AT.match(key)
            if not m or m["metric"] != main:
                continue
            rows.append({"encoding": r["encoding"], "base": base, "position": position.get("name"),
                         "randomized": randomized, "task": r["task"], "seed": r["seed"], "metric": main,
                         "length": int(m["length"]), "value": float(value), "trivial": trivial.get(key),
                         "train_max_length": int(metrics["train_max_length"])})
    return pd.DataFrame(rows)


def longer_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """Per run: the mean over the lengths beyond N (one row per encoding × task × seed)."""
    beyond = rows[rows["length"] > rows["train_max_length"]]
    keys = ["encoding", "base", "position", "randomized", "task", "seed"]
    return beyond.groupby(keys, as_index=False)["value"].mean().rename(columns={"value": LONGER})


def by_length_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Display: Encoding | Task | n | one column per length (×100, mean ± std) | longer."""
    out = []
    longer = longer_scores(rows)
    for (enc, task), g in rows.groupby(["encoding", "task"], sort=True):
        n_train = int(g["train_max_length"].iloc[0])
        cell = {"Encoding": enc, "Task": task, "n": g["seed"].nunique()}
        for i, (length, h) in enumerate(g.groupby("length")):
            label = f"{length}" + (" (N)" if length == n_train else f" ({length / n_train:g}N)")
            cell[f"L{i}"] = (label, f"{num(h['value'].mean(), True)} ± {num(h['value'].std(), True)}")
        lg = longer[(longer["encoding"] == enc) & (longer["task"] == task)][LONGER]
        cell["longer"] = f"{num(lg.mean(), True)} ± {num(lg.std(), True)}" if len(lg) else "–"
        out.append(cell)
    table = []
    for cell in out:
        row = {"Encoding": cell["Encoding"], "Task": cell["Task"], "n": cell["n"]}
        for k in sorted(k for k in cell if k.startswith("L")):
            label, text = cell[k]
            row[f"length {label}"] = text
        row["beyond N (mean)"] = cell["longer"]
        table.append(row)
    return pd.DataFrame(table)


def randomized_vs_plain(rows: pd.DataFrame) -> pd.DataFrame:
    """Raw: per base encoding × task with both variants, the ``longer`` means, the difference and
    the number of seeds (paired) where randomized beats plain."""
    longer = longer_scores(rows)
    out = []
    for (base, task), g in longer.groupby(["base", "task"], sort=True):
        plain, rand = g[~g["randomized"]], g[g["randomized"]]
        if plain.empty or rand.empty:
            continue
        paired = plain.merge(rand, on="seed", suffixes=("_plain", "_rand"))
        out.append({"position": g["position"].iloc[0], "task": task,
                    "plain_encoding": plain["encoding"].iloc[0], "randomized_encoding": rand["encoding"].iloc[0],
                    "plain_mean": plain[LONGER].mean(), "plain_std": plain[LONGER].std(),
                    "randomized_mean": rand[LONGER].mean(), "randomized_std": rand[LONGER].std(),
                    "difference": rand[LONGER].mean() - plain[LONGER].mean(),
                    "seeds_randomized_higher": int((paired[f"{LONGER}_rand"] > paired[f"{LONGER}_plain"]).sum()),
                    "paired_seeds": len(paired)})
    return pd.DataFrame(out)


def comparison_table(raw: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in raw.iterrows():
        rows.append({"Position": r["position"], "Task": r["task"],
                     "plain (beyond N)": f"{num(r['plain_mean'], True)} ± {num(r['plain_std'], True)}",
                     "randomized (beyond N)": f"{num(r['randomized_mean'], True)} ± {num(r['randomized_std'], True)}",
                     "Δ (randomized − plain)": f"{100 * r['difference']:+.1f}",
                     "seeds randomized higher": f"{r['seeds_randomized_higher']}/{r['paired_seeds']}"})
    return pd.DataFrame(rows)


def accuracy_by_length_figure(rows: pd.DataFrame, path: Path) -> plots.Plot | None:
    """One panel per task: accuracy (×100) against length, a line per encoding; one colour per
    position encoding, dashed when its positions are randomized."""
    if rows.empty:
        return None
    from matplotlib import colormaps

    tasks = sorted(rows["task"].unique())
    fig, axes = plots._figure(len(tasks), ncols=min(3, len(tasks)), panel=(4.6, 3.4))
    palette = colormaps["tab10"].colors
    colour = {base: palette[i % len(palette)] for i, base in enumerate(sorted(rows["base"].unique()))}
    handles: dict[str, object] = {}
    for ax, task in zip(axes, tasks):
        g = rows[rows["task"] == task]
        n_train = int(g["train_max_length"].iloc[0])
        handles["training lengths"] = ax.axvspan(g["length"].min() / 1.5, n_train, color="0.92", zorder=0)
        for enc, h in g.groupby("encoding", sort=True):
            stats = h.groupby("length")["value"].agg(["mean", "min", "max"])
            c = colour[h["base"].iloc[0]]
            handles[enc], = ax.plot(stats.index, 100 * stats["mean"], marker="o", ms=3, color=c,
                                    ls="--" if h["randomized"].iloc[0] else "-")
            ax.fill_between(stats.index, 100 * stats["min"], 100 * stats["max"], color=c, alpha=0.12)
        trivial = g.dropna(subset=["trivial"]).groupby("length")["trivial"].mean()
        if len(trivial):
            handles["trivial baseline"], = ax.plot(trivial.index, 100 * trivial.values, ls=":", color="0.3")
        lengths = sorted(g["length"].unique())
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(v) for v in lengths])
        ax.set_ylim(0, 102)
        ax.set_title(task)
        ax.set_xlabel("input length")
        ax.set_ylabel("per-token accuracy ×100")
    fig.legend(list(handles.values()), [plots._short(k, 34) for k in handles], loc="outside lower center",
               ncols=min(4, len(handles)), fontsize=8)
    return plots._save(fig, path, "length_accuracy", "Accuracy against input length",
                       "Final models; mean over seeds (band: min..max); dashed: randomized positions; "
                       "shaded: training lengths; dotted: the trivial baseline.")


@register_section
class LengthSection(ReportSection):
    name = "length"
    order = 65

    def applies(self, report) -> bool:
        if report.runs.empty or "results" not in report.runs:
            return False
        return any(_length_metrics(res or {}) is not None for res in report.runs["results"])

    def build(self, report, plot_dir) -> Part:
        rows = length_rows(report.runs)
        raw = randomized_vs_plain(rows)
        longer = longer_scores(rows)
        heads = []
        for (enc, task), g in longer.groupby(["encoding", "task"]):
            heads.append({"encoding": enc, "task": task, "metric": f"{rows['metric'].iloc[0]}@{LONGER}",
                          "median": g[LONGER].median(), "std": g[LONGER].std(), "n": len(g), "greater_is_better": True,
                          "percent": True, "trivial": False})
        blocks = [Block("length", "Length generalisation (trained on lengths ≤ N)", [
            "Per-token accuracy of the output symbols of each task's final model at each evaluated input length "
            "(×100, mean ± std over seeds); 'beyond N' is the mean over the lengths longer than any seen in training "
            "(Ruoss et al. 2023's score). Outputs are read from appended empty positions, not generated."],
            by_length_table(rows),
            [] if plot_dir is None else [f for f in [accuracy_by_length_figure(rows, plot_dir / "length_accuracy.png")]
                                         if f is not None])]
        if not raw.empty:
            blocks.append(Block("length_randomized", "Randomized vs plain positions", [
                "For each encoding run with and without randomized positions (Ruoss et al. 2023): accuracy beyond "
                "the training lengths (×100, mean ± std over seeds), the difference, and the seeds (paired) in which "
                "the randomized model scored higher."], comparison_table(raw)))
        return Part(blocks=blocks, csv={"length_accuracy": rows, "length_randomized_vs_plain": raw},
                    headlines=frame(heads, HEADLINE_COLUMNS))

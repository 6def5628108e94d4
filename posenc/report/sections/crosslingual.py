"""Zero-shot cross-lingual transfer (XTREME): per-language tables per task, the mean over
languages, the transfer gap, the XTREME score, the DIET paper's 7-number average in its Table 3
layout, a heat map of encodings × languages, which protocol produced each number, and the
languages that are missing. Applies to runs whose results.json carries ``zero_shot``; the
definitions are in :mod:`posenc.report.crosslingual`."""

from __future__ import annotations

import pandas as pd

from .. import compare, crosslingual as xl, plots
from ..build import BANNER
from ..display import BETTER, TRIVIAL, WORSE, is_false, is_percent, num, signed
from ..paper_table import model_name, where
from .base import FLAG_COLUMNS, HEADLINE_COLUMNS, Block, Part, ReportSection, baseline_name, frame, register_section

OFFLINE = "°"
DEFINITIONS = (
    "Protocol (Hu et al. 2020, XTREME §4): fine-tune on the train language, select the checkpoint (and learning "
    "rate) on its dev set, evaluate every language with that checkpoint. Cells: median over seeds. Mean = the "
    "unweighted mean over the languages evaluated (train language included), per run, then the median over seeds; "
    "Gap = train language minus the mean of the others (the cross-lingual transfer gap), per run, median over seeds. "
    "A task with several metrics (span QA: F1 / EM) enters averages with their mean.")


def _cell_marks(findings: pd.DataFrame) -> dict:
    """(encoding, task, scope) -> ▲/▼ for clear differences."""
    out = {}
    for _, r in findings[findings["clear"].astype(bool)].iterrows() if not findings.empty else []:
        better = (r["median_diff"] > 0) == bool(r["greater_is_better"])
        out[(r["encoding"], r["task"], r["scope"])] = BETTER if better else WORSE
    return out


def _order(langs: list[str], train: str) -> list[str]:
    return ([train] if train in langs else []) + [x for x in langs if x != train]


class _Tables:
    """The zero-shot tables of one report, computed once."""

    def __init__(self, report):
        self.long = xl.long_table(report.selected)
        self.langs = xl.language_table(self.long)
        per_run = xl.run_summaries(self.long)
        self.tasks = xl.task_table(self.long, report.selected, per_run)
        self.scores = xl.task_scores(self.tasks)
        self.findings = compare.mark_clear(xl.comparisons(self.long, report.baseline, per_run))
        self.marks = _cell_marks(self.findings)
        self.encodings = ([report.baseline] if report.baseline in set(self.tasks["encoding"]) else []) + sorted(
            e for e in self.tasks["encoding"].unique() if e != report.baseline)


def _language_block(t: _Tables, task: str, report) -> Block:
    langs = t.langs[t.langs["task"] == task]
    tasks = t.tasks[t.tasks["task"] == task]
    score = tasks["score_metric"].iloc[0]
    shown = [m for m in dict.fromkeys(langs["metric"]) if m != "combined"] or [score]
    train = t.long.loc[t.long["task"] == task, "train_language"].iloc[0]
    order = _order(list(dict.fromkeys(langs["language"])), train)
    pct = is_percent(score, langs.loc[langs["metric"] == score, "median"])
    rows = []
    for enc in t.encodings:
        cell = langs[langs["encoding"] == enc].set_index(["language", "metric"])
        trow = tasks[tasks["encoding"] == enc].set_index("metric")
        if trow.empty:
            continue
        row = {"Encoding": enc}
        for lang in order:
            if (lang, shown[0]) not in cell.index:
                row[lang] = "–"
                continue
            text = " / ".join(num(cell.loc[(lang, m), "median"], pct) for m in shown if (lang, m) in cell.index)
            low = is_false(cell.loc[(lang, score), "beats_trivial"]) if (lang, score) in cell.index else False
            mark = t.marks.get((enc, task, lang), "")
            row[lang] = text + (f" {mark}" if mark else "") + (f" {TRIVIAL}" if low else "")
        mean = " / ".join(num(trow.loc[m, "mean"], pct) for m in shown if m in trow.index)
        mark = t.marks.get((enc, task, ""), "")
        low = is_false(trow.loc[score, "beats_trivial"]) if score in trow.index else False
        row["Mean"] = mean + (f" {mark}" if mark else "") + (f" {TRIVIAL}" if low else "")
        row[f"Gap ({train} − others)"] = signed(trow.loc[score, "gap"], pct) if score in trow.index else "–"
        row[f"{train} dev (selection)"] = num(trow.iloc[0]["selection_median"], pct) if trow.iloc[0]["trained"] else "–"
        row["n"] = int(trow.iloc[0]["n"])
        row["Protocol"] = trow.iloc[0]["protocol"]
        rows.append(row)
    first = tasks.iloc[0]
    text = [f"{' / '.join(shown)}{' ×100' if pct else ''} per language, zero-shot from {train}"
            + (f"; averages use {score} (the mean of {' and '.join(shown)})" if score == "combined" else "") + "."]
    if first["protocol_note"]:
        text.append(f"Protocol: {first['protocol']} — {first['protocol_note']}.")
    else:
        text.append(f"Protocol: {first['protocol']}.")
    sizes = langs.groupby("language", sort=False)["examples"].max().dropna()
    if len(sizes):
        text.append("Examples per language: " + ", ".join(f"{lang} {int(sizes[lang])}" for lang in order if lang in sizes)
                    + " (small sets: a difference of a few points can be noise of the test set, not of the seeds).")
    trivial = langs[langs["metric"] == score].groupby("language", sort=False)["trivial"].first().dropna()
    if len(trivial):
        text.append(f"{TRIVIAL}: at or below the trivial baseline, {baseline_name(report.runs, task)} ("
                    + ", ".join(f"{lang} {num(trivial[lang], pct)}" for lang in order if lang in trivial.index) + ").")
    missing = "; ".join(sorted({m for m in tasks["missing"] if m}))
    if missing:
        text.append(f"Missing languages (requested, not evaluated): {missing}.")
    skipped = sorted({x for s in tasks["not_evaluated"] for x in s.split(",") if x})
    if skipped:
        text.append(f"Not requested: {', '.join(skipped)} (the task has {int(first['n_task_languages'])} languages; "
                    "averages over a subset are not comparable with full ones).")
    if tasks["languages"].nunique() > 1:
        text.append("Encodings were evaluated on different language sets: their means are not comparable.")
    return Block(f"zs_{task}", f"{task}: zero-shot per language", text, pd.DataFrame(rows))


def _overview(t: _Tables) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(display, tidy) overview: per encoding the mean over languages of each task, XTREME score,
    the paper's 7-number average."""
    xs = xl.xtreme_scores(t.tasks).set_index("encoding")
    rows, tidy = [], []
    for enc in t.encodings:
        s = t.scores[t.scores["encoding"] == enc].set_index("task")
        row = {"Encoding": enc}
        for task in dict.fromkeys(t.scores["task"]):
            if task not in s.index:
                row[task] = "–"
                continue
            r = s.loc[task]
            pct = is_percent(r["metric"], [r["mean"]])
            mark = t.marks.get((enc, task, ""), "")
            row[f"{task}"] = num(r["mean"], pct) + (f" {mark}" if mark else "") + \
                (f" {TRIVIAL}" if is_false(r["beats_trivial"]) else "")
        avg, missing = xl.paper_average(t.tasks, enc)
        x = xs.loc[enc] if enc in xs.index else None
        row["XTREME score"] = f"{num(x['xtreme_score'], True)} ({int(x['n_tasks'])}/{xl.XTREME_TASK_COUNT})" \
            if x is not None else "–"
        row["Paper avg (7)"] = f"{num(avg, True)} ({7 - len(missing)}/7)"
        rows.append(row)
        tidy.append({"encoding": enc, "xtreme_score": x["xtreme_score"] if x is not None else None,
                     "xtreme_tasks": x["tasks"] if x is not None else "", "paper_avg": avg, "paper_avg_n": 7 - len(missing),
                     "paper_avg_missing": ", ".join(missing)})
    return pd.DataFrame(rows), pd.DataFrame(tidy)


def table3(t: _Tables, runs: pd.DataFrame) -> pd.DataFrame:
    """The DIET paper's Table 3 layout from this report's medians: Model | Position | Segment |
    XNLI | XQuAD F1 / EM | MLQA | TyDiQA | Avg (| Avg over); ° = offline-substitute protocol."""
    opts = runs.groupby("encoding")["position_options"].first().to_dict() if not runs.empty else {}
    slots = runs.groupby("encoding")[["position", "segment"]].first() if not runs.empty else None
    cols = list(dict.fromkeys(task for task, _ in xl.PAPER_TABLE3_COLUMNS))
    rows = []
    for enc in t.encodings:
        vals = xl.paper_values(t.tasks, enc)
        g = t.tasks[t.tasks["encoding"] == enc].set_index("task")
        row = {"Model": model_name(slots.loc[enc, "position"], opts.get(enc)) + f" [{enc}]",
               "Position": where(slots.loc[enc, "position"], "position"),
               "Segment": where(slots.loc[enc, "segment"], "segment")}
        for task in cols:
            parts = [f"{100 * vals[(task, s)]:.1f}" for tk, s in xl.PAPER_TABLE3_COLUMNS if tk == task and (task, s) in vals]
            sub = task in g.index and "offline" in str(g.loc[[task], "protocol"].iloc[0])
            row[xl.PAPER_TABLE3_HEADERS[task]] = (" / ".join(parts) + (OFFLINE if sub else "")) if parts else "–"
        avg, missing = xl.paper_average(t.tasks, enc)
        row["Avg"] = num(avg, True)
        row["Avg over"] = f"{7 - len(missing)}/7"
        rows.append(row)
    return pd.DataFrame(rows)


@register_section
class CrossLingualSection(ReportSection):
    name = "crosslingual"
    order = 25

    def applies(self, report) -> bool:
        return not report.selected.empty and bool(xl.has_zero_shot(report.selected).any())

    def build(self, report, plot_dir) -> Part:
        t = _Tables(report)
        overview, tidy = _overview(t)
        figures = []
        if plot_dir is not None:
            fig = plots.language_heatmap(self._heat_cells(t), plot_dir / "languages.png", report.baseline)
            figures = [fig] if fig is not None else []
        protocols = t.tasks.drop_duplicates("task")[["task", "protocol", "protocol_note"]]
        offline = [r["task"] for _, r in protocols.iterrows() if "offline" in r["protocol"]]
        text = [DEFINITIONS,
                f"XTREME score: mean over tasks of each task's mean over languages (Hu et al. 2020, Table 2 'Avg'; "
                f"span QA counts the mean of F1 and EM), over the zero-shot tasks present (XTREME has "
                f"{xl.XTREME_TASK_COUNT}); over fewer tasks it is not the benchmark's score. Paper avg (7): XNLI accuracy plus F1 and "
                "EM of XQuAD, MLQA and TyDiQA-GoldP (Chen et al. 2021, Table 3 'Avg'), over those present.",
                "Protocol per task: " + "; ".join(f"{r['task']}: {r['protocol']}" for _, r in protocols.iterrows())
                + "." + (f" Offline-substitute numbers ({', '.join(offline)}) do not follow the paper's training data "
                         "(see each task's note) and are not comparable with published ones." if offline else "")]
        blocks = [
            Block("crosslingual", "Zero-shot cross-lingual transfer (mean over languages)", text, overview, figures,
                  layout="side"),
            Block("table3", "Table 3 layout (this report's runs)", [
                "Mean over the languages evaluated, median over seeds, ×100; QA cells F1 / EM; Avg = the paper's "
                f"7 numbers over those present; {OFFLINE} = offline-substitute protocol.", BANNER], table3(t, report.runs),
                standalone="table3"),
        ]
        blocks += [_language_block(t, task, report) for task in dict.fromkeys(t.scores["task"])]
        heads, flags = [], []
        for _, r in t.scores.iterrows():
            pct = is_percent(r["metric"], [r["mean"]])
            parts = [m for m in dict.fromkeys(t.langs.loc[t.langs["task"] == r["task"], "metric"]) if m != "combined"]
            what = f"mean of {' and '.join(parts)}" if r["metric"] == "combined" else r["metric"]
            heads.append({"encoding": r["encoding"], "task": r["task"], "metric": f"{what}, mean of {r['n_languages']} languages",
                          "median": r["mean"], "std": r["mean_std"], "n": int(r["n"]),
                          "greater_is_better": bool(r["greater_is_better"]), "percent": pct,
                          "trivial": is_false(r["beats_trivial"])})
        scored = t.langs.merge(t.scores[["encoding", "task", "metric"]], on=["encoding", "task", "metric"])
        for _, r in scored[scored["beats_trivial"].map(is_false)].iterrows():
            vals = t.long[(t.long["encoding"] == r["encoding"]) & (t.long["task"] == r["task"])
                          & (t.long["language"] == r["language"]) & (t.long["metric"] == r["metric"])]["value"]
            below = int((vals <= r["trivial"]).sum() if r["greater_is_better"] else (vals >= r["trivial"]).sum())
            flags.append({"encoding": r["encoding"], "task": r["task"], "scope": r["language"], "metric": r["metric"],
                          "percent": is_percent(r["metric"], [r["median"]]), "median": r["median"],
                          "trivial": r["trivial"], "baseline_name": baseline_name(report.runs, r["task"]),
                          "seeds_not_above": below, "n": int(r["n"])})
        csv = {"zero_shot_languages": t.langs, "zero_shot_tasks": t.tasks, "zero_shot_scores": tidy,
               "zero_shot_comparison": t.findings}
        return Part(blocks=blocks, csv=csv, headlines=frame(heads, HEADLINE_COLUMNS), findings=t.findings,
                    flags=frame(flags, FLAG_COLUMNS))

    @staticmethod
    def _heat_cells(t: _Tables) -> pd.DataFrame:
        rows = []
        for _, s in t.scores.iterrows():
            langs = t.langs[(t.langs["encoding"] == s["encoding"]) & (t.langs["task"] == s["task"])
                            & (t.langs["metric"] == s["metric"])]
            train = t.long.loc[t.long["task"] == s["task"], "train_language"].iloc[0]
            order = _order(list(dict.fromkeys(t.langs.loc[t.langs["task"] == s["task"], "language"])), train)
            by = langs.set_index("language")
            pct = is_percent(s["metric"], [s["mean"]])
            for lang in order:
                if lang in by.index:
                    rows.append({"task": s["task"], "metric": s["metric"], "encoding": s["encoding"], "column": lang,
                                 "median": by.loc[lang, "median"], "trivial_hit": is_false(by.loc[lang, "beats_trivial"]),
                                 "greater_is_better": s["greater_is_better"], "percent": pct,
                                 "mark": t.marks.get((s["encoding"], s["task"], lang), "")})
            rows.append({"task": s["task"], "metric": s["metric"], "encoding": s["encoding"], "column": "mean",
                         "median": s["mean"], "trivial_hit": is_false(s["beats_trivial"]),
                         "greater_is_better": s["greater_is_better"], "percent": pct,
                         "mark": t.marks.get((s["encoding"], s["task"], ""), "")})
        return pd.DataFrame(rows)


@register_section
class CrossLingualPaperReference(ReportSection):
    """The paper's printed Table 3, last in the report."""

    name = "crosslingual_paper"
    order = 101

    def applies(self, report) -> bool:
        return CrossLingualSection().applies(report)

    def build(self, report, plot_dir) -> Part:
        df = pd.DataFrame(xl.PAPER_TABLE3, columns=["Model", "Position", "Segment", "XNLI", "XQuAD", "MLQA", "TyDiQA", "Avg"])
        return Part(blocks=[Block("paper_table3", "Reference: the paper's Table 3 (NOT these runs)", [
            "DIET paper, Table 3: XTREME, multilingual BERT_BASE-size models trained on English (MNLI, SQuAD v1.1) and "
            "evaluated zero-shot, median of 5 runs, as printed (QA: F1 / EM). Orientation only: a different scale of "
            "model, data and compute."], df)])

"""The one-screen summary every report opens with: which encodings differ from the baseline beyond
seed noise, on which tasks and languages, at what measured cost; numbers at or below the trivial
baseline; the headline table; the differences figure beside it. Built from the other sections'
headlines, findings and flags, so a new section's numbers appear here without changes."""

from __future__ import annotations

import pandas as pd

from .. import compare, plots, speed
from ..display import BETTER, MARKER_NOTE, TRIVIAL, WORSE, fixed_decimals, num, ratio_text, signed
from .base import Block, Part, ReportSection, register_section

MAX_ITEMS = 6


def _listing(items: list[str]) -> str:
    if len(items) <= MAX_ITEMS:
        return ", ".join(items)
    return ", ".join(items[:MAX_ITEMS]) + f" and {len(items) - MAX_ITEMS} more (see the tables)"


def _where(r) -> str:
    return f"{r['task']}/{r['scope']}" if r["scope"] else str(r["task"])


def _cost_text(cost) -> str:
    if cost is None:
        return ""
    parts = []
    if pd.notna(cost["params_ratio"]):
        parts.append(f"parameters {ratio_text(cost['params_ratio'], 1)}")
    if pd.notna(cost["ratio"]):
        parts.append(f"step time {ratio_text(cost['ratio'])} ({cost['where']})")
    elif cost["controlled"]:
        parts.append(f"step time: {cost['where']}")
    return ("Cost: " + ", ".join(parts) + ".") if parts else ""


def _direction(r) -> bool:
    """True when a finding's difference is in the metric's better direction."""
    return (r["median_diff"] > 0) == bool(r["greater_is_better"])


def _items(f: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(better, worse) items of one encoding's findings: a task whose overall number differs clearly
    is one item with how many of its languages agree; otherwise its clear languages are listed."""
    up, down = [], []
    for task, g in f.groupby("task", sort=False):
        top = g[g["scope"] == ""]
        langs = g[g["scope"] != ""]
        clear_langs = langs[langs["clear"].astype(bool)]
        if len(top) and bool(top["clear"].iloc[0]):
            r = top.iloc[0]
            same = clear_langs[clear_langs.apply(_direction, axis=1) == _direction(r)] if len(clear_langs) else clear_langs
            extra = f"; clear in {len(same)} of {len(langs)} languages" if len(langs) else ""
            (up if _direction(r) else down).append(f"{task} ({signed(r['median_diff'], bool(r['percent']))}{extra})")
            continue
        for _, r in clear_langs.iterrows():
            (up if _direction(r) else down).append(f"{_where(r)} ({signed(r['median_diff'], bool(r['percent']))})")
    return up, down


def encoding_lines(findings: pd.DataFrame, costs: pd.DataFrame, baseline: str) -> list[str]:
    """One line per encoding: where it is clearly better / worse, how much is undecided, its cost."""
    lines = []
    encs = sorted(set(findings["encoding"]) | set(costs["encoding"])) if not costs.empty else sorted(set(findings["encoding"]))
    for enc in encs:
        if enc == baseline:
            continue
        f = findings[findings["encoding"] == enc]
        if f.empty:  # compared nowhere: e.g. a sweep's pre-training label (absolute+none) beside its fine-tuned one
            continue
        up, down = _items(f)
        untestable = f[~f["testable"].astype(bool)]
        undecided = len(f) - int(f["clear"].astype(bool).sum()) - len(untestable)
        text = [f"{enc}:"]
        text.append(f"better on {_listing(up)};" if up else "better nowhere;")
        text.append(f"worse on {_listing(down)};" if down else "worse nowhere;")
        text.append(f"no clear difference in {undecided} of {len(f)} comparisons"
                    + (f"; no test possible on {_listing([_where(r) for _, r in untestable.iterrows()])} (< 2 seeds)"
                       if len(untestable) else "") + ".")
        cost = costs[costs["encoding"] == enc].iloc[0] if enc in set(costs["encoding"]) else None
        text.append(_cost_text(cost))
        lines.append(" ".join(t for t in text if t))
    return lines


def flag_line(flags: pd.DataFrame) -> str:
    """Numbers at or below the trivial baseline, grouped by task: which encodings, how many cells."""
    if flags.empty:
        return "No reported number is at or below its task's trivial baseline."
    items = []
    for task, g in flags.groupby("task", sort=False):
        encs = sorted(set(g["encoding"]))
        who = ", ".join(encs) if len(encs) <= 2 else f"{len(encs)} encodings"
        scoped = g[g["scope"] != ""]
        where = f", in {len(scoped)} language cell(s)" if len(scoped) else ""
        name = next((str(n) for n in g["baseline_name"].dropna()), "trivial baseline") if "baseline_name" in g else \
            "trivial baseline"
        if len(g) == 1:
            r = g.iloc[0]
            fixed = fixed_decimals(r.get("metric", ""))
            where += (f": {num(r['median'], bool(r['percent']), fixed=fixed)} vs {name} "
                      f"{num(r['trivial'], bool(r['percent']), fixed=fixed)}, "
                      f"{int(r['seeds_not_above'])} of {int(r['n'])} seeds")
        else:
            where += f"; baseline: {name}"
        items.append(f"{task} ({who}{where})")
    return (f"At or below the trivial baseline ({TRIVIAL}): {_listing(items)}. These numbers say the model did not learn "
            "the task; they cannot rank encodings.")


def column_legend(heads: pd.DataFrame) -> str:
    """What each task column of the headline table holds."""
    first = heads.drop_duplicates("task")
    return "Columns: " + "; ".join(f"{r['task']} = {r['metric']}{' ×100' if bool(r['percent']) else ''}"
                                   for _, r in first.iterrows()) + "; median over seeds."


def headline_table(heads: pd.DataFrame, findings: pd.DataFrame, costs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Encodings × tasks: each task's headline number with ▲/▼/≤triv, then the cost columns."""
    if heads.empty:
        return pd.DataFrame()
    marks = {}
    for _, r in findings[findings["clear"].astype(bool) & (findings["scope"] == "")].iterrows() if not findings.empty else []:
        marks[(r["encoding"], r["task"])] = BETTER if _direction(r) else WORSE
    tasks = list(dict.fromkeys(heads["task"]))
    metric = heads.drop_duplicates("task").set_index("task")
    encs = ([baseline] if baseline in set(heads["encoding"]) else []) + sorted(
        e for e in heads["encoding"].unique() if e != baseline)
    cost = costs.set_index("encoding") if not costs.empty else pd.DataFrame()
    uncontrolled = not costs.empty and not costs["controlled"].astype(bool).all()
    rows = []
    for enc in encs:
        h = heads[heads["encoding"] == enc].set_index("task")
        row = {"Encoding": enc + (" (baseline)" if enc == baseline else "")}
        for task in tasks:
            pct = bool(metric.loc[task, "percent"])
            label = task
            if task not in h.index:
                row[label] = "–"
                continue
            r = h.loc[task]
            mark = marks.get((enc, task), "")
            row[label] = num(r["median"], pct, fixed=fixed_decimals(metric.loc[task, "metric"])) + (f" {mark}" if mark else "") + (f" {TRIVIAL}" if bool(r["trivial"]) else "")
        if not cost.empty and enc in cost.index:
            row["Params"] = ratio_text(cost.loc[enc, "params_ratio"], 1) if enc != baseline else "ref."
            row["Step time" + (" (uncontrolled)" if uncontrolled else "")] = \
                ratio_text(cost.loc[enc, "ratio"]) if enc != baseline else "ref."
        rows.append(row)
    return pd.DataFrame(rows)


@register_section
class SummarySection(ReportSection):
    name = "summary"
    order = 0
    uses_parts = True

    def applies(self, report) -> bool:
        return not report.runs.empty

    def build(self, report, plot_dir) -> Part:
        heads = report.gathered("headlines").drop_duplicates(["encoding", "task"])  # the first section's wins
        findings = report.gathered("findings")
        flags = report.gathered("flags")
        costs = speed.report_costs(report)
        base = report.baseline
        n_seeds = heads["n"].astype(int) if not heads.empty else pd.Series(dtype=int)
        langs = sorted({s for s in findings["scope"] if s}) if not findings.empty else []
        # encodings with a headline number (a sweep's pre-training labels, absolute+none..., have none of their own)
        n_encodings = heads["encoding"].nunique() if not heads.empty else len(report.encodings)
        text = [f"Baseline {base}; {n_encodings} encodings, {heads['task'].nunique() if not heads.empty else 0} "
                f"task(s)" + (f", {len(langs)} languages" if langs else "")
                + (f"; {n_seeds.min()}–{n_seeds.max()} seeds per number" if len(n_seeds) and n_seeds.min() != n_seeds.max()
                   else f"; {n_seeds.max()} seed(s) per number" if len(n_seeds) else "") + "."]
        for part in report.parts.values():
            text += part.notes
        text += encoding_lines(findings, costs, base) if base is not None else []
        text.append(flag_line(flags))
        footer = [column_legend(heads)] if not heads.empty else []
        if not costs.empty and not costs["controlled"].astype(bool).all() and costs["ratio"].notna().any():
            footer.append("Step times are the sweep's own, uncontrolled: read them as what the runs took, not as the "
                          "encodings' cost; `posenc report RUNS --bench BENCH.csv` states costs from a `posenc bench` run.")
        footer.append(compare.CLEAR_RULE[0].upper() + compare.CLEAR_RULE[1:] + ". " + MARKER_NOTE)
        figures = []
        if plot_dir is not None and not findings.empty and base is not None:
            fig = plots.difference_forest(findings[findings["scope"] == ""], plot_dir / "differences.png", base)
            figures = [fig] if fig is not None else []
        block = Block("summary", "Summary", text, headline_table(heads, findings, costs, base), figures,
                      bullets=True, footer=footer, layout="side")
        return Part(blocks=[block], csv={"summary": heads})

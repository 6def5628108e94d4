"""posenc report: the summary every report opens with, the zero-shot per-language section (XTREME),
costs from a `posenc bench` CSV, and a section registered from outside the report package.

Inputs are results.json files as runs write them (tests/_report_runs.py); every expected number
below is computed by hand from the values written."""

from __future__ import annotations

import argparse
import math
import re

import pandas as pd
import pytest

from posenc.report import SECTIONS, Block, Part, ReportSection, build_report, export, register_section
from posenc.report.sections.base import HEADLINE_COLUMNS
from _report_runs import base_result, demo_sweep, pretrain_result, write_bench, write_results, zero_shot_result

A, B = "absolute+input", "diet_rel+diet"
# xnli accuracy per seed (3 seeds) and language; the trivial baseline per language
XNLI = {A: {"en": [0.60, 0.62, 0.64], "de": [0.50, 0.52, 0.51], "zh": [0.40, 0.44, 0.42]},
        B: {"en": [0.70, 0.71, 0.72], "de": [0.60, 0.61, 0.62], "zh": [0.30, 0.29, 0.31]}}
XNLI_TRIVIAL = {"en": 0.34, "de": 0.33, "zh": 0.35}
# mlqa (F1, EM) per seed and language
MLQA = {A: {"en": [(0.50, 0.30), (0.52, 0.32), (0.54, 0.34)], "de": [(0.40, 0.20), (0.42, 0.22), (0.41, 0.21)]},
        B: {"en": [(0.60, 0.40), (0.61, 0.41), (0.62, 0.42)], "de": [(0.45, 0.25), (0.46, 0.26), (0.47, 0.27)]}}


@pytest.fixture
def xtreme_runs(tmp_path):
    root = tmp_path / "runs"
    for enc in (A, B):
        for i, seed in enumerate((1, 2, 3)):
            langs = {lang: {"accuracy": v[i]} for lang, v in XNLI[enc].items()}
            write_results(root, f"xnli/{enc}-s{seed}", zero_shot_result(
                enc, "xnli", seed, langs, {lang: {"accuracy": t} for lang, t in XNLI_TRIVIAL.items()}, ["accuracy"],
                missing={"fr": "file not found: xtreme/xnli/dev-fr.tsv"}, task_languages=["en", "de", "fr", "zh", "ar"],
                protocol="offline substitute", protocol_note="trains on part of the XNLI English dev set",
                step_time_s=0.1 if enc == A else 0.15, baseline_name="majority class"))
            qa = {lang: {"mlqa_f1": v[i][0], "mlqa_exact_match": v[i][1]} for lang, v in MLQA[enc].items()}
            write_results(root, f"mlqa/{enc}-s{seed}", zero_shot_result(
                enc, "mlqa", seed, qa, {lang: {"mlqa_f1": 0.05, "mlqa_exact_match": 0.01} for lang in qa},
                ["mlqa_f1", "mlqa_exact_match"], step_time_s=0.1 if enc == A else 0.15))
    return root


def test_zero_shot_tables_means_gaps_and_averages_are_hand_computed(xtreme_runs, tmp_path):
    out = tmp_path / "out"
    rep = build_report([xtreme_runs], out_dir=out, make_plots=False)
    export(rep, out, ["markdown", "csv", "latex"])
    langs = pd.read_csv(out / "zero_shot_languages.csv")
    cell = langs.set_index(["encoding", "task", "language", "metric"])
    assert cell.loc[(A, "xnli", "de", "accuracy"), "median"] == pytest.approx(0.51)
    assert cell.loc[(B, "xnli", "zh", "accuracy"), "median"] == pytest.approx(0.30)
    assert not cell.loc[(B, "xnli", "zh", "accuracy"), "beats_trivial"]      # 0.30, 0.29, 0.31 ≤ 0.35
    assert cell.loc[(A, "xnli", "zh", "accuracy"), "beats_trivial"]
    # span QA: combined = mean(F1, EM) per language; en of A, seed 2: (0.52 + 0.32) / 2
    assert cell.loc[(A, "mlqa", "en", "combined"), "median"] == pytest.approx(0.42)

    tasks = pd.read_csv(out / "zero_shot_tasks.csv").set_index(["encoding", "task", "metric"])
    # per run: mean over en, de, zh; median over seeds of (0.5, 0.52667, 0.52333)
    assert tasks.loc[(A, "xnli", "accuracy"), "mean"] == pytest.approx((0.64 + 0.51 + 0.42) / 3)
    assert tasks.loc[(B, "xnli", "accuracy"), "mean"] == pytest.approx((0.71 + 0.61 + 0.29) / 3)
    # gap = en − mean(de, zh) per run: A 0.15, 0.14, 0.175 -> 0.15; B 0.25, 0.26, 0.255 -> 0.255
    assert tasks.loc[(A, "xnli", "accuracy"), "gap"] == pytest.approx(0.15)
    assert tasks.loc[(B, "xnli", "accuracy"), "gap"] == pytest.approx(0.255)
    assert tasks.loc[(A, "mlqa", "combined"), "mean"] == pytest.approx(0.37)   # runs 0.35, 0.37, 0.375
    assert tasks.loc[(A, "mlqa", "mlqa_f1"), "mean"] == pytest.approx(0.47)    # runs 0.45, 0.47, 0.475
    assert tasks.loc[(A, "mlqa", "mlqa_exact_match"), "mean"] == pytest.approx(0.27)
    row = tasks.loc[(A, "xnli", "accuracy")]
    assert "fr: file not found" in row["missing"] and row["not_evaluated"] == "ar"
    assert row["protocol"] == "offline substitute" and tasks.loc[(A, "mlqa", "combined"), "protocol"] == "paper"

    scores = pd.read_csv(out / "zero_shot_scores.csv").set_index("encoding")
    # XTREME score: mean over tasks of the task's mean over languages (QA: mean of F1 and EM)
    assert scores.loc[A, "xtreme_score"] == pytest.approx(((0.64 + 0.51 + 0.42) / 3 + 0.37) / 2)
    assert scores.loc[B, "xtreme_score"] == pytest.approx(((0.71 + 0.61 + 0.29) / 3 + 0.435) / 2)
    # the DIET paper's 7-number average over the 3 present: XNLI acc, MLQA F1, MLQA EM
    assert scores.loc[A, "paper_avg"] == pytest.approx(((0.64 + 0.51 + 0.42) / 3 + 0.47 + 0.27) / 3)
    assert scores.loc[A, "paper_avg_n"] == 3 and "xquad:f1" in scores.loc[A, "paper_avg_missing"]

    md = (out / "report.md").read_text()
    xnli_table = md[md.index("## xnli: zero-shot per language"):]
    # B: en clearly better, zh clearly worse and at/below the trivial baseline; the protocol of every number
    assert re.search(r"\| diet_rel\+diet \| 71\.0 ▲ \| 61\.0 ▲ \| 30\.0 ▼ ≤triv \|", xnli_table)
    assert "| +25.5 |" in xnli_table and "offline substitute" in xnli_table
    assert "Missing languages (requested, not evaluated): fr: file not found" in xnli_table
    assert "Not requested: ar" in xnli_table
    assert "≤triv: at or below the trivial baseline, majority class (en 34.0, de 33.0, zh 35.0)." in xnli_table
    assert "xnli (diet_rel+diet, in 1 language cell(s): 30.0 vs majority class 35.0, 3 of 3 seeds)" in md
    mlqa_table = md[md.index("## mlqa: zero-shot per language"):]
    assert "| absolute+input | 52.0 / 32.0 | 41.0 / 21.0 | 47.0 / 27.0 |" in mlqa_table  # F1 / EM medians
    t3 = (out / "table3.md").read_text()
    assert "| BERT (absolute) [absolute+input] | input | input | 52.3° | – | 47.0 / 27.0 | – | 42.1 | 3/7 |" in t3
    assert "DIET-REL [diet_rel+diet] | per-head | per-head" in t3
    assert "| Devlin et al. (2018) | input | input | 67.0 | 66.0 / 49.9 |" in md  # the paper's Table 3, labelled
    for tex in ("report.tex", "table3.tex"):
        text = (out / tex).read_text()
        assert text.count("{") == text.count("}") and r"\blacktriangledown" in (out / "report.tex").read_text()


def test_xtreme_score_reproduces_the_published_averages(tmp_path):
    """XTREME (Hu et al. 2020) Table 2, 'Avg' column: mBERT 59.6 and XLM-R 68.2 from the nine task
    numbers printed beside them (to within their rounding), QA tasks entering with the mean of F1 and EM."""
    published = {
        "mbert": ({"xnli": 65.4, "pawsx": 81.9, "udpos": 70.3, "panx": 62.2, "xquad": (64.5, 49.4), "mlqa": (61.4, 44.2),
                   "tydiqa": (59.7, 43.9), "bucc": 56.7, "tatoeba": 38.7}, 59.6),
        "xlmr": ({"xnli": 79.2, "pawsx": 86.4, "udpos": 73.8, "panx": 65.4, "xquad": (76.6, 60.8), "mlqa": (71.6, 53.2),
                  "tydiqa": (65.1, 45.0), "bucc": 66.0, "tatoeba": 57.3}, 68.2)}
    for model, (numbers, avg) in published.items():
        root = tmp_path / model
        for task, v in numbers.items():
            if isinstance(v, tuple):
                langs, metrics = {"xx": {"f1": v[0] / 100, "exact_match": v[1] / 100}}, ["f1", "exact_match"]
            else:
                langs, metrics = {"xx": {"score": v / 100}}, ["score"]
            write_results(root, task, zero_shot_result(A, task, 1, langs, {}, metrics))
        rep = build_report([root], make_plots=False)
        score = rep.parts["crosslingual"].csv["zero_shot_scores"].set_index("encoding").loc[A, "xtreme_score"]
        assert 100 * score == pytest.approx(avg, abs=0.05 + 1e-9), model  # inputs are printed to 0.1


def test_every_report_opens_with_the_summary_and_its_figure(tmp_path):
    runs = demo_sweep(tmp_path / "runs", seeds=(1, 2, 3))
    out = tmp_path / "out"
    rep = build_report([runs], out_dir=out)
    export(rep, out, ["html", "markdown"])
    first = rep.blocks[0]
    assert first.key == "summary" and first.layout == "side" and first.figures[0].name == "differences"
    text = " ".join(first.text)
    # the demo's diet_rel is +3 points everywhere (+6 on other languages' XNLI), seed noise ~1
    assert re.search(r"diet_rel\+diet: better on .*xnli \(\+\d\.\d; clear in \d of 4 languages\)", text)
    assert "uncontrolled" in text and "sweep runs" in text  # step times without a bench are labelled
    assert list(first.table.columns[:3]) == ["Encoding", "mlqa", "xnli"] and "Step time (uncontrolled)" in first.table
    page = (out / "report.html").read_text()
    h2 = re.findall(r"<h2 id=\"([^\"]+)\"", page)
    assert h2[0] == "summary" and h2.index("crosslingual") < h2.index("pretrain")
    summary_html = page[page.index('id="summary"'):page.index("<nav>")]
    assert summary_html.count("<img") == 1 and 'class="better num"' in summary_html
    assert page.count('<img src="data:image/png;base64,') == len(rep.plots)
    names = [p.name for p in rep.plots]
    assert {"differences", "languages", "cost_quality", "pretraining_curves", "task_bars"} <= set(names)
    md = (out / "report.md").read_text()
    assert md.index("## Summary") < md.index("## Inputs and protocol") < md.index("## xnli: zero-shot per language")


def test_summary_speaks_of_the_compared_encodings_only(xtreme_runs, tmp_path):
    # a sweep pre-trains `absolute+none` and fine-tunes it as `absolute+input`: the pre-training label
    # has no number of its own in the summary, so it gets no "better nowhere ... 0 of 0" line either
    pretrain_result(xtreme_runs, "absolute+none", 1, [(0, 9.0), (100, 5.0)], entropy=6.4)
    rep = build_report([xtreme_runs], out_dir=tmp_path / "out", make_plots=False)
    text = rep.blocks[0].text
    assert text[0].startswith(f"Baseline {A}; 2 encodings, 2 task(s)")
    assert not [line for line in text if line.startswith("absolute+none")]
    assert [line for line in text if line.startswith(f"{B}: better on")]


def test_costs_come_from_a_bench_csv_when_given(xtreme_runs, tmp_path, capsys):
    bench = write_bench(tmp_path / "bench.csv", [
        ("absolute", "train", 8, 64, 50.0, "ok"), ("diet_rel", "train", 8, 64, 70.0, "ok"),
        ("absolute", "train", 8, 128, 100.0, "ok"), ("diet_rel", "train", 8, 128, 113.0, "ok"),
        ("diet_rel", "train", 8, 256, 999.0, "skipped (out of memory)"), ("hf:bert", "train", 8, 128, 90.0, "ok")])
    rep = build_report([xtreme_runs], make_plots=False, bench=bench)
    costs = rep.parts["cost"].csv["costs"].set_index("encoding")
    # the largest length both were timed at: 128 (256 failed); 113 / 100
    assert costs.loc[B, "ratio"] == pytest.approx(1.13) and costs.loc[B, "controlled"]
    assert costs.loc[B, "where"] == "posenc bench, train, L=128, b=8"
    detail = rep.parts["cost"].csv["bench_costs"]
    assert sorted(detail.loc[detail["encoding"] == B, "ratio"].round(3)) == [1.13, 1.4]
    summary = " ".join(rep.blocks[0].text)
    assert "step time +13% (posenc bench, train, L=128, b=8)" in summary and "uncontrolled" not in summary
    assert rep.blocks[0].table.set_index("Encoding").loc[B, "Step time"] == "+13%"
    # without the bench: the runs' own times (0.15 vs 0.1 s), labelled uncontrolled
    plain = build_report([xtreme_runs], make_plots=False).parts["cost"].csv["costs"].set_index("encoding")
    assert plain.loc[B, "ratio"] == pytest.approx(1.5) and not plain.loc[B, "controlled"]

    from posenc.commands import report

    parser = argparse.ArgumentParser(prog="posenc")
    report.register(parser.add_subparsers(dest="command"))
    (tmp_path / "not_bench.csv").write_text("a,b\n1,2\n")
    for bad, phrase in ((tmp_path / "none.csv", "no such file"), (tmp_path / "not_bench.csv", "not a `posenc bench` CSV")):
        args = parser.parse_args(["report", str(xtreme_runs), "--out", str(tmp_path / "o"), "--bench", str(bad)])
        assert args.func(args) == 2
        assert phrase in capsys.readouterr().err


def test_a_section_registered_outside_the_package_reaches_every_exporter_and_the_summary(xtreme_runs, tmp_path):
    """What a new task family does (e.g. translation's BLEU table): one module, one registration."""

    class ToySection(ReportSection):
        name = "toy"
        order = 35

        def applies(self, report):
            return any("toy_score" in r for r in report.runs["results"])

        def build(self, report, plot_dir):
            rows = [{"encoding": r["encoding"], "task": "toy", "metric": "toy_score", "median": r["results"]["toy_score"],
                     "std": math.nan, "n": 1, "greater_is_better": True, "percent": False, "trivial": False}
                    for _, r in report.runs.iterrows() if "toy_score" in r["results"]]
            heads = pd.DataFrame(rows, columns=HEADLINE_COLUMNS)
            table = pd.DataFrame({"Encoding": heads["encoding"], "Toy score": heads["median"].map(str)})
            return Part(blocks=[Block("toy", "Toy results", ["A section of its own."], table)], csv={"toy": heads},
                        headlines=heads)

    for enc, v in ((A, 11.5), (B, 12.25)):
        write_results(xtreme_runs, f"toy/{enc}", base_result(enc, "toy", 1, kind="toy", main_metric="toy_score", toy_score=v,
                                                              best={"step": 1, "metrics": {"toy_score": v}}))
    register_section(ToySection)
    try:
        out = tmp_path / "out"
        rep = build_report([xtreme_runs], out_dir=out, make_plots=False)
        written = {p.name for p in export(rep, out, ["markdown", "csv", "latex", "html"])}
        assert "toy.csv" in written and list(pd.read_csv(out / "toy.csv")["median"]) == [11.5, 12.25]
        assert "## Toy results" in (out / "report.md").read_text()
        assert 'class="posenc-toy"' in (out / "report.html").read_text()
        assert "tab:posenc-toy" in (out / "report.tex").read_text()
        assert rep.blocks[0].table.set_index("Encoding")["toy"].tolist() == ["11.5", "12.25"]  # in the summary table
    finally:
        SECTIONS.unregister("toy")

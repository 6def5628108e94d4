"""posenc report: collection, seed aggregation, best-lr rule, tests vs baseline, averages, exports, CLI.

Fixtures are synthetic results.json files (the report's input format, docs/CONTRACTS.md)."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from posenc.report import aggregate, averages, build_report, compare, export, parse_formats
from posenc.report.collect import load_runs

POS = {"absolute+input": ({"name": "absolute"}, {"name": "input"}),
       "diet_rel+diet": ({"name": "diet_rel"}, {"name": "diet"}),
       "diet_abs(rank=128,sharing=layer)+diet": ({"name": "diet_abs", "rank": 128, "sharing": "layer"}, {"name": "diet"})}


def write_run(root: Path, name: str, encoding: str, task: str, seed: int, lr: float, value: float,
              metric: str = "accuracy", kind: str = "finetune", status: str = "complete", extra=None, **fields) -> Path:
    d = root / name
    d.mkdir(parents=True)
    pos, seg = POS[encoding]
    metrics = {metric: value, **(extra or {})}
    res = {"schema": 1, "status": status, "kind": kind, "run_name": name, "position": pos, "segment": seg,
           "encoding": encoding, "task": task, "seed": seed, "learning_rate": lr, "main_metric": metric,
           "greater_is_better": metric != "loss", "best": {"step": 10, "metrics": metrics},
           "final": {"step": 20, "metrics": {k: v - 0.01 for k, v in metrics.items()}},
           "num_parameters": 1000, "tokens_per_s": 500.0, "step_time_s": 0.1, "train_time_s": 3.0,
           "peak_memory_mb": 10.0, "world_size": 1, "pretrained_from": None, "model_dir": "best", **fields}
    (d / "results.json").write_text(json.dumps(res))
    return d


@pytest.fixture
def lr_runs(tmp_path):
    """One encoding × task, two learning rates; the median rule and the mean rule disagree."""
    for seed, v in zip((1, 2, 3), (0.50, 0.66, 0.67)):
        write_run(tmp_path, f"a/lr1_s{seed}", "absolute+input", "rte", seed, 1e-5, v)
    for seed, v in zip((1, 2, 3), (0.60, 0.65, 0.90)):
        write_run(tmp_path, f"a/lr2_s{seed}", "absolute+input", "rte", seed, 2e-5, v)
    return tmp_path


def test_collect_recurses_and_lists_incomplete(tmp_path):
    write_run(tmp_path, "sweep/a/s1", "absolute+input", "rte", 1, 1e-5, 0.6)
    write_run(tmp_path, "sweep/b", "diet_rel+diet", "rte", 1, 1e-5, 0.7, status="failed", reason="OOM")
    crashed = tmp_path / "sweep/c"
    crashed.mkdir(parents=True)
    (crashed / "metrics.jsonl").write_text('{"step": 1}\n')
    write_run(tmp_path, "sweep/e", "absolute+input", "rte", 2, 1e-5, 0.6, metric="accuracy",
              best={"step": 1, "metrics": {"f1": 0.5}}, final={"step": 2, "metrics": {}})
    broken = tmp_path / "sweep/d"
    broken.mkdir()
    (broken / "results.json").write_text("{not json")
    table = load_runs([tmp_path / "sweep"])
    assert list(table.runs["encoding"]) == ["absolute+input"]
    status = dict(zip(table.incomplete["run_dir"].map(lambda p: Path(p).name), table.incomplete["status"]))
    assert status == {"b": "failed", "c": "no results.json", "d": "unreadable", "e": "invalid"}
    assert table.incomplete.set_index("status").loc["failed", "reason"] == "OOM"
    # a run directory given directly works too
    assert len(load_runs([tmp_path / "sweep/a/s1"]).runs) == 1
    with pytest.raises(FileNotFoundError):
        load_runs([tmp_path / "nope"])


def test_best_lr_is_chosen_by_median_and_stats_are_hand_checked(lr_runs):
    runs = load_runs([lr_runs]).runs
    agg = aggregate.aggregate_finetune(runs)
    assert len(agg) == 1
    r = agg.iloc[0]
    # medians: lr 1e-5 -> 0.66, lr 2e-5 -> 0.65 (the mean rule would pick 2e-5: 0.7167 > 0.61)
    assert r["best_lr"] == pytest.approx(1e-5)
    assert r["n"] == 3 and r["seeds"] == "1,2,3" and r["lrs_tried"] == "1e-05,2e-05"
    assert r["median"] == pytest.approx(0.66)
    assert r["mean"] == pytest.approx(0.61)
    assert r["std"] == pytest.approx(math.sqrt((0.11**2 + 0.05**2 + 0.06**2) / 2))
    assert (r["min"], r["max"]) == pytest.approx((0.50, 0.67))
    assert r["median.accuracy"] == pytest.approx(0.66)
    grid = aggregate.lr_grid(runs)
    assert list(grid["median"]) == pytest.approx([0.66, 0.65])


def test_lr_rule_lower_is_better_and_ties(tmp_path):
    for seed, v in ((1, 2.0), (2, 2.2)):
        write_run(tmp_path, f"l1_s{seed}", "absolute+input", "mlm_ft", seed, 1e-5, v, metric="loss")
    for seed, v in ((1, 1.5), (2, 3.0)):  # median 2.25 (worse) but mean-free check: lower median wins
        write_run(tmp_path, f"l2_s{seed}", "absolute+input", "mlm_ft", seed, 2e-5, v, metric="loss")
    # tie on the median: the rate with more seeds wins
    write_run(tmp_path, "t1_s1", "diet_rel+diet", "rte", 1, 1e-5, 0.7)
    for seed in (1, 2):
        write_run(tmp_path, f"t2_s{seed}", "diet_rel+diet", "rte", seed, 3e-5, 0.7)
    agg = aggregate.aggregate_finetune(load_runs([tmp_path]).runs).set_index("encoding")
    assert agg.loc["absolute+input", "best_lr"] == pytest.approx(1e-5)
    assert agg.loc["absolute+input", "median"] == pytest.approx(2.1)
    assert agg.loc["diet_rel+diet", "best_lr"] == pytest.approx(3e-5)
    assert agg.loc["diet_rel+diet", "n"] == 2


def test_welch_p_value_matches_hand_computation():
    a = np.array([0.71, 0.74, 0.72, 0.73])
    b = np.array([0.65, 0.66, 0.64])
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    p = 2 * stats.t.sf(abs(t), df)
    r = compare.compare_samples(a, b)
    assert r["t"] == pytest.approx(t)
    assert r["p_value"] == pytest.approx(p)
    assert r["median_diff"] == pytest.approx(np.median(a) - np.median(b))
    assert r["ci_mean_low"] <= r["mean_diff"] <= r["ci_mean_high"]
    assert r["ci_median_low"] < r["ci_median_high"]
    assert r["p_value"] < 0.05 and not r["within_noise"] and r["verdict"] == "better"
    # lower-is-better flips the direction
    assert compare.compare_samples(a, b, greater_is_better=False)["verdict"] == "worse"


def test_within_noise_and_untestable():
    noisy = compare.compare_samples([0.60, 0.70, 0.65], [0.62, 0.68, 0.64])
    assert noisy["within_noise"] is True and noisy["verdict"] == "within noise"
    one = compare.compare_samples([0.7], [0.6, 0.61])
    assert not one["testable"] and math.isnan(one["p_value"]) and "impossible" in one["verdict"]


def test_baseline_resolution():
    encs = ["diet_rel+diet", "absolute(max_length=128)+input"]
    assert compare.default_baseline(encs, {encs[1]: ("absolute", "input")}) == encs[1]
    assert compare.default_baseline(["b", "a"]) == "a"
    assert compare.resolve_baseline("absolute", encs) == encs[1]
    with pytest.raises(KeyError, match="Did you mean 'diet_rel\\+diet'"):
        compare.resolve_baseline("diet_rel+diett", encs)


def _glue_results(scale=1.0):
    return {"cola": {"mcc": 0.5}, "sst2": {"accuracy": 0.9}, "mrpc": {"f1": 0.88, "accuracy": 0.84},
            "stsb": {"pearson": 0.87, "spearman": 0.86}, "qqp": {"f1": 0.86, "accuracy": 0.9},
            "mnli_matched": {"accuracy": 0.84}, "mnli_mismatched": {"accuracy": 0.85},
            "qnli": {"accuracy": 0.91}, "rte": {"accuracy": 0.7}, "wnli": {"accuracy": 0.56}}


def test_averages_match_posenc_metrics_when_complete_and_list_missing():
    from posenc import metrics

    full = _glue_results()
    gs, missing, n = averages.glue_score(full)
    assert missing == [] and n == 9
    assert gs == pytest.approx(metrics.glue_score(full))
    pavg, pmiss = averages.paper_average(full)
    assert pmiss == [] and pavg == pytest.approx(metrics.paper_average(full))
    part = {k: v for k, v in full.items() if k in ("cola", "sst2", "mnli_matched")}
    gs, missing, n = averages.glue_score(part)
    assert n == 2 and gs == pytest.approx((0.5 + 0.9) / 2) and "mnli_mismatched" in missing and "rte" in missing
    pavg, pmiss = averages.paper_average(part)
    assert pavg == pytest.approx((0.5 + 0.9 + 0.84) / 3) and len(pmiss) == 4


def test_mnli_mismatched_metric_is_split_out(tmp_path):
    write_run(tmp_path, "m", "absolute+input", "mnli", 1, 1e-5, 0.80, extra={"mm_accuracy": 0.82})
    agg = aggregate.aggregate_finetune(load_runs([tmp_path]).runs)
    res = averages.task_metrics(agg)
    assert res["mnli_matched"] == {"accuracy": 0.80} and res["mnli_mismatched"] == {"accuracy": 0.82}


@pytest.fixture
def report_runs(tmp_path):
    root = tmp_path / "runs"
    rng = np.random.default_rng(0)
    for enc, gain in (("absolute+input", 0.0), ("diet_rel+diet", 0.05), ("diet_abs(rank=128,sharing=layer)+diet", 0.0)):
        for task, metric in (("rte", "accuracy"), ("cola", "mcc"), ("sst2", "accuracy")):
            for seed in (1, 2, 3):
                write_run(root, f"{enc[:8]}/{task}/s{seed}", enc, task, seed, 2e-5, 0.6 + gain + rng.normal(0, 0.01),
                          metric=metric, step_time_s=0.1 + gain)
        write_run(root, f"{enc[:8]}/pt", enc, "mlm", 1, 1e-4, 3.0 - gain, metric="loss", kind="pretrain")
    # a single-seed task: no test possible
    write_run(root, "abs/qnli", "absolute+input", "qnli", 1, 2e-5, 0.8)
    write_run(root, "rel/qnli", "diet_rel+diet", "qnli", 1, 2e-5, 0.82)
    write_run(root, "rel/failed", "diet_rel+diet", "rte", 9, 2e-5, 0.1, status="running")
    (root / "diet_rel/pt/probe.json").write_text(json.dumps(
        {"lengths": [128, 256], "mlm_loss": [3.0, 3.4], "supported": True, "reason": ""}))
    (root / "absolute/pt/probe.json").write_text(json.dumps(
        {"lengths": [128], "mlm_loss": [3.1], "supported": False, "unsupported_lengths": [256],
         "reason": "table has 128 rows"}))
    return root


def _latex_tabulars(text: str):
    return re.findall(r"\\begin\{tabular\}\{([^}]*)\}(.*?)\\end\{tabular\}", text, flags=re.S)


def test_exports_parse(report_runs, tmp_path):
    out = tmp_path / "out"
    rep = build_report([report_runs], out_dir=out)
    assert rep.baseline == "absolute+input"
    written = export(rep, out, parse_formats("md,csv,tex,html"))
    names = {p.name for p in written}
    assert {"report.md", "table2.md", "results.csv", "report.tex", "table2.tex", "report.html"} <= names

    # CSV: tidy, one row per encoding × task, equal to the in-memory table
    back = pd.read_csv(out / "results.csv", dtype={"lrs_tried": str, "seeds": str})
    assert len(back) == 3 * 3 + 2 and not back.duplicated(["encoding", "task"]).any()
    pd.testing.assert_frame_equal(back, rep.finetune.reset_index(drop=True), check_dtype=False)
    inc = pd.read_csv(out / "incomplete.csv")
    assert list(inc["status"]) == ["running"]

    # the comparison: single-seed task untestable, no p-value
    cmp = rep.comparison.set_index(["encoding", "task"])
    assert not cmp.loc[("diet_rel+diet", "qnli"), "testable"]
    assert math.isnan(cmp.loc[("diet_rel+diet", "qnli"), "p_value"])
    assert cmp.loc[("diet_rel+diet", "rte"), "verdict"] == "better"

    md = (out / "report.md").read_text()
    assert "NOT the DIET paper's numbers" in md and "## Table 2 layout" in md
    assert "test impossible" in md and "table has 128 rows" in md
    assert "| absolute+input | up to 128 | 128: 3.1 | table has 128 rows |" in md  # the 1x point is kept
    assert "| Devlin et al. (2018) | input | input | 85.8 / 85.9 |" in md  # labelled paper reference
    assert "Incomplete runs" in md and "rel/failed" in md

    for tex in ("report.tex", "table2.tex"):
        text = (out / tex).read_text()
        assert text.count("{") == text.count("}"), tex
        tabulars = _latex_tabulars(text)
        assert tabulars, tex
        for spec, body in tabulars:
            assert body.count(r"\toprule") == body.count(r"\midrule") == body.count(r"\bottomrule") == 1
            rows = [r for r in body.split("\\\\") if r.strip() and not r.strip().startswith(r"\bottomrule")]
            for row in rows:
                cells = re.sub(r"\\(toprule|midrule)", "", row)
                assert len(re.findall(r"(?<!\\)&", cells)) + 1 == len(spec), (tex, row)
            assert not re.search(r"(?<!\\)_", body), "unescaped underscore"
        assert "\\begin{table}" in text

    html = (out / "report.html").read_text()
    assert len(rep.plots) >= 3
    assert html.count('<img src="data:image/png;base64,') == len(rep.plots)
    assert "posenc-table2" in html and "posenc-comparison" in html and "NOT the DIET paper" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "external asset"


def test_parse_formats_errors():
    assert parse_formats("md, tex,md") == ["markdown", "latex"]
    with pytest.raises(KeyError, match="Did you mean 'html'"):
        parse_formats("htlm")


def _cli(argv):
    from posenc.commands import report

    parser = argparse.ArgumentParser(prog="posenc")
    report.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_end_to_end(report_runs, tmp_path, capsys):
    out = tmp_path / "rep"
    assert _cli(["report", str(report_runs), "--out", str(out), "--baseline", "diet_rel", "--formats", "md,csv"]) == 0
    printed = capsys.readouterr().out
    assert "baseline diet_rel+diet" in printed and "1 incomplete" in printed
    assert (out / "report.md").is_file() and (out / "results.csv").is_file() and not (out / "report.html").exists()
    cmp = pd.read_csv(out / "comparison.csv")
    assert set(cmp["baseline"]) == {"diet_rel+diet"} and "diet_rel+diet" not in set(cmp["encoding"])
    assert (out / "plots" / "task_bars.png").read_bytes()[:4] == b"\x89PNG"

    assert _cli(["report", str(report_runs), "--out", str(out), "--baseline", "absolut+inpt"]) == 2
    assert "Did you mean" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _cli(["report", str(empty), "--out", str(out)]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_majority_class_baseline_is_reported_and_every_seed_must_beat_it(tmp_path):
    for seed, v in ((1, 0.70), (2, 0.74)):
        write_run(tmp_path, f"s{seed}", "absolute+input", "sst2", seed, 1e-4, v, majority_baseline={"accuracy": 0.509},
                  baseline_name="majority class")
    for seed, v in ((1, 0.49), (2, 0.80)):
        write_run(tmp_path, f"d{seed}", "diet_rel+diet", "sst2", seed, 1e-4, v, majority_baseline={"accuracy": 0.509},
                  baseline_name="majority class")
    table = aggregate.aggregate_finetune(load_runs([tmp_path]).runs).set_index("encoding")
    assert table.loc["absolute+input", "majority"] == pytest.approx(0.509)
    assert bool(table.loc["absolute+input", "beats_majority"]) is True
    assert bool(table.loc["diet_rel+diet", "beats_majority"]) is False  # the median beats it, seed 1 does not
    export(build_report([tmp_path], tmp_path / "out", make_plots=False), tmp_path / "out", ["markdown"])
    md = (tmp_path / "out" / "report.md").read_text()
    # the baseline is named as the task kind names it (results.json `baseline_name`), in the table and the flag
    assert "50.9 majority class (all seeds beat it)" in md and "50.9 majority class (NOT beaten by every seed)" in md
    assert "sst2 (diet_rel+diet: 64.5 vs majority class 50.9, 1 of 2 seeds)" in md


def test_bleu_and_chrf_print_two_decimals_everywhere_and_other_metrics_keep_their_rule():
    """MT papers print BLEU/chrF with two decimals; the summary uses the same rule as the Table 4
    section (19.80, not 19.8; 0.91, not 0.9126). Metrics in [−1, 1] stay ×100 with one decimal."""
    from posenc.report.display import fixed_decimals, num

    assert [num(v, fixed=fixed_decimals("bleu")) for v in (19.8, 0.91264, 2.2303)] == ["19.80", "0.91", "2.23"]
    assert num(55.123, fixed=fixed_decimals("chrf")) == "55.12"
    assert fixed_decimals("loss") is None and num(6.2194) == "6.219"
    assert num(0.8512, percent=True, fixed=fixed_decimals("accuracy")) == "85.1"

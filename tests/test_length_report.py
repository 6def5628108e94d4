"""The report's length section: accuracy by length and randomized vs plain, computed by hand from
results.json files as length runs write them (docs/length.md)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from posenc.report import build_report, export

PLAIN = {"name": "rotary", "base": 10000.0}
RANDOM = {**PLAIN, "randomize": {"max_position": 512, "eval": "sampled", "eval_seed": 0}}
# accuracy at lengths 4 (= N), 8, 16 per seed
SCORES = {"rotary+none": (PLAIN, {1: (1.0, 0.6, 0.5), 2: (1.0, 0.8, 0.4)}),
          "rotary(randomize=512)+none": (RANDOM, {1: (0.9, 0.9, 0.7), 2: (1.0, 0.7, 0.8)})}


def _write(root: Path) -> None:
    for enc, (position, seeds) in SCORES.items():
        for seed, (a4, a8, a16) in seeds.items():
            metrics = {"accuracy": a4, "accuracy@4": a4, "accuracy@8": a8, "accuracy@16": a16,
                       "accuracy@longer": (a8 + a16) / 2, "train_max_length": 4, "eval_examples": 12}
            res = {"schema": 1, "status": "complete", "kind": "finetune", "run_name": f"{enc}-{seed}",
                   "position": position, "segment": {"name": "none"}, "encoding": enc, "task": "even_pairs",
                   "task_kind": "length", "seed": seed, "learning_rate": 1e-3, "main_metric": "accuracy",
                   "greater_is_better": True, "metrics": ["accuracy"], "best": {"step": 10, "metrics": metrics},
                   "final": {"step": 10, "metrics": metrics},
                   "majority_baseline": {"accuracy": 0.5, "accuracy@4": 0.5, "accuracy@8": 0.5, "accuracy@16": 0.5},
                   "num_parameters": 10, "tokens_per_s": 1.0, "step_time_s": 0.1, "train_time_s": 1.0,
                   "world_size": 1, "model_dir": "best"}
            d = root / f"{enc}-{seed}"
            d.mkdir(parents=True)
            (d / "results.json").write_text(json.dumps(res))


def test_length_section_tables_and_figure(tmp_path):
    _write(tmp_path / "runs")
    out = tmp_path / "report"
    rep = build_report([tmp_path / "runs"], out_dir=out, baseline="rotary+none")
    export(rep, out, ["markdown", "csv", "html"])
    rows = pd.read_csv(out / "length_accuracy.csv")
    assert len(rows) == 12 and set(rows["length"]) == {4, 8, 16}
    vs = pd.read_csv(out / "length_randomized_vs_plain.csv").iloc[0]
    # beyond N, per seed: plain (0.55, 0.60), randomized (0.80, 0.75) → means 0.575 and 0.775
    assert vs["plain_mean"] == pytest.approx(0.575) and vs["randomized_mean"] == pytest.approx(0.775)
    assert vs["difference"] == pytest.approx(0.2) and vs["seeds_randomized_higher"] == 2
    md = (out / "report.md").read_text()
    assert "| rotary+none | even_pairs | 2 | 100.0 ± 0.0 | 70.0 ± 14.1 | 45.0 ± 7.1 | 57.5 ± 3.5 |" in md
    assert "| rotary | even_pairs | 57.5 ± 3.5 | 77.5 ± 3.5 | +20.0 | 2/2 |" in md
    assert (out / "plots" / "length_accuracy.png").is_file() and "Accuracy against input length" in (out / "report.html").read_text()
    heads = rep.parts["length"].headlines.set_index("encoding")
    assert heads.loc["rotary+none", "median"] == pytest.approx(0.575) and heads.loc["rotary+none", "metric"] == "accuracy@longer"

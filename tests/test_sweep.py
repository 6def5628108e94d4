"""Sweeps: plan expansion with stable names, validation errors, and an interrupted sweep that
finishes on re-run without redoing finished runs; the probe; SLURM submission through submitit."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posenc.sweep import expand, load_sweep, run_sweep
from posenc.training.yaml_errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

MICRO = """\
kind: sweep
name: micro
output_dir: {out}
pretrain: {repo}/configs/pretrain/quickstart.yaml
finetune: {repo}/configs/finetune/quickstart.yaml
pretrain_overrides: [train.max_steps=6, train.eval_every=3, train.batch_size=8, mlm.seq_len=32,
  model.max_position_embeddings=32, model.hidden_size=32, model.intermediate_size=64, tokenizer.vocab_size=400,
  corpus.max_lines=400, tokenizer.max_lines=400]
finetune_overrides: [data.max_train_examples=48, data.max_eval_examples=48, train.batch_size=16, train.max_length=32]
encodings:
  - {{position: absolute, segment: none, finetune_segment: input}}
  - {{position: diet_rel, segment: none, finetune_segment: diet}}
tasks: [rte]
seeds: [1, 2]
learning_rates: [1e-4]
probe: {{multiples: [1, 2], max_blocks: 2}}
report: {{formats: [md, csv, html]}}
"""


def write_micro(tmp_path: Path) -> Path:
    f = tmp_path / "sweep.yaml"
    f.write_text(MICRO.format(out=tmp_path / "runs", repo=REPO))
    return f


def test_plan_has_stable_names_and_order(tmp_path):
    plan = expand(load_sweep(write_micro(tmp_path)))
    names = [r.name for r in plan.runs]
    assert names == [
        "pretrain/absolute+none",
        "finetune/absolute+input/rte/lr0.0001-seed1",
        "finetune/absolute+input/rte/lr0.0001-seed2",
        "pretrain/diet_rel+none",
        "finetune/diet_rel+diet/rte/lr0.0001-seed1",
        "finetune/diet_rel+diet/rte/lr0.0001-seed2",
    ]
    assert names == [r.name for r in expand(load_sweep(write_micro(tmp_path))).runs]  # stable
    ft = plan.finetune_runs[2]
    assert ft.config.model.from_ == str(tmp_path / "runs" / "pretrain" / "diet_rel+none")
    assert ft.config.model.segment == "diet" and ft.config.seed == 1 and ft.config.train.lr == 1e-4
    assert "6 to run" in plan.describe()


def test_task_overrides_apply_to_that_task_only(tmp_path):
    f = write_micro(tmp_path)
    f.write_text(f.read_text().replace("tasks: [rte]", "tasks: [rte, sst2]\ntask_overrides: {sst2: [train.num_epochs=5]}"))
    plan = expand(load_sweep(f))
    epochs = {r.config.task: r.config.train.num_epochs for r in plan.finetune_runs}
    assert epochs == {"rte": 2, "sst2": 5}
    f.write_text(f.read_text().replace("{sst2: [", "{cola: ["))
    with pytest.raises(ConfigError, match="'cola' is not one of the sweep's tasks"):
        load_sweep(f)


def test_an_empty_output_dir_is_refused(tmp_path):
    f = write_micro(tmp_path)
    with pytest.raises(ConfigError, match="output_dir: is empty: name a directory"):
        load_sweep(f, ["output_dir="])


def test_sweep_file_errors_name_file_line_and_close_match(tmp_path):
    f = write_micro(tmp_path)
    text = f.read_text().replace("seeds: [1, 2]", "seedz: [1, 2]").replace("position: diet_rel", "position: diet_rell")
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_sweep(f)
    msg = str(e.value)
    assert f"{f}:14: seedz: unknown key 'seedz'. Did you mean 'seeds'?" in msg
    assert "unknown position encoding 'diet_rell'. Did you mean 'diet_rel'" in msg


def test_report_bench_is_checked_when_the_sweep_loads(tmp_path):
    f = write_micro(tmp_path)
    text = f.read_text()
    f.write_text(text.replace("report: {formats: [md, csv, html]}", "report: {formats: [md], bench: bench/bench.csv}"))
    with pytest.raises(ConfigError) as e:  # before any run, not at the report after hours of training
        load_sweep(f)
    assert f"{f}:17: report.bench: file not found: {tmp_path / 'bench' / 'bench.csv'}" in str(e.value)
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "bench.csv").write_text("model,median_ms\nabsolute,1.0\n")
    with pytest.raises(ConfigError, match=r"report.bench: .*bench.csv: not a `posenc bench` CSV \(missing columns mode, "):
        load_sweep(f)
    bench = (REPO / "docs" / "bench" / "small-cpu.csv").read_text()
    (tmp_path / "bench" / "bench.csv").write_text(bench)
    sweep = load_sweep(f)  # relative to the sweep file, like its other paths
    assert sweep.report.bench == str(tmp_path / "bench" / "bench.csv")


def test_quickstart_sweep_file_is_valid():
    plan = expand(load_sweep(REPO / "configs" / "quickstart.yaml"))
    assert len(plan.pretrain_runs) == 4 and len(plan.finetune_runs) == 24
    assert {r.encoding for r in plan.pretrain_runs} >= {"absolute+none", "t5+none", "diet_rel+none"}


def _cli(*args, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-m", "posenc", *args], env=env, cwd=kw.get("cwd"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path):
    f = write_micro(tmp_path)
    runs = tmp_path / "runs"
    first_done = runs / "finetune" / "absolute+input" / "rte" / "lr0.0001-seed1" / "results.json"
    proc = _cli("sweep", str(f))
    deadline = time.time() + 240
    while not first_done.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert first_done.exists(), proc.communicate()[0][-3000:] if proc.poll() is not None else "timed out"
    proc.send_signal(signal.SIGKILL)  # killed mid-sweep, like a pre-empted job
    proc.wait()
    pre_results = runs / "pretrain" / "absolute+none" / "results.json"
    stamps = {p: p.stat().st_mtime_ns for p in (pre_results, first_done)}
    plan = expand(load_sweep(f))
    states = {r.name: r.state() for r in plan.runs}
    assert states["pretrain/absolute+none"] == "done" and states["pretrain/diet_rel+none"] != "done"

    out = _cli("sweep", str(f)).communicate()[0]
    assert all(r.state() == "done" for r in plan.runs), out[-3000:]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # finished runs were not redone
    summary = [line for line in out.splitlines() if line.startswith("sweep micro:")][-1]
    assert "already done" in summary and " 0 failed" in summary
    assert int(summary.split(" already done")[0].split(", ")[-1]) >= 2  # the pre-training and its first fine-tune

    # every comparand got the sweep's one tokenizer (trained once)
    shared = (runs / "tokenizer" / "tokenizer.json").read_text()
    for enc in ("absolute+none", "diet_rel+none"):
        assert (runs / "pretrain" / enc / "best" / "tokenizer.json").read_text() == shared

    # a third run does nothing but rebuild the report, its costs now from the `report.bench:` CSV
    bench = REPO / "docs" / "bench" / "small-cpu.csv"
    f.write_text(f.read_text().replace("report: {formats: [md, csv, html]}",
                                       f"report: {{formats: [md, csv, html], bench: {bench}}}"))
    out = _cli("sweep", str(f)).communicate()[0]
    assert "0 ran, 0 resumed, 6 already done, 0 failed" in out
    report = runs / "report"
    assert (report / "report.html").exists() and (report / "report.md").exists()
    md = (report / "report.md").read_text()
    assert "absolute+input" in md and "diet_rel+diet" in md
    assert f"Step times from the `posenc bench` CSV {bench}" in md
    costs = (report / "bench_costs.csv").read_text()
    assert "diet_rel" in costs and "absolute" in costs  # both encodings matched to bench models

    # the length probe ran after each pre-training: absolute cannot go past its 32-row table
    absolute = json.loads((runs / "pretrain" / "absolute+none" / "probe.json").read_text())
    assert absolute["supported"] is False and "table of 32 positions" in absolute["reason"]
    assert absolute["lengths"] == [32] and absolute["unsupported_lengths"] == [64]  # 1x is still measured
    rel = json.loads((runs / "pretrain" / "diet_rel+none" / "probe.json").read_text())
    assert rel["supported"] is True and rel["lengths"] == [32, 64] and all(v > 0 for v in rel["mlm_loss"])

    # SLURM through submitit: nothing left to run, so only the report job is submitted (debug cluster
    # runs jobs in this process; on a cluster the same code submits sbatch jobs)
    pytest.importorskip("submitit")
    from posenc.sweep.slurm import submit_sweep

    jobs = submit_sweep(expand(load_sweep(f)), cluster="debug")
    assert len(jobs) == 1 and jobs[0].result().endswith("report")


def test_accelerate_launcher_runs_each_run_through_accelerate_launch(tmp_path):
    f = tmp_path / "acc.yaml"
    f.write_text(MICRO.format(out=tmp_path / "runs", repo=REPO)
                 .replace("  - {position: diet_rel, segment: none, finetune_segment: diet}\n", "")
                 .replace("tasks: [rte]", "tasks: []")
                 + 'launcher: {kind: accelerate, accelerate_args: [--cpu, --num_processes, "1", '
                   '--mixed_precision, "no", --dynamo_backend, "no"]}\n')
    out = _cli("sweep", str(f)).communicate()[0]
    assert "1 ran, 0 resumed, 0 already done, 0 failed" in out, out[-3000:]
    meta = json.loads((tmp_path / "runs" / "pretrain" / "absolute+none" / "meta.json").read_text())
    assert meta["world_size"] == 1
    assert (tmp_path / "runs" / ".plan" / "pretrain__absolute+none.yaml").exists()  # the config the launcher ran


def test_entries_sharing_a_pretraining_plan_it_once():
    # the paper's sweep fine-tunes DIET-REL with two segment encodings from one pre-training
    plan = expand(load_sweep(REPO / "configs" / "glue" / "paper.yaml"))
    names = [r.name for r in plan.runs]
    assert len(names) == len(set(names))
    assert [r.name for r in plan.pretrain_runs].count("pretrain/diet_rel+none") == 1
    assert {r.encoding for r in plan.finetune_runs if r.depends_on == "pretrain/diet_rel+none"} == {
        "diet_rel+input", "diet_rel+diet"}


def test_a_shared_tokenizer_trained_with_other_settings_is_not_reused(tmp_path):
    from posenc.sweep.execute import ensure_shared_tokenizer
    from posenc.sweep.plan import TOKENIZER_RECIPE

    f = write_micro(tmp_path)
    plan = expand(load_sweep(f))
    ensure_shared_tokenizer(plan)          # trains OUTPUT_DIR/tokenizer (400 tokens) and records how
    recipe = json.loads((plan.shared_tokenizer / TOKENIZER_RECIPE).read_text())
    assert recipe["tokenizer"]["vocab_size"] == 400
    f.write_text(f.read_text().replace("tokenizer.vocab_size=400", "tokenizer.vocab_size=500"))
    with pytest.raises(ConfigError, match=r"output_dir: .*tokenizer was trained with other settings "
                                          r"\(tokenizer.vocab_size: 400 → 500\)"):
        expand(load_sweep(f))


def test_an_entry_pretrains_with_its_own_overrides(tmp_path):
    f = write_micro(tmp_path)
    f.write_text(f.read_text().replace(
        "{position: diet_rel, segment: none, finetune_segment: diet}",
        "{position: diet_rel, segment: none, finetune_segment: diet, pretrain_overrides: [train.encoding_lr_scale=30]}"))
    plan = expand(load_sweep(f))
    scales = {r.encoding: r.config.train.encoding_lr_scale for r in plan.pretrain_runs}
    assert scales == {"absolute+none": 1.0, "diet_rel+none": 30.0}
    steps = {r.config.train.max_steps for r in plan.pretrain_runs}
    assert steps == {6}  # the sweep's own overrides still apply
    assert {str(r.config.tokenizer.load) for r in plan.pretrain_runs} == {str(tmp_path / "runs" / "tokenizer")}

    # two entries sharing a pre-training must agree on it; the shared tokenizer cannot change
    text = f.read_text().replace("tasks: [rte]", "  - {position: diet_rel, segment: none, finetune_segment: input}\ntasks: [rte]")
    f.write_text(text)
    with pytest.raises(ConfigError, match=r"encodings.2: pre-trains diet_rel\+none like encodings.1 but with other pretrain_overrides"):
        expand(load_sweep(f))
    f.write_text(text.replace("pretrain_overrides: [train.encoding_lr_scale=30]", "pretrain_overrides: [tokenizer.vocab_size=50]"))
    with pytest.raises(ConfigError, match="every entry shares the sweep's tokenizer"):
        load_sweep(f)

"""`posenc sweep --jobs N` (launcher.jobs): runs at once in worker processes give the results of the
in-process sweep, a failed pre-training skips only its own fine-tunes, and Ctrl-C stops every run
resumably."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from posenc.sweep import expand, load_sweep

from test_sweep import _cli, write_micro


def test_runs_at_once_give_the_results_of_runs_one_by_one(tmp_path):
    """`--jobs 2`: each run in its own one-thread process, fine-tunes after their pre-training and
    probe; the same results as the in-process sweep, a log per run, and a failed pre-training
    skips only its own fine-tunes."""
    f = write_micro(tmp_path)
    one = tmp_path / "one"
    proc = _cli("sweep", str(f), f"output_dir={one}", "seeds=[1]")
    out = proc.communicate()[0]
    assert proc.returncode == 0, out[-3000:]
    two = tmp_path / "two"
    # the same vocabulary (WordPiece training breaks count ties in hash order, so two trainings of
    # the sweep's tokenizer may differ): a sweep reuses the tokenizer it finds in its output_dir
    shutil.copytree(one / "tokenizer", two / "tokenizer")
    proc = _cli("sweep", str(f), f"output_dir={two}", "seeds=[1]", "--jobs", "2")
    out = proc.communicate()[0]
    assert proc.returncode == 0, out[-3000:]
    assert "(2 at once)" in out and "4 ran, 0 resumed, 0 already done, 0 failed" in out
    plan = expand(load_sweep(f, [f"output_dir={two}", "seeds=[1]"]))
    for run in plan.runs:
        log = (two / "logs" / (run.name.replace("/", "__") + ".log")).read_text()
        assert f"posenc {run.kind} " in log and f"done: {run.kind}" in log
        a = json.loads((one / run.name / "results.json").read_text())
        b = json.loads((two / run.name / "results.json").read_text())
        metric = a["main_metric"]
        tolerance = 1e-3 if run.kind == "pretrain" else 1 / 48 + 1e-9  # thread counts differ; 48 eval examples
        assert b["best"]["metrics"][metric] == pytest.approx(a["best"]["metrics"][metric], abs=tolerance)
        if run.kind == "pretrain":
            probe_a = json.loads((one / run.name / "probe.json").read_text())
            probe_b = json.loads((two / run.name / "probe.json").read_text())
            assert probe_b["lengths"] == probe_a["lengths"]
            assert probe_b["mlm_loss"] == pytest.approx(probe_a["mlm_loss"], abs=1e-3)
    assert (two / "report" / "report.html").exists()

    # a pre-training that fails (its only checkpoint is damaged): its fine-tunes are not started,
    # the other encoding's all finish, and the failure quotes the run's log
    three = tmp_path / "three"
    damaged = three / "pretrain" / "diet_rel+none" / "checkpoints" / "step_0000003"
    damaged.mkdir(parents=True)
    (damaged / "model.safetensors").write_bytes(b"not a safetensors file")
    proc = _cli("sweep", str(f), f"output_dir={three}", "seeds=[1]", "--jobs", "2")
    out = proc.communicate()[0]
    assert proc.returncode == 1, out[-3000:]
    assert "2 ran, 0 resumed, 0 already done, 2 failed" in out, out[-3000:]
    assert "FAILED finetune/diet_rel+diet/rte/lr0.0001-seed1: its pre-training pretrain/diet_rel+none failed" in out
    assert f"{three / 'logs' / 'pretrain__diet_rel+none.log'}, ends with:" in out


def test_ctrl_c_stops_runs_at_once_and_a_rerun_resumes_them(tmp_path):
    f = write_micro(tmp_path)
    runs = tmp_path / "runs"
    long = ["seeds=[1]", "--jobs", "2", "pretrain_overrides=[train.max_steps=20000,train.eval_every=50,train.batch_size=8,"
            "mlm.seq_len=32,model.max_position_embeddings=32,model.hidden_size=32,model.intermediate_size=64,"
            "tokenizer.vocab_size=400,corpus.max_lines=400,tokenizer.max_lines=400]"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "posenc", "sweep", str(f), *long], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # xdist ignores SIGINT
    plan = expand(load_sweep(f, long[:1]))
    deadline = time.time() + 180  # until both pre-trainings have a complete checkpoint to resume from
    while not all(r.state() == "partial" for r in plan.pretrain_runs) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: every process of the group
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, out[-3000:]
    assert "sweep interrupted; re-run the same command to resume" in out
    for e in ("absolute+none", "diet_rel+none"):
        assert "interrupted at step" in (runs / "logs" / f"pretrain__{e}.log").read_text()
    assert [r.state() for r in plan.pretrain_runs] == ["partial", "partial"]

    # the same command, now asking for fewer steps, resumes both pre-trainings and runs the rest
    from posenc.training.rundir import checkpoint_step, latest_checkpoint

    steps = max(checkpoint_step(latest_checkpoint(r.run_dir)) for r in plan.pretrain_runs) + 20
    again = [long[0], *long[1:3], long[3].replace("max_steps=20000", f"max_steps={steps}")]
    done = subprocess.run([sys.executable, "-m", "posenc", "sweep", str(f), *again], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 ran, 2 resumed, 0 already done, 0 failed" in done.stdout

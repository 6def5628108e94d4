"""A run SIGKILLed mid-way and resumed ends with the same metrics as an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import pytest

from _training_helpers import ENV, REPO, TINY_PRETRAIN, metrics_rows, results, tiny_pretrain_overrides


def _cmd(tmp, name, extra=()):
    over = tiny_pretrain_overrides(tmp, 120, name=name, train__eval_every=40, train__save_every=10,
                                   train__log_every=10, model__hidden_dropout_prob=0.1,  # RNG state must resume too
                                   tokenizer__train="null", tokenizer__load=str(tmp / "tok"))
    return [sys.executable, "-m", "posenc", "pretrain", str(TINY_PRETRAIN), *over, *extra]


@pytest.fixture(scope="module")
def shared_tokenizer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    subprocess.run([sys.executable, "-m", "posenc", "tokenizer", str(tmp / "tok"), "posenc:corpus/inaugural.txt.gz",
                    "--vocab-size", "2000"], check=True, env=ENV, cwd=REPO, capture_output=True)
    return tmp


def test_sigkill_then_resume_matches_uninterrupted(shared_tokenizer):
    tmp = shared_tokenizer
    run_dir = tmp / "killed"
    proc = subprocess.Popen(_cmd(tmp, "killed"), env=ENV, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            ckpts = sorted((run_dir / "checkpoints").glob("step_*")) if (run_dir / "checkpoints").exists() else []
            if ckpts and int(ckpts[-1].name.split("_")[1]) >= 40:
                break
            assert proc.poll() is None, "the run ended before it could be killed; make it longer"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "results.json").exists()

    # the killed dir refuses a plain restart, then resumes
    again = subprocess.run(_cmd(tmp, "killed"), env=ENV, cwd=REPO, capture_output=True, text=True)
    assert again.returncode != 0 and "--resume" in again.stderr
    resumed = subprocess.run(_cmd(tmp, "killed", ["--resume"]), env=ENV, cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stdout

    full = subprocess.run(_cmd(tmp, "full"), env=ENV, cwd=REPO, capture_output=True, text=True)
    assert full.returncode == 0, full.stderr[-2000:]
    a, b = results(run_dir), results(tmp / "full")
    assert a["final"] == b["final"] and a["best"] == b["best"]          # bit-identical on CPU
    assert a["tokens_seen"] == b["tokens_seen"]
    # metrics.jsonl reads as one uninterrupted run: one row per logged step, same losses
    strip = lambda rows: [(r["step"], r.get("loss"), str(r.get("eval"))) for r in rows]  # noqa: E731
    assert strip(metrics_rows(run_dir)) == strip(metrics_rows(tmp / "full"))


def test_resume_rules_for_config_keys():
    """Only keys that change cadence, locations or length may differ on --resume; a key that an
    older posenc did not record is unchanged while it holds its default."""
    from posenc.training import config_to_dict, load_config
    from posenc.training.resume import ResumeConfigError, check_resume

    old = config_to_dict(load_config(TINY_PRETRAIN))
    same = check_resume(old, config_to_dict(load_config(TINY_PRETRAIN, ["train.eval_every=7", "train.max_steps=900"])),
                        step=200, run_dir="R")
    assert same == {"train.eval_every": (100, 7), "train.max_steps": (300, 900)}
    for bad, key in (("train.lr=1e-3", "train.lr"), ("seed=2", "seed"), ("train.batch_size=64", "train.batch_size"),
                     ("model.position=t5", "model.position"), ("tokenizer.vocab_size=100", "tokenizer.vocab_size"),
                     ("mlm.probability=0.2", "mlm.probability")):
        with pytest.raises(ResumeConfigError, match=rf"{key}: .* in the run, .* now"):
            check_resume(old, config_to_dict(load_config(TINY_PRETRAIN, [bad])), step=200, run_dir="R")
    with pytest.raises(ResumeConfigError, match="already at step 200"):
        check_resume(old, config_to_dict(load_config(TINY_PRETRAIN, ["train.max_steps=150"])), step=200, run_dir="R")
    older = {k: v for k, v in old.items() if k != "description"}
    defaults = config_to_dict(type(load_config(TINY_PRETRAIN))(kind="pretrain"))
    assert check_resume(older, old, step=200, run_dir="R", defaults=defaults) == {}

"""Every bad input and fault a user can hit, driven through the ``posenc`` command line: one case
each, asserting the exit code, the key phrase of the one-line message, and that no traceback is
printed. Most cases fail in validation (fast); the few that need a real run share one tiny
pre-training that is interrupted with Ctrl-C (SIGINT), and copy its run directory.

Exit codes: 2 = the config (or a resume's config) cannot run, 1 = the run failed, 130 = Ctrl-C.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posenc.cli import main
from _training_helpers import ENV, REPO, TINY_PRETRAIN, metrics_rows, one_thread

_threads = pytest.fixture(autouse=True, scope="module")(one_thread)
SST2 = REPO / "configs" / "finetune" / "sst2.yaml"

# a tiny, fast pre-training: width 32, 32-token blocks (absolute table of 32), 2,000 lines of text
SMALL = ["model.hidden_size=32", "model.intermediate_size=64", "model.max_position_embeddings=32", "mlm.seq_len=32",
         "corpus.files=[posenc:corpus/inaugural.txt.gz]", "corpus.max_lines=2000", "train.batch_size=8", "train.eval_every=4", "train.save_every=4",
         "train.keep_checkpoints=2", "train.log_every=4"]


def cli(capsys, *argv) -> tuple[int, str]:
    """Run ``posenc ARGV`` in this process; returns (exit code, stdout + stderr) and checks that
    nothing escaped as an exception or printed a traceback."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse errors
        code = e.code
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, text[-3000:]
    return code, text


def run_subprocess(args, env=None, timeout=120) -> subprocess.CompletedProcess:
    p = subprocess.run(args, env={**ENV, **(env or {})}, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stdout + p.stderr, (p.stdout + p.stderr)[-3000:]
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A shared tokenizer and the overrides of the tiny run every stateful case starts from."""
    tmp = tmp_path_factory.mktemp("bad_inputs")
    assert main(["tokenizer", str(tmp / "tok"), "posenc:corpus/inaugural.txt.gz", "--vocab-size", "400",
                 "--max-lines", "2000"]) == 0
    over = SMALL + ["tokenizer.train=null", f"tokenizer.load={tmp / 'tok'}", f"output_dir={tmp}",
                    f"corpus.cache_dir={tmp / 'cache'}"]
    return tmp, over


@pytest.fixture(scope="module")
def interrupted(base):
    """A pre-training stopped by Ctrl-C after two checkpoints: (run dir, the process's result)."""
    tmp, over = base
    run_dir = tmp / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "posenc", "pretrain", str(TINY_PRETRAIN), *over,
                             "name=interrupted", "train.max_steps=100000"],
                            env=ENV, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # Ctrl-C as in a terminal: test runners (pytest-xdist workers) ignore SIGINT, and a
                            # child would inherit that and never see the interrupt
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if len(list((run_dir / "checkpoints").glob("step_*"))) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return run_dir, proc.returncode, out + err


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def resume_args(base, run_dir, *extra):
    _, over = base
    return ["pretrain", TINY_PRETRAIN, *over, "name=interrupted", "train.max_steps=100000", "--run-dir", run_dir,
            "--resume", *extra]


# ------------------------------------------------------------------ the config file itself
def test_directory_given_as_config(capsys):
    code, text = cli(capsys, "pretrain", REPO / "configs")
    assert code == 2 and "is a directory, not a config file; pass a YAML file, e.g. " in text and "configs/finetune/" in text


def test_misspelt_config_path(capsys):
    code, text = cli(capsys, "pretrain", REPO / "configs/pretrain/tiy.yaml")
    assert code == 2 and "no such config file" in text and "Did you mean 'tiny.yaml'" in text


def test_override_after_a_flag_is_read(capsys, tmp_path):
    # used to be "unrecognized arguments"; now the override is applied (and its typo reported)
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, "--overwrite", "model.position=t5x", f"output_dir={tmp_path}")
    assert code == 2 and "model.position" in text and "Did you mean 't5'" in text


def test_unknown_flag_is_still_refused(capsys):
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, "--bogus")
    assert code == 2 and "posenc pretrain: error: unrecognized arguments: --bogus" in text


# ------------------------------------------------------------------ validated before anything is written
def test_unknown_encoding_writes_nothing(capsys, tmp_path):
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, "model.position=diet_absx", f"output_dir={tmp_path}")
    assert code == 2 and "Did you mean 'diet_abs'" in text
    assert list(tmp_path.iterdir()) == []          # no run dir, no tokenizer trained into it


def test_seq_len_beyond_the_position_table(capsys, tmp_path):
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, "mlm.seq_len=256", f"output_dir={tmp_path}")
    assert code == 2 and "mlm.seq_len: 256 tokens exceed the 'absolute' encoding, which holds 128 positions" in text
    assert list(tmp_path.iterdir()) == []


def test_validate_reports_a_length_beyond_the_table(capsys, tmp_path):
    cfg = tmp_path / "long.yaml"
    cfg.write_text(TINY_PRETRAIN.read_text().replace("seq_len: 128", "seq_len: 512"))
    code, text = cli(capsys, "validate", cfg)
    assert code == 1 and f"{cfg}:" in text and "512 tokens exceed the 'absolute' encoding" in text


def test_max_length_zero_is_refused(capsys, tmp_path):
    code, text = cli(capsys, "finetune", SST2, "train.max_length=0", f"output_dir={tmp_path}")
    assert code == 2 and "train.max_length: must be ≥ 8 tokens, got 0" in text


def test_missing_local_tokenizer_path(capsys, tmp_path):
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, "tokenizer.train=null", f"tokenizer.load={tmp_path}/no/tok",
                     f"output_dir={tmp_path}")
    assert code == 2 and f"tokenizer.load: {tmp_path}/no/tok: no such directory" in text
    assert "huggingface.co" not in text


def test_read_only_output_directory(capsys, tmp_path):
    if os.geteuid() == 0:  # root writes through chmod; sysfs refuses even root (EPERM)
        target = Path("/sys/posenc-read-only-test")
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o555)
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, f"output_dir={target}", *SMALL)
    assert code == 1 and f"cannot write the run directory {target}/tiny-absolute" in text
    assert "choose a writable output_dir" in text


def test_finetune_max_length_beyond_the_pretrained_table(capsys, interrupted, tmp_path):
    run_dir, _, _ = interrupted
    code, text = cli(capsys, "finetune", SST2, f"model.from={run_dir}", "train.max_length=64", f"output_dir={tmp_path}")
    assert code == 2 and "64 tokens exceed the 'absolute' encoding, which holds 32 positions" in text
    assert "checkpoint in" in text and list(tmp_path.iterdir()) == []


def test_truncated_model_weights_in_model_from(capsys, interrupted, tmp_path):
    run_dir, _, _ = interrupted
    model = shutil.copytree(run_dir / "best", tmp_path / "model")
    weights = model / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    code, text = cli(capsys, "finetune", SST2, f"model.from={model}", "train.max_length=32", f"output_dir={tmp_path}")
    assert code == 2 and f"{weights} is damaged" in text


def test_empty_data_file(capsys, tmp_path):
    data = tmp_path / "glue" / "RTE"
    data.mkdir(parents=True)
    (data / "train.tsv").write_bytes(b"")
    shutil.copy(REPO / "posenc/resources/glue/RTE/dev.tsv", data / "dev.tsv")
    code, text = cli(capsys, "finetune", SST2, "task=rte", "data.source=local", f"data.dir={tmp_path / 'glue'}",
                     "model.from=null", "model.preset=tiny", "tokenizer.train=wordpiece", f"output_dir={tmp_path}")
    assert code == 1 and f"{data / 'train.tsv'}: the file is empty" in text


# ------------------------------------------------------------------ sweeps
def _sweep(tmp_path: Path, encodings: str, seeds: str = "[1, 2]") -> Path:
    f = tmp_path / "sweep.yaml"
    f.write_text(f"kind: sweep\nname: dup\noutput_dir: {tmp_path / 'runs'}\npretrain: {TINY_PRETRAIN}\n"
                 f"finetune: {SST2}\nencodings:\n{encodings}tasks: [rte]\nseeds: {seeds}\n")
    return f


TWO_FROM = "  - {position: absolute, segment: input, from: runs/a}\n  - {position: absolute, segment: input, from: runs/b}\n"


@pytest.mark.parametrize("command", [["sweep", "--dry-run"], ["sweep"], ["validate"]], ids=["dry-run", "run", "validate"])
def test_sweep_entries_that_share_run_names(capsys, tmp_path, command):
    f = _sweep(tmp_path, TWO_FROM)
    code, text = cli(capsys, *command, f)
    assert code == (1 if command == ["validate"] else 2)
    assert f"{f}:8: encodings.1: plans the same run names as encodings.0" in text
    assert not (tmp_path / "runs").exists()


def test_sweep_repeated_seed(capsys, tmp_path):
    f = _sweep(tmp_path, "  - {position: absolute, segment: input}\n", seeds="[1, 1]")
    code, text = cli(capsys, "sweep", "--dry-run", f)
    assert code == 2 and "seeds: 1 is listed twice" in text


# ------------------------------------------------------------------ launching
def _set_env(monkeypatch, **env):
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))


def test_world_size_without_a_launcher_fails_fast(capsys, base, monkeypatch):
    # before: Accelerate waited for rank 1 forever (gloo rendezvous, 30 min timeout), printing nothing
    tmp, over = base
    _set_env(monkeypatch, WORLD_SIZE=2, MASTER_ADDR="127.0.0.1", MASTER_PORT=free_port())
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, *over, "name=ws")
    assert code == 1 and "WORLD_SIZE=2 is set but no RANK" in text
    assert "torchrun --nproc_per_node 2" in text and not (tmp / "ws").exists()


def test_rendezvous_that_never_completes_times_out(capsys, base, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("the bounded rendezvous is formed by posenc on CPU only")
    tmp, over = base
    _set_env(monkeypatch, WORLD_SIZE=2, RANK=0, MASTER_ADDR="127.0.0.1", MASTER_PORT=free_port(),
             POSENC_RENDEZVOUS_TIMEOUT=1)
    code, text = cli(capsys, "pretrain", TINY_PRETRAIN, *over, "name=rdzv")
    assert code == 1 and "not all 2 processes of WORLD_SIZE=2 reached" in text and "torchrun --nproc_per_node 2" in text


def test_accelerate_launch_cpu_with_two_processes_warns(base):
    tmp, over = base
    p = run_subprocess([sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
                        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                        "-m", "posenc", "pretrain", TINY_PRETRAIN, *over, "name=acc", "train.max_steps=2"], timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "warning: this is one process. `accelerate launch --cpu --num_processes N` starts a single" in p.stderr
    assert json.loads((tmp / "acc" / "meta.json").read_text())["world_size"] == 1


# ------------------------------------------------------------------ faults during and after a run
def test_ctrl_c_exits_130_with_how_to_continue(interrupted):
    run_dir, code, text = interrupted
    assert code == 130, text[-3000:]
    assert "Traceback" not in text
    ckpt = sorted((run_dir / "checkpoints").glob("step_*"))[-1].name
    assert "posenc pretrain: interrupted at step" in text and f"continue with --resume (from its last checkpoint, {ckpt})" in text
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "interrupted" and not (run_dir / "results.json").exists()


def test_resume_with_another_config_is_refused(capsys, base, interrupted, tmp_path):
    run_dir = copy_run(interrupted[0], tmp_path / "run")
    recorded = (run_dir / "config.yaml").read_text()
    code, text = cli(capsys, *resume_args(base, run_dir, "train.lr=5e-2", "seed=7"))
    assert code == 2 and f"the config differs from the one {run_dir} was trained with" in text
    assert "train.lr: 0.0005 in the run, 0.05 now" in text and "seed: 1 in the run, 7 now" in text
    assert (run_dir / "config.yaml").read_text() == recorded          # nothing recorded as if it had happened


def test_resume_falls_back_from_a_truncated_checkpoint_and_records_safe_changes(capsys, base, interrupted, tmp_path):
    run_dir = copy_run(interrupted[0], tmp_path / "run")
    older, newest = sorted((run_dir / "checkpoints").glob("step_*"))
    weights = newest / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(100)
    stop = int(older.name.split("_")[1]) + 2
    code, text = cli(capsys, *resume_args(base, run_dir), f"train.max_steps={stop}", "train.eval_every=2")
    assert code == 0
    assert f"checkpoint {newest} is damaged ({weights}: " in text and f"resuming from {older.name}" in text
    results = json.loads((run_dir / "results.json").read_text())
    assert results["final"]["step"] == stop
    change = json.loads((run_dir / "meta.json").read_text())["resume_changes"][-1]
    assert change["from_step"] == int(older.name.split("_")[1])         # where it really resumed
    assert change["changes"]["train.max_steps"] == {"run": 100000, "now": stop}
    assert results["resume_changes"][-1]["changes"]["train.eval_every"] == {"run": 4, "now": 2}


def test_resume_when_every_checkpoint_is_damaged(capsys, base, interrupted, tmp_path):
    run_dir = copy_run(interrupted[0], tmp_path / "run")
    for ckpt in (run_dir / "checkpoints").glob("step_*"):
        (ckpt / "model.safetensors").write_bytes(b"\0" * 10)
    code, text = cli(capsys, *resume_args(base, run_dir))
    assert code == 1 and "no checkpoint of" in text and "model.safetensors" in text and "--overwrite" in text


def test_nan_stop_keeps_a_real_best_and_a_rerun_starts_clean(capsys, base, tmp_path):
    """lr 1e4 without clipping: evaluations of the diverging model are far worse than the initial
    one, then the loss becomes NaN before the first checkpoint. best/ must hold the best evaluated
    model (step 0 here); the re-run with a sane lr and another vocabulary must start clean: no
    duplicate metric rows, a tokenizer trained with the new size, not the failed run's."""
    _, over = base
    own_tok = [o for o in over if not o.startswith("tokenizer.")] + ["tokenizer.train=wordpiece",
                                                                        "tokenizer.max_lines=2000"]
    args = ["pretrain", TINY_PRETRAIN, *own_tok, f"output_dir={tmp_path}", "name=nan", "train.max_steps=40",
            "train.eval_every=2", "train.save_every=20", "train.warmup_ratio=0"]
    code, text = cli(capsys, *args, "train.lr=1e4", "train.max_grad_norm=null", "tokenizer.vocab_size=300")
    run_dir = tmp_path / "nan"
    assert code == 1 and "NonFiniteLossError: loss became nan" in text
    assert "start a new run with a lower train.lr" in text and "--overwrite" in text
    evals = [r for r in metrics_rows(run_dir) if "eval" in r]
    assert len(evals) >= 2 and not (run_dir / "checkpoints").exists()
    best = [r for r in evals if r["best"]]
    assert best[-1]["eval"]["loss"] == min(r["eval"]["loss"] for r in evals)   # a real best, not the last eval
    assert (run_dir / "best" / "model.safetensors").exists()

    code, text = cli(capsys, *args, "train.max_steps=4", "tokenizer.vocab_size=500")
    assert code == 0 and "starting clean" in text
    steps = [r["step"] for r in metrics_rows(run_dir) if "eval" in r]
    assert steps == sorted(set(steps)) == [0, 2, 4]
    vocab = json.loads((run_dir / "best" / "tokenizer.json").read_text())["model"]["vocab"]
    assert 300 < len(vocab) <= 500

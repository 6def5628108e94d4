"""2 CPU processes (gloo, data parallel) train the same model as 1 process.

Launch: ``torchrun --nproc_per_node 2 -m posenc ...`` — the engine builds ``Accelerator(cpu=True)``
when there is no GPU, the only combination that gives one 2-rank group on CPU (docs/training.md).

Tolerances: fine-tuning (mean over examples, equal halves per rank) must agree to 1e-4; MLM to
2e-2 in loss, because each rank averages its loss over its *own* masked tokens, so the all-reduced
gradient weights tokens slightly differently from one process averaging over all of them.
"""

import json
import subprocess
import sys

import pytest

from _training_helpers import ENV, REPO, TINY_PRETRAIN, results, tiny_pretrain_overrides

SST2 = REPO / "configs" / "finetune" / "sst2.yaml"


def _launch(nproc: int, args: list[str]) -> subprocess.CompletedProcess:
    if nproc == 1:
        cmd = [sys.executable, "-m", "posenc", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--standalone", "-m", "posenc", *args]
    return subprocess.run(cmd, env=ENV, cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    subprocess.run([sys.executable, "-m", "posenc", "tokenizer", str(tmp / "tok"), "posenc:corpus/inaugural.txt.gz",
                    "--vocab-size", "2000"], check=True, env=ENV, cwd=REPO, capture_output=True)
    return tmp


def test_pretrain_two_processes_matches_one(tmp):
    runs = {}
    for n in (1, 2):
        over = tiny_pretrain_overrides(tmp, 30, name=f"pt{n}", train__eval_every=15, train__per_device_batch_size=8,
                                       tokenizer__train="null", tokenizer__load=str(tmp / "tok"))
        p = _launch(n, ["pretrain", str(TINY_PRETRAIN), *over])
        assert p.returncode == 0, p.stderr[-3000:]
        runs[n] = results(tmp / f"pt{n}")
    one, two = runs[1], runs[2]
    assert json.loads((tmp / "pt2" / "meta.json").read_text())["world_size"] == 2
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert one["gradient_accumulation"] == 2 and two["gradient_accumulation"] == 1   # same global batch 16
    assert two["tokens_seen"] == one["tokens_seen"]
    assert two["final"]["metrics"]["eval_blocks"] == one["final"]["metrics"]["eval_blocks"] == 64
    assert abs(two["initial"]["metrics"]["loss"] - one["initial"]["metrics"]["loss"]) < 1e-5
    assert abs(two["final"]["metrics"]["loss"] - one["final"]["metrics"]["loss"]) < 2e-2


def test_finetune_two_processes_matches_one(tmp):
    runs = {}
    for n in (1, 2):
        over = ["task=rte", "model.from=null", "model.preset=tiny", "model.hidden_size=64",
                "model.num_attention_heads=4", "model.intermediate_size=128", "model.max_position_embeddings=64",
                "model.hidden_dropout_prob=0.0", "model.attention_probs_dropout_prob=0.0",
                "tokenizer.load=" + str(tmp / "tok"), "train.max_length=64", "train.num_epochs=null",
                "train.max_steps=8", "train.eval_every=4", "train.batch_size=16", "train.eval_batch_size=4",
                "data.max_train_examples=256", "data.max_eval_examples=75",   # 75: the last batch needs padding
                f"output_dir={tmp}", f"name=ft{n}"]
        p = _launch(n, ["finetune", str(SST2), *over])
        assert p.returncode == 0, p.stderr[-3000:]
        runs[n] = results(tmp / f"ft{n}")
    one, two = runs[1], runs[2]
    assert two["world_size"] == 2
    assert two["final"]["metrics"]["eval_examples"] == one["final"]["metrics"]["eval_examples"] == 75  # no duplicates
    for k in ("accuracy", "loss"):
        assert abs(two["final"]["metrics"][k] - one["final"]["metrics"][k]) < 1e-4, k

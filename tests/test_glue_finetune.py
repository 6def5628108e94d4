"""Issue "GLUE": `posenc finetune` of a small pre-trained posenc model on real RTE, MRPC, CoLA and
STS-B data (bundled slices) writes results with GLUE's metrics for each task kind."""

import json
import os
import subprocess
import sys

import pytest

from _training_helpers import ENV, REPO, TINY_PRETRAIN, tiny_pretrain_overrides

FINETUNE = REPO / "configs" / "glue" / "finetune.yaml"
EXPECTED = {  # task -> (main metric, metrics results.json must hold)
    "rte": ("accuracy", {"accuracy"}),
    "mrpc": ("combined", {"f1", "accuracy", "combined"}),
    "cola": ("mcc", {"mcc"}),
    "stsb": ("combined", {"pearson", "spearman", "combined"}),
}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("glue")
    cmd = [sys.executable, "-m", "posenc", "pretrain", str(TINY_PRETRAIN),
           *tiny_pretrain_overrides(tmp, 6, train__eval_every=6, name="pt")]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tmp / "pt"


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_posenc_finetune_writes_glue_metrics(pretrained, tmp_path, task):
    cmd = [sys.executable, "-m", "posenc", "finetune", str(FINETUNE), f"task={task}", f"model.from={pretrained}",
           "data.source=bundled", "data.max_train_examples=64", "data.max_eval_examples=64", "train.num_epochs=null",
           "train.max_steps=4", "train.eval_every=2", "train.batch_size=16", "train.max_length=64",
           f"output_dir={tmp_path}", "name=run"]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    main, names = EXPECTED[task]
    assert res["status"] == "complete" and res["task"] == task and res["main_metric"] == main
    assert names <= set(res["best"]["metrics"]), res["best"]["metrics"]
    assert res["best"]["metrics"]["eval_examples"] == 64
    for name in names:
        assert -1.0 <= res["best"]["metrics"][name] <= 1.0
    assert "best" in os.listdir(tmp_path / "run")

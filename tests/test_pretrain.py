"""A tiny pre-train on real English text lowers the held-out MLM loss; the run dir is complete."""

import json
import math

import pytest
from transformers import AutoModelForMaskedLM, AutoTokenizer

from posenc.training import load_config, run_pretrain
from posenc.training.rundir import RunExistsError
from _training_helpers import TINY_PRETRAIN, metrics_rows, one_thread, tiny_pretrain_overrides

_threads = pytest.fixture(autouse=True, scope="module")(one_thread)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pretrain")
    cfg = load_config(TINY_PRETRAIN, tiny_pretrain_overrides(tmp, 100, train__eval_every=50, name="tiny"))
    res = run_pretrain(cfg)
    return tmp / "tiny", res


def test_mlm_loss_drops(pretrained):
    run_dir, res = pretrained
    before = res["initial"]["metrics"]["loss"]
    after = res["final"]["metrics"]["loss"]
    # ln(2000) ≈ 7.6 at init; 100 steps of 16×64 tokens reach ≈ 6.2 (measured)
    assert before > 7.0
    assert after < before - 1.0, (before, after)
    assert res["best"]["metrics"]["loss"] <= after
    assert res["final"]["metrics"]["accuracy"] > 0.03


def test_run_dir_contract(pretrained):
    run_dir, res = pretrained
    for f in ("config.yaml", "meta.json", "metrics.jsonl", "results.json", "best/config.json",
              "best/model.safetensors", "best/tokenizer.json"):
        assert (run_dir / f).exists(), f
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["world_size"] == 1 and "torch" in meta["versions"]
    for key in ("schema", "status", "kind", "run_name", "position", "segment", "encoding", "task", "seed",
                "learning_rate", "main_metric", "greater_is_better", "best", "final", "num_parameters",
                "tokens_per_s", "step_time_s", "train_time_s", "peak_memory_mb", "world_size",
                "pretrained_from", "model_dir"):
        assert key in res, key
    assert res["status"] == "complete" and res["task"] == "mlm" and res["encoding"] == "absolute+input"
    rows = metrics_rows(run_dir)
    train_rows = [r for r in rows if "loss" in r and "eval" not in r]
    assert train_rows[-1]["step"] == 100 and all({"lr", "tokens_per_s"} <= r.keys() for r in train_rows)
    assert [r["step"] for r in rows if "eval" in r] == [0, 50, 100]


def test_best_dir_loads_with_auto_classes(pretrained):
    run_dir, _ = pretrained
    tok = AutoTokenizer.from_pretrained(run_dir / "best")
    model = AutoModelForMaskedLM.from_pretrained(run_dir / "best")
    enc = tok("We the people of the United States", return_tensors="pt")
    assert enc["input_ids"][0, 0] == tok.cls_token_id
    out = model(**enc)
    assert math.isfinite(out.logits.sum().item())


def test_finished_run_is_not_overwritten(pretrained):
    run_dir, _ = pretrained
    cfg = load_config(TINY_PRETRAIN, tiny_pretrain_overrides(run_dir.parent, 2, name="tiny"))
    with pytest.raises(RunExistsError, match="--overwrite"):
        run_pretrain(cfg)


def test_nan_loss_stops_and_keeps_checkpoint(tmp_path, monkeypatch):
    import posenc
    from posenc.training.engine import NonFiniteLossError

    calls = {"n": 0}
    forward = posenc.PosencForMaskedLM.forward

    def poisoned(self, *a, **kw):
        out = forward(self, *a, **kw)
        if self.training:
            calls["n"] += 1
            if calls["n"] > 6 and out.loss is not None:
                out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(posenc.PosencForMaskedLM, "forward", poisoned)
    cfg = load_config(TINY_PRETRAIN, tiny_pretrain_overrides(tmp_path, 20, train__eval_every=5, name="nan"))
    with pytest.raises(NonFiniteLossError, match=r"loss became nan at step 7.*Last good checkpoint: .*step_0000005"):
        run_pretrain(cfg)
    run_dir = tmp_path / "nan"
    assert (run_dir / "checkpoints" / "step_0000005").is_dir()
    assert (run_dir / "best" / "model.safetensors").exists()
    assert not (run_dir / "results.json").exists()
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "failed"

"""Fine-tuning: beats the majority class on a real dev set; pre-train → fine-tune with another
segment encoding; regression; reproducible with a seed."""

import json
from pathlib import Path

import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from posenc.training import load_config, run_finetune, run_pretrain
from _training_helpers import REPO, TINY, TINY_PRETRAIN, one_thread, tiny_pretrain_overrides

_threads = pytest.fixture(autouse=True, scope="module")(one_thread)
SST2 = REPO / "configs" / "finetune" / "sst2.yaml"
SCRATCH = ["model.from=null", "model.preset=tiny", "model.hidden_size=64", "model.num_attention_heads=4",
           "model.intermediate_size=128", "model.max_position_embeddings=64", "tokenizer.train=wordpiece",
           "tokenizer.vocab_size=3000", "train.max_length=64", "train.num_epochs=null"]


def test_sst2_from_scratch_beats_majority(tmp_path):
    cfg = load_config(SST2, SCRATCH + ["train.max_steps=150", "train.eval_every=50", "train.lr=1e-3",
                                       "data.max_train_examples=4800", f"output_dir={tmp_path}", "name=sst2"])
    res = run_finetune(cfg)
    majority = res["majority_baseline"]["accuracy"]
    best = res["best"]["metrics"]["accuracy"]
    assert res["best"]["metrics"]["eval_examples"] == 872          # the full SST-2 dev set
    assert 0.49 < majority < 0.52
    assert best > majority + 0.08, (best, majority)
    run_dir = tmp_path / "sst2"
    model = AutoModelForSequenceClassification.from_pretrained(run_dir / "best")
    tok = AutoTokenizer.from_pretrained(run_dir / "best")
    assert model.config.id2label[1] == "positive"
    assert model(**tok("a gorgeous , witty film", return_tensors="pt")).logits.shape == (1, 2)


def test_pretrain_then_finetune_pair_task_with_other_segment_encoding(tmp_path):
    pcfg = load_config(TINY_PRETRAIN, tiny_pretrain_overrides(tmp_path, 4, train__eval_every=4, name="pt"))
    run_pretrain(pcfg)
    cfg = load_config(SST2, ["task=rte", f"model.from={tmp_path / 'pt'}", "model.segment=diet",
                             "train.num_epochs=null", "train.max_steps=4", "train.eval_every=2", "train.max_length=64",
                             "data.max_train_examples=128", "data.max_eval_examples=40", f"output_dir={tmp_path}"])
    res = run_finetune(cfg)
    assert res["run_name"] == "rte-pt-s1" and res["task"] == "rte"
    assert res["segment"]["name"] == "diet" and res["encoding"].endswith("+diet")
    assert res["pretrained_from"] == str(tmp_path / "pt")
    assert res["final"]["metrics"]["eval_examples"] == 40


def test_regression_and_seed_reproducibility(tmp_path):
    # WordPiece training is not bit-reproducible (tokenizers breaks count ties in hash order), so
    # the runs share one saved tokenizer, as a sweep over seeds would
    from posenc.training.tokenizer import train_wordpiece
    from posenc.tasks import get_task, load_task

    train = load_task(get_task("stsb"))["train"].select(range(200))
    train_wordpiece(list(train["text_a"]) + list(train["text_b"]), 1000).save_pretrained(tmp_path / "tok")
    over = SCRATCH + ["task=stsb", "tokenizer.train=null", f"tokenizer.load={tmp_path / 'tok'}", "train.max_steps=6", "train.eval_every=3", "data.max_train_examples=200",
                      "data.max_eval_examples=50", f"output_dir={tmp_path}"]
    a = run_finetune(load_config(SST2, over + ["name=a"]))
    b = run_finetune(load_config(SST2, over + ["name=b"]))
    c = run_finetune(load_config(SST2, over + ["name=c", "seed=2"]))
    assert a["main_metric"] in a["final"]["metrics"] and "loss" in a["final"]["metrics"]
    assert a["final"]["metrics"] == b["final"]["metrics"]             # same seed → same numbers
    assert a["final"]["metrics"] != c["final"]["metrics"]

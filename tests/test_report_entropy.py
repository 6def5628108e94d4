"""The corpus's unigram entropy: computed from the pre-training blocks, recorded by a real
pre-train run, and shown by the report beside the MLM losses (the context-free reference)."""

from __future__ import annotations

import math

import datasets
import pytest

from posenc.report import build_report, export
from posenc.training.unigram import unigram_entropy
from _training_helpers import TINY_PRETRAIN, one_thread, results, tiny_pretrain_overrides

_threads = pytest.fixture(autouse=True, scope="module")(one_thread)


def test_unigram_entropy_by_hand():
    blocks = [[0, 5, 5, 6, 1], [0, 5, 7, 7, 1]]  # 0 and 1 are [CLS]/[SEP]: counts 5:3, 6:1, 7:2
    h = -(0.5 * math.log(0.5) + 1 / 6 * math.log(1 / 6) + 1 / 3 * math.log(1 / 3))
    assert unigram_entropy(blocks, exclude_ids=[0, 1]) == pytest.approx(h)
    ds = datasets.Dataset.from_dict({"input_ids": blocks})
    assert unigram_entropy(ds, exclude_ids=[0, 1], batch_size=1) == pytest.approx(h)  # batches add up
    assert unigram_entropy([[3, 3, 3]]) == 0.0
    with pytest.raises(ValueError, match="no tokens"):
        unigram_entropy([[0, 1]], exclude_ids=[0, 1])


def test_a_pretrain_run_records_it_and_the_report_draws_it(tmp_path):
    from posenc.training import load_config, run_pretrain
    from posenc.training.corpus import load_text, pack_blocks, split_blocks
    from posenc.training.tokenizer import load_tokenizer

    cfg = load_config(TINY_PRETRAIN, tiny_pretrain_overrides(tmp_path, 2, train__eval_every=1, name="pt"))
    run_pretrain(cfg)
    run = tmp_path / "pt"
    res = results(run)
    tok = load_tokenizer(str(run / "tokenizer"))
    blocks = pack_blocks(load_text(cfg.corpus), tok, cfg.mlm.seq_len)
    train, _ = split_blocks(blocks, cfg.corpus.eval_fraction, cfg.corpus.max_eval_blocks, cfg.seed)
    assert res["unigram_entropy"] == pytest.approx(unigram_entropy(train, tok.all_special_ids))
    assert 0 < res["unigram_entropy"] < math.log(len(tok))

    out = tmp_path / "report"
    rep = build_report([run], out_dir=out)
    export(rep, out, ["markdown"])
    md = (out / "report.md").read_text()
    assert f"H = {res['unigram_entropy']:.3f} nats/token" in md
    assert "pretraining_curves" in {p.name for p in rep.plots}
    # two steps from random weights: far above the context-free loss, and the summary says so
    summary = " ".join(rep.blocks[0].text)
    assert rep.blocks[0].key == "summary" and "Pre-training did not beat a context-free model" in summary

"""Translation: the parallel reader and its bad input, the WMT hub adapter (offline, a local copy in
the hub layout), sacreBLEU against a hand-computed BLEU, the translation kind's features and
checks, token batches, config-time length errors, and the recipe end to end on bundled Multi30k
(a tiny model learns; save/load through the run directory; resume replays the same steps)."""

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import posenc.testing as pt
from posenc.tasks import TaskDataError, get_task, load_task
from posenc.tasks.readers import ReadReport, read
from posenc.training import ConfigError, load_config
from posenc.training.token_batches import TokenBatchSampler

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "wmt" / "tiny.yaml")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with pt.single_threaded():
        yield


def write(path: Path, lines, gz=False):
    text = "".join(line + "\n" for line in lines)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the parallel reader
def test_reader_pairs_lines_and_finds_the_target_side(tmp_path):
    src = write(tmp_path / "newstest.en-de.en.gz", ["A cat.", "Two dogs."], gz=True)
    write(tmp_path / "newstest.en-de.de.gz", ["Eine Katze.", "Zwei Hunde."], gz=True)
    ds = read("parallel", src, source_language="en", target_language="de")
    assert ds["source"] == ["A cat.", "Two dogs."] and ds["target"] == ["Eine Katze.", "Zwei Hunde."]
    assert ds["idx"] == [0, 1]


def test_reader_names_both_files_and_counts_when_lines_differ(tmp_path):
    src = write(tmp_path / "train.en", ["a", "b", "c"])
    tgt = write(tmp_path / "train.de", ["x", "y"])
    with pytest.raises(TaskDataError) as e:
        read("parallel", src, source_language="en", target_language="de")
    assert str(src) in str(e.value) and str(tgt) in str(e.value) and "3 lines" in str(e.value) and "has 2" in str(e.value)


def test_reader_empty_lines_are_counted_skipped_kept_or_refused(tmp_path):
    src = write(tmp_path / "train.en", ["a", "", "c", "d"])
    write(tmp_path / "train.de", ["x", "y", "", "w"])
    report = ReadReport()
    ds = read("parallel", src, source_language="en", target_language="de", report=report)
    assert ds["source"] == ["a", "d"] and ds["idx"] == [0, 3]
    assert report.skipped == 2 and "skipped 2 of 4 pairs" in report.messages[0] and f"{src}:2" in report.messages[0]
    assert len(read("parallel", src, source_language="en", target_language="de", empty_lines="keep")) == 4
    with pytest.raises(TaskDataError, match=r"train\.en:2: empty line \(2 pairs"):
        read("parallel", src, source_language="en", target_language="de", empty_lines="error")


def test_reader_target_option_and_a_name_without_the_code(tmp_path):
    src = write(tmp_path / "src-train.txt", ["a"])
    write(tmp_path / "tgt-train.txt", ["x"])
    assert read("parallel", src, target="tgt-train.txt")["target"] == ["x"]
    with pytest.raises(TaskDataError, match="no '.en' component"):
        read("parallel", src, source_language="en", target_language="de")


def test_bundled_multi30k_is_aligned_and_complete():
    dsd = load_task("multi30k_en_de")
    assert {k: len(v) for k, v in dsd.items()} == {"train": 29000, "validation": 1014, "test": 1000}
    assert dsd["validation"][0]["target"].startswith("Eine Gruppe von Männern")
    back = load_task("multi30k_de_en", splits=["validation"])["validation"][0]
    assert back["source"] == dsd["validation"][0]["target"]


def test_wmt_hub_adapter_reads_a_local_copy_in_the_hub_layout(tmp_path):
    import datasets

    (tmp_path / "de-en").mkdir()
    rows = [{"de": "Hallo Welt.", "en": "Hello world."}, {"de": "Danke.", "en": "Thank you."}]
    datasets.Dataset.from_dict({"translation": rows}).to_parquet(str(tmp_path / "de-en" / "validation-00000-of-00001.parquet"))
    (tmp_path / "README.md").write_text("---\nconfigs:\n- config_name: de-en\n  data_files:\n  - split: validation\n"
                                        "    path: de-en/validation-*\n---\n")
    task = tmp_path / "my_wmt.yaml"
    task.write_text(f"kind: translation\ntrain_language: en-de\nmetrics: [bleu]\nmain_metric: bleu\ntrain_split: null\n"
                    f"eval_splits: [validation]\nhub: {{adapter: wmt14, splits: {{validation: {{split: validation, "
                    f"path: '{tmp_path}'}}}}}}\n")
    ds = load_task(str(task), source="hub")["validation"]
    assert ds["source"] == ["Hello world.", "Thank you."] and ds["target"] == ["Hallo Welt.", "Danke."]
    from posenc.tasks.readers.parallel import wmt14

    assert wmt14("de-en", "validation", repo=str(tmp_path))["source"] == ["Hallo Welt.", "Danke."]


# ---------------------------------------------------------------- scores
def test_bleu_equals_a_hand_computed_corpus_bleu():
    """'the cat is on the mat' vs 'the cat sat on the mat': n-gram precisions 5/6, 3/5, 1/4 and
    0/3 (sacreBLEU's default 'exp' smoothing: 1/(2·3)), equal lengths (brevity penalty 1)."""
    spec = get_task("multi30k_en_de")
    kind = spec.task_kind
    got = kind.score(spec, ["the cat is on the mat"], ["the cat sat on the mat"])
    expected = 100 * math.exp(sum(math.log(p) for p in (5 / 6, 3 / 5, 1 / 4, 1 / 6)) / 4)
    assert got["bleu"] == pytest.approx(expected, abs=1e-6)
    assert kind.score(spec, ["Ein Hund läuft."], ["Ein Hund läuft."]) == pytest.approx({"bleu": 100.0, "chrf": 100.0})
    # a short hypothesis pays the brevity penalty exp(1 − r/c)
    short = kind.score(spec, ["the cat sat on"], ["the cat sat on the mat"])["bleu"]
    assert short == pytest.approx(100 * math.exp(1 - 6 / 4), abs=1e-6)
    sig = kind.signatures(spec)
    assert sig["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert sig["chrf"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:")


def test_copy_source_baseline_is_the_bleu_of_the_untranslated_input():
    spec = get_task("multi30k_en_de")
    val = load_task(spec, splits=["validation"])["validation"].select(range(300))
    base = spec.task_kind.baseline(spec, None, val)
    assert base == spec.task_kind.score(spec, list(val["source"]), list(val["target"]))
    assert 0 < base["bleu"] < 5  # English copied into German: a few names and numbers match


# ---------------------------------------------------------------- the kind's features and checks
@pytest.fixture(scope="module")
def tokenizer():
    from posenc.training.tokenizer import build_tokenizer

    spec = get_task("multi30k_en_de")
    train = load_task(spec, splits=["train"])["train"].select(range(2000))
    return build_tokenizer("sentencepiece", spec.task_kind.texts(spec, train), 800, lowercase=False)


def test_features_end_with_eos_and_overlong_training_pairs_are_dropped(tokenizer):
    import dataclasses

    import datasets

    from posenc.tasks import tokenize_task

    spec = get_task("multi30k_en_de")
    spec = dataclasses.replace(spec, max_length=12)
    ds = datasets.Dataset.from_dict({"source": ["A dog runs.", "A " + "very " * 20 + "long sentence."],
                                     "target": ["Ein Hund läuft.", "Ein Satz."], "idx": [0, 1]})
    train = tokenize_task(spec, {"train": ds}, tokenizer)["train"]
    evals = tokenize_task(spec, {"validation": ds}, tokenizer)["validation"]
    eos = tokenizer.sep_token_id
    assert train["example"] == [0] and evals["example"] == [0, 1]  # training drops it, evaluation truncates
    plain = tokenizer("Ein Hund läuft.", add_special_tokens=False)["input_ids"]
    assert evals[0]["labels"] == plain + [eos] and evals[0]["input_ids"][-1] == eos
    assert len(evals[1]["input_ids"]) == 12 and evals[1]["input_ids"][-1] == eos
    assert tokenizer.decode(evals[0]["labels"], skip_special_tokens=True) == "Ein Hund läuft."


def test_a_target_language_the_tokenizer_never_saw_is_refused(tokenizer):
    import datasets

    from posenc.tasks import tokenize_task

    spec = get_task("multi30k_en_de")
    ru = read("tatoeba", REPO / "posenc/resources/xtreme/tatoeba/tatoeba.rus-eng.rus.gz")
    ds = datasets.Dataset.from_dict({"source": ru["target"][:50], "target": ru["source"][:50], "idx": list(range(50))})
    with pytest.raises(ValueError, match=r"target side \(de\) to \[UNK\].*not trained on de text.*tokenizer.train"):
        tokenize_task(spec, {"validation": ds}, tokenizer)


def test_token_batches_cover_every_pair_once_within_the_budget():
    lengths = np.random.default_rng(0).integers(3, 40, size=500)
    s = TokenBatchSampler(lengths, max_tokens=200, seed=3)
    first = list(s)
    assert sorted(i for b in first for i in b) == list(range(500))
    assert all(len(b) * lengths[b].max() <= 200 for b in first)
    assert s.padded_tokens < 1.2 * s.real_tokens  # pairs of similar length go together
    s.epoch = 1
    second = list(s)
    assert second != first and sorted(map(tuple, second)) == sorted(map(tuple, first))  # same batches, new order
    s.epoch = 0
    assert list(s) == first and len(s) == len(first)
    with pytest.raises(ValueError, match="max_tokens 30 cannot hold 1 pair"):
        TokenBatchSampler(lengths, max_tokens=30, seed=0)


# ---------------------------------------------------------------- the training recipe's math
def test_label_smoothed_loss_is_the_smoothed_cross_entropy_over_real_tokens():
    """(1 − ε)·(−log p_y) + ε·mean_v(−log p_v), averaged over the tokens whose label is not −100."""
    from types import SimpleNamespace

    from posenc.training.translate import label_smoothed_loss

    logits = torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[1, 4, -100], [0, 6, 2]])
    logp = logits.log_softmax(-1)
    real = [(b, t) for b in range(2) for t in range(3) if labels[b, t] != -100]
    expected = sum(0.9 * -logp[b, t, labels[b, t]] + 0.1 * -logp[b, t].mean() for b, t in real) / len(real)
    got = label_smoothed_loss(0.1)(SimpleNamespace(logits=logits), {"labels": labels})
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_inverse_sqrt_schedule_is_the_transformers_recipe():
    """lr·min(step/warmup, √(warmup/step)) (Vaswani et al. 2017, §5.3), Adam β = (0.9, 0.98)."""
    cfg = load_config(TINY, ["train.lr=2e-3", "train.warmup_steps=200"])
    from posenc.training.optim import build_optimizer

    opt, sched = build_optimizer(torch.nn.Linear(2, 2), cfg.train, total_steps=1000)
    assert opt.param_groups[0]["betas"] == (0.9, 0.98)
    seen = {}
    for step in range(1, 801):
        opt.step()
        sched.step()
        seen[step] = opt.param_groups[0]["lr"]
    for step in (1, 50, 199, 200, 201, 450, 800):
        assert seen[step] == pytest.approx(2e-3 * min(step / 200, math.sqrt(200 / step)), rel=1e-9), step


def test_checkpoint_averaging_is_the_mean_of_the_final_and_last_checkpoints(tmp_path):
    from accelerate import Accelerator
    from safetensors.torch import save_file

    from posenc.training.translate import average_checkpoints

    model = torch.nn.Linear(3, 2)
    weights = [torch.full((2, 3), float(v)) for v in (1, 2, 3)]  # step_000010, _20, _30
    for step, w in zip((10, 20, 30), weights):
        d = tmp_path / "checkpoints" / f"step_{step:06d}"
        d.mkdir(parents=True)
        save_file({"weight": w, "bias": torch.zeros(2)}, str(d / "model.safetensors"))
    with torch.no_grad():
        model.weight.fill_(7.0)
        model.bias.fill_(3.0)
    members = average_checkpoints(Accelerator(cpu=True), model, tmp_path, 3)
    assert members == ["step_000020", "step_000030", "final"]
    assert torch.equal(model.weight, torch.full((2, 3), (2 + 3 + 7) / 3)) and torch.equal(model.bias, torch.ones(2))


# ---------------------------------------------------------------- config-time checks
def test_generation_beyond_a_bounded_decoder_table_fails_at_config_time():
    with pytest.raises(ConfigError) as e:
        load_config(TINY, ["model.position=absolute", "model.max_position_embeddings=64"])
    assert "generate.max_target_length" in str(e.value) and "holds 64" in str(e.value) and "≤ 63" in str(e.value)
    load_config(TINY, ["model.position=absolute", "model.max_position_embeddings=64", "generate.max_target_length=63"])
    load_config(TINY, ["model.position=t5", "model.max_position_embeddings=16"])  # no table: nothing to check


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="rte.*is a classification task"):
        load_config(TINY, ["task=rte"])
    with pytest.raises(ConfigError, match="keep_checkpoints"):
        load_config(TINY, ["train.average_checkpoints=5", "train.keep_checkpoints=2"])
    with pytest.raises(ConfigError, match="diet_rel"):
        load_config(TINY, ["model.position=diet_rell"])


def test_wmt_sweeps_plan_the_quickstart_and_the_papers_protocol():
    """configs/wmt: the quickstart trains ≥ 3 tiny encoder-decoders on bundled Multi30k en→de
    (an input encoding, DIET-REL, a relative-bias one); the paper sweep is transformer-base, 250k
    steps, beam 10 with α 0.6, selected on newstest2017 and tested on newstest2018 (Chen et al.
    2021, §4.3)."""
    from posenc.sweep import expand, load_sweep

    quick = expand(load_sweep(REPO / "configs" / "wmt" / "quickstart.yaml")).runs
    names = {r.encoding for r in quick}
    assert len(names) >= 3 and "diet_rel" in names and names & {"absolute", "sinusoidal"} and names & {"t5", "shaw"}
    for r in quick:
        assert (r.kind, r.config.task, r.config.data.source, r.config.model.preset) == (
            "translate", "multi30k_en_de", "bundled", "tiny")
    paper = expand(load_sweep(REPO / "configs" / "wmt" / "paper.yaml")).runs
    assert {"sinusoidal", "shaw", "diet_rel"} <= {r.encoding for r in paper}
    for r in paper:
        c = r.config
        assert (c.model.preset, c.train.max_steps, c.generate.num_beams, c.generate.length_penalty) == ("base", 250000, 10, 0.6)
        spec = get_task(c.task)
        assert spec.hub.adapter == "wmt18" and spec.eval_splits == ["validation", "test"]  # wmt/wmt18: newstest2017, 2018
        if spec.local is not None:
            local = spec.local.splits
            assert local["validation"].file.startswith("newstest2017") and local["test"].file.startswith("newstest2018")


# ---------------------------------------------------------------- the recipe
SMALL = ["model.hidden_size=64", "model.intermediate_size=128", "model.encoder_layers=1", "model.decoder_layers=1",
         "model.num_attention_heads=2", "tokenizer.vocab_size=1000", "data.max_train_examples=3000",
         "data.max_eval_examples=60", "train.max_tokens=1200", "train.log_every=10", "train.eval_batch_size=60",
         "generate.num_beams=2"]


def _run(tmp_path, name, extra, **kw):
    from posenc.training.translate import run_translate

    cfg = load_config(TINY, SMALL + [f"output_dir={tmp_path}", f"name={name}"] + extra)
    return run_translate(cfg, **kw)


def test_tiny_model_learns_multi30k_and_round_trips_through_the_run_dir(tmp_path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    res = _run(tmp_path, "learn", ["train.max_steps=300", "train.eval_every=150", "train.lr=1e-2", "train.warmup_steps=50"])
    run = tmp_path / "learn"
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines() if "loss" in line
              and "eval" not in line]
    assert losses[-1] < 0.7 * losses[0]  # label-smoothed loss: 6.8 → 4.1
    test = res["scores"]["splits"]["test"]
    copy = res["copy_source_baseline"]["test"]
    assert res["baseline_name"] == "copy source"  # how the report names it beside its flags
    # 300 steps of a 1+1-layer, 64-wide model: BLEU 2.2 on 60 held-out test pairs against 0.27 for
    # copying the English source (chrF, 14 vs 16.5, is not yet above copying: shared characters)
    assert test["bleu"] > copy["bleu"] + 1, (test, copy)
    assert res["sacrebleu"]["signatures"]["bleu"].startswith("nrefs:1|") and res["encoding"] == "sinusoidal"
    # the saved model and tokenizer translate as the run did
    model = AutoModelForSeq2SeqLM.from_pretrained(run / "best").eval()
    tok = AutoTokenizer.from_pretrained(run / "best")
    val = load_task("multi30k_en_de", splits=["test"])["test"].select(range(3))
    src = [ids + [tok.sep_token_id] for ids in tok(list(val["source"]), add_special_tokens=False)["input_ids"]]
    batch = tok.pad({"input_ids": src}, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**batch, num_beams=2, length_penalty=1.0, early_stopping=True, max_new_tokens=40)
    hyps = [h.strip() for h in tok.batch_decode(out, skip_special_tokens=True)]
    written = (run / test["translations"]).read_text(encoding="utf-8").splitlines()[:3]
    assert hyps == written
    # the report's Table-4 section shows the run's test BLEU and how it was made
    from posenc.report import build_report

    rep = build_report([tmp_path], make_plots=False)
    block = next(b for p in rep.parts.values() for b in p.blocks if b.key == "translation")
    assert block.table.loc[0, "Model"] == "sinusoidal" and block.table.loc[0, "multi30k_en_de"] == f"{test['bleu']:.2f}"
    assert any("nrefs:1|case:mixed" in line for line in block.text)
    # above the copy baseline: no ≤triv mark in the summary; the run's step time feeds the cost columns
    from posenc.report.speed import report_costs

    assert not rep.gathered("headlines")["trivial"].astype(bool).any()
    assert report_costs(rep).set_index("encoding").loc["sinusoidal", "ratio"] == 1.0


def test_a_local_data_dir_with_empty_lines_is_read_and_the_skips_reported(tmp_path, capsys):
    """``data.source: local``: a Multi30k-layout folder whose training files have a pair with an
    empty side trains; the skipped pair is printed and recorded in results.json ``data_warnings``."""
    bundled = REPO / "posenc" / "resources" / "wmt" / "multi30k"
    local = tmp_path / "data" / "multi30k"
    local.mkdir(parents=True)
    for split, n in (("train", 400), ("val", 8), ("test_2016_flickr", 8)):
        for lang in ("en", "de"):
            with gzip.open(bundled / f"{split}.{lang}.gz", "rt", encoding="utf-8") as f:
                lines = [next(f).rstrip("\n") for _ in range(n)]
            if split == "train" and lang == "de":
                lines[6] = ""
            write(local / f"{split}.{lang}.gz", lines, gz=True)
    res = _run(tmp_path, "local", [f"data.dir={tmp_path / 'data'}", "data.source=local", "data.max_train_examples=null",
                                   "tokenizer.vocab_size=300", "train.max_steps=2", "train.eval_every=2",
                                   "generate.num_beams=1"])
    train_de = local / "train.de.gz"
    note = f"skipped 1 of 400 pairs with an empty side (first at {train_de}:7)"
    assert any(note in m for m in res["data_warnings"]), res["data_warnings"]
    assert note in capsys.readouterr().out
    assert res["scores"]["splits"]["test"]["eval_examples"] == 8


def test_resume_replays_the_same_steps(tmp_path):
    """Token batches in a fresh order per epoch, dropout: a run stopped after its step-3 checkpoint
    and resumed logs the losses of an uninterrupted run."""
    import posenc.training.loop as loop

    steps = ["train.max_steps=6", "train.eval_every=3", "train.save_every=3", "train.log_every=1",
             "data.max_eval_examples=8", "generate.num_beams=1", "train.max_tokens=300"]
    _run(tmp_path, "straight", steps)
    real, calls = loop.optimizer_step, []

    def ctrl_c_at_step_five(*a, **k):  # what a Ctrl-C during step 5 raises
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    loop.optimizer_step = ctrl_c_at_step_five
    try:
        with pytest.raises(KeyboardInterrupt, match="interrupted at step 4; continue with --resume"):
            _run(tmp_path, "killed", steps)
    finally:
        loop.optimizer_step = real
    _run(tmp_path, "killed", steps, resume=True)

    def losses(name):
        rows = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        return [(r["step"], r["loss"]) for r in rows if "loss" in r]

    killed, straight = losses("killed"), losses("straight")
    assert [s for s, _ in killed] == [s for s, _ in straight] == list(range(1, 7))
    assert [v for _, v in killed] == pytest.approx([v for _, v in straight], rel=1e-6)


def test_every_bias_encoding_trains_on_the_fused_kernel():
    """The issue's speed target: encodings whose position term is a content-independent bias keep
    SDPA (the fused kernel) in the encoder-decoder; the bench reports the same column."""
    import posenc
    from posenc.bench.seq2seq import default_encodings
    from posenc.encodings import POSITION_ENCODINGS

    biased = [n for n in default_encodings() if POSITION_ENCODINGS.get(n).has_layer_bias]
    assert {"diet_rel", "t5", "alibi"} <= set(biased)
    for name in biased:
        with torch.device("meta"):
            model = posenc.PosencForConditionalGeneration(posenc.PosencSeq2SeqConfig(
                vocab_size=64, hidden_size=32, encoder_layers=1, decoder_layers=1, num_attention_heads=4,
                intermediate_size=64, position=name))
        assert model.attention_kernel == "sdpa", name

"""The length-generalisation suite: generators (their definitions), deterministic data, the model
input layout (outputs at appended empty positions), per-length scoring, a tiny end-to-end run and
a sweep of models trained from scratch."""

import json
from pathlib import Path

import numpy as np
import pytest

from posenc.tasks import get_task, list_tasks, load_task, tokenize_task
from posenc.tasks.kinds.length import eval_lengths
from posenc.tasks.spec import TaskSpecError, load_task_spec
from posenc.tasks.synthetic import GENERATORS

REPO = Path(__file__).resolve().parents[1]
LENGTH_TASKS = [n for n in list_tasks() if get_task(n).kind == "length"]


def _make(name, **options):
    cls = GENERATORS.get(name)
    from posenc.options import build_options

    return cls(build_options(cls.Options, options, name))


def _tiny_task(tmp_path, generator="reverse_string", **extra):
    lines = [f"include: {REPO / 'tasks/length/_base.yaml'}", f"generator: {generator}", "train_lengths: [1, 4]",
             "train_examples: 256", "eval_examples: 4"] + [f"{k}: {v}" for k, v in extra.items()]
    f = tmp_path / f"tiny_{generator}.yaml"
    f.write_text("\n".join(lines) + "\n")
    return load_task_spec(f)


@pytest.mark.parametrize("name", GENERATORS.names())
def test_generators_follow_their_definitions(name):
    gen, rng = _make(name), np.random.default_rng(0)
    for length in (gen.min_length or 1, 2, 5, 8, 13):
        length = max(length, gen.min_length)
        x, y = gen.sample(rng, length)
        assert len(y) == gen.output_length(length) and all(s in gen.outputs for s in y)
        if name == "passkey":
            assert len(x) == length + 8 + 4 + 10  # filler + needle (8 words + 4 digits) + question (10)
            at = next(i for i in range(len(x)) if x[i:i + 4] == ["the", "pass", "key", "is"])
            assert x[at + 4:at + 8] == y and x[-10:] == "what is the pass key ? the pass key is".split()
            continue
        assert len(x) == length
        if name == "word_order":  # a span of the text as written, or its words in another order
            span_or_shuffle = gen.answer(x)
            assert y == span_or_shuffle and (y == ["no"]) == (x not in _spans(gen.words, length))
        elif name == "even_pairs":
            assert y == [str(int(x[0] != x[-1]))]  # an odd number of 01/10 pairs ⇔ first ≠ last
        elif name == "missing_duplicate":
            half = length // 2
            assert x.count("?") == 1 and x[2 * half:] == ["#"] * (length % 2)
            assert [s if s != "?" else y[0] for s in x[:half]] == [s if s != "?" else y[0] for s in x[half:2 * half]]


def test_hand_examples():
    """The definitions' worked examples (Delétang et al. 2023, Appendix A; each generator's docstring)."""
    cases = {
        "parity_check": ("0 1 1 0 1", "1"),
        "even_pairs": ("0 0 1 1 1 0", "0"),  # one "01" and one "10": even
        "missing_duplicate": ("0 1 1 0 0 ? 1 0", "1"),  # s = 0110
        "reverse_string": ("0 1 1", "1 1 0"),
        "duplicate_string": ("0 1 1", "0 1 1 0 1 1"),
        "bucket_sort": ("1 0 2 0 4", "0 0 1 2 4"),
        "passkey": ("a b the pass key is 7 3 9 1 . remember it . c what is the pass key ? the pass key is", "7 3 9 1"),
        "word_order": ("He had a guest @-@ starring role", "yes"),  # WikiText-2 test, "Robert Boulter"
    }
    assert set(cases) == set(GENERATORS.names())
    for name, (x, y) in cases.items():
        assert _make(name).answer(x.split()) == y.split(), name
    assert _make("missing_duplicate").answer("1 0 1 ? 0 1 #".split()) == ["1"]  # odd length: s = 101, then #
    assert _make("word_order").answer("He had a guest starring @-@ role".split()) == ["no"]


def _spans(words, n):
    return [words[i:i + n] for i in range(len(words) - n + 1)]


def test_word_order_is_balanced_and_shuffles_real_spans():
    gen, rng = _make("word_order"), np.random.default_rng(1)
    samples = [gen.sample(rng, 6) for _ in range(400)]
    assert 0.4 < np.mean([y == ["yes"] for _, y in samples]) < 0.6
    bags = {tuple(sorted(s)) for s in _spans(gen.words, 6)}
    assert all(tuple(sorted(x)) in bags for x, y in samples if y == ["no"])  # the words of one real span


def test_word_order_is_chance_for_nope_by_construction(tmp_path):
    """An original and a reordered input hold the same tokens, so a model without positions gives the
    answer position the same state for both (it can only guess); one with positions tells them apart."""
    import datasets
    import torch

    from posenc.testing import tiny_model
    from posenc.training.tokenizer import build_tokenizer

    spec = _tiny_task(tmp_path, generator="word_order", train_lengths="[6, 12]", special_tokens="true")
    dsd = load_task(spec, splits=["validation"])
    tok = build_tokenizer("wordpiece", spec.task_kind.texts(spec, dsd["validation"]), 2000, True)
    reordered = dsd["validation"].map(lambda ex: {"input": ex["input"][::-1]})
    rows = [tokenize_task(spec, datasets.DatasetDict(validation=d), tok, max_length=128)["validation"]
            for d in (dsd["validation"], reordered)]
    for position, same in (("none", True), ("absolute", False)):
        model = tiny_model(position, vocab_size=len(tok), max_position_embeddings=128)
        states = []
        for feats in rows:
            answer = [row["labels"].index(next(v for v in row["labels"] if v != -100)) for row in feats]
            with torch.no_grad():
                h = [model(torch.tensor([row["input_ids"]])).last_hidden_state[0, at] for row, at in zip(feats, answer)]
            states.append(torch.stack(h))
        assert torch.allclose(states[0], states[1], atol=1e-5) == same, position


def test_data_are_a_function_of_the_seed_and_lengths_as_declared(tmp_path):
    spec = _tiny_task(tmp_path, generator="bucket_sort")
    a, b = load_task(spec), load_task(spec)
    assert a["train"]["input"] == b["train"]["input"] and a["validation"]["target"] == b["validation"]["target"]
    other = load_task(_tiny_task(tmp_path, generator="bucket_sort", seed=1))
    assert a["train"]["input"] != other["train"]["input"]
    lengths = a["train"]["length"]
    assert sorted(set(lengths)) == [1, 2, 3, 4]  # uniform over train_lengths [1, 4]
    assert eval_lengths(spec) == [4, 8, 16, 32] and eval_lengths(get_task("bucket_sort")) == [16, 32, 64, 128]
    assert [a["validation"]["length"].count(n) for n in (4, 8, 16, 32)] == [4, 4, 4, 4]


def test_unknown_generator_names_the_close_match(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(f"include: {REPO / 'tasks/length/even_pairs.yaml'}\ngenerator: even_pair\n")
    with pytest.raises(TaskSpecError, match="mine.yaml:2: .*even_pair.*Did you mean 'even_pairs'"):
        load_task_spec(f)


def test_outputs_are_read_from_appended_empty_positions(tmp_path):
    from posenc.training.tokenizer import build_tokenizer

    spec = _tiny_task(tmp_path)
    dsd = load_task(spec)
    tok = build_tokenizer("wordpiece", spec.task_kind.texts(spec, dsd["train"]), 100, True)
    feats = tokenize_task(spec, dsd, tok, max_length=40)
    row, ex = feats["validation"][0], dsd["validation"][0]
    n = ex["length"]
    assert len(row["input_ids"]) == 2 * n  # n inputs, n empty positions
    assert row["input_ids"][n:] == [tok.mask_token_id] * n
    assert row["labels"][:n] == [-100] * n and row["labels"][n:] == [int(s) for s in ex["target"]]
    short = tokenize_task(spec, dsd, tok, max_length=12)["validation"]  # 2·8 and 2·16 tokens do not fit
    assert sorted({dsd["validation"][i]["length"] for i in short["example"]}) == [4]
    wrapped = _tiny_task(tmp_path, generator="even_pairs", special_tokens="true")
    row = tokenize_task(wrapped, load_task(wrapped), tok, max_length=40)["validation"][0]
    assert row["input_ids"][0] == tok.cls_token_id and row["input_ids"][-2:] == [tok.mask_token_id, tok.sep_token_id]


def test_score_per_length_and_over_longer_lengths():
    spec = get_task("even_pairs")  # N = 16
    kind = spec.task_kind
    refs = [{"length": 16, "target": [1]}, {"length": 16, "target": [0]}, {"length": 32, "target": [1]},
            {"length": 64, "target": [0]}, {"length": 64, "target": [0]}, {"length": 128, "target": [1]}]
    preds = [[1], [1], [1], [0], [1], None]  # the 128 one was too long to run
    got = kind.score(spec, preds, refs)
    assert got["accuracy"] == 0.5 and got["accuracy@16"] == 0.5
    assert got["accuracy@32"] == 1.0 and got["accuracy@64"] == 0.5 and "accuracy@128" not in got
    assert got["accuracy@longer"] == pytest.approx(0.75)  # mean over the lengths > N that ran


def test_tiny_run_writes_per_length_accuracy(tmp_path):
    from posenc.training import load_config, run_finetune

    spec_file = _tiny_task(tmp_path).source_file
    cfg = load_config(REPO / "configs/length/finetune.yaml", [
        f"task={spec_file}", f"output_dir={tmp_path}", "name=tiny", "train.max_steps=6", "train.eval_every=6",
        "train.batch_size=8", "model.position={name: rotary, randomize: 64}", "model.num_hidden_layers=1"])
    results = run_finetune(cfg)
    metrics = json.loads((tmp_path / "tiny" / "results.json").read_text())["final"]["metrics"]
    assert results["task_kind"] == "length" and metrics["train_max_length"] == 4
    for key in ("accuracy", "accuracy@4", "accuracy@8", "accuracy@16", "accuracy@32", "accuracy@longer"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert results["majority_baseline"]["accuracy@longer"] == pytest.approx(
        np.mean([results["majority_baseline"][f"accuracy@{n}"] for n in (8, 16, 32)]))


def test_sweep_trains_length_tasks_from_scratch(tmp_path):
    from posenc.sweep.config import load_sweep
    from posenc.sweep.plan import expand

    sweep = load_sweep(REPO / "configs/length/ruoss.yaml")
    plan = expand(sweep)
    assert not plan.pretrain_runs and plan.finetune_runs
    for run in plan.finetune_runs:
        assert run.config.model.from_ is None and run.config.model.position is not None
        assert get_task(run.config.task).kind == "length"
    labels = {r.encoding for r in plan.finetune_runs}
    assert any("randomize=" in label for label in labels) and any("randomize=" not in label for label in labels)


@pytest.mark.parametrize("name", LENGTH_TASKS)
def test_every_length_task_loads(name):
    spec = get_task(name)
    assert spec.task_kind.num_labels(spec) >= 2 and eval_lengths(spec)[0] == spec.options.train_lengths[1]

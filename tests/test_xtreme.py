"""XTREME through the task kinds, end to end on the bundled slices (real data, tiny model):
fine-tune on English, select on English dev, evaluate ≥ 2 languages zero-shot; retrieval without
fine-tuning; the offline protocol's disjoint ids; missing languages; evaluation-only GLUE AX."""

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from posenc.tasks import (TaskDataError, TaskSpecError, bundled_dir, get_task, language_splits, list_tasks, load_task,
                          load_task_spec, missing_files, tokenize_task)
from posenc.tasks.evaluation import EvalSet
from posenc.tasks.protocol import load_task_data
from posenc.training import load_config, run_finetune
from _training_helpers import REPO, one_thread

_threads = pytest.fixture(autouse=True, scope="module")(one_thread)
CONFIG = REPO / "configs" / "finetune" / "xtreme.yaml"
XTREME_TASKS = [n for n in list_tasks() if get_task(n).is_multilingual]
NINE = {"xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba", "bucc"}


def _local_xtreme() -> Path | None:
    """The XTREME download folder: $POSENC_SHARED_DATA/xtreme, or shared/data/xtreme beside the checkout."""
    env = os.environ.get("POSENC_SHARED_DATA")
    candidates = [Path(env) / "xtreme"] if env else [p / "shared" / "data" / "xtreme" for p in REPO.parents[:2]]
    return next((p for p in candidates if p.is_dir()), None)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """A tiny random-weight encoder + WordPiece vocabulary of the bundled XTREME text (en, de, zh...)."""
    import posenc
    from posenc.training.tokenizer import train_wordpiece

    out = tmp_path_factory.mktemp("encoder")
    texts = []
    for lang in ("en", "de", "zh", "es"):
        texts += [ex["text_a"] + " " + ex["text_b"] for ex in load_task("xnli", splits=[f"test.{lang}"])[f"test.{lang}"]]
    texts += [" ".join(t) for t in load_task("panx", splits=["train"])["train"]["tokens"]]
    tok = train_wordpiece(texts, 3000)
    cfg = posenc.PosencConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id, hidden_size=64, num_hidden_layers=2,
                              num_attention_heads=4, intermediate_size=128, max_position_embeddings=256,
                              position="absolute", segment="input")
    import torch

    torch.manual_seed(0)
    posenc.PosencForMaskedLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def finetune(task, tmp_path, encoder, languages, *extra):
    over = [f"task={task}", f"model.from={encoder}", "data.source=bundled", f"data.languages=[{','.join(languages)}]",
            "train.num_epochs=null", "train.max_steps=4", "train.eval_every=2", "train.batch_size=8", "train.lr=1e-3",
            "data.max_train_examples=64", "data.max_eval_examples=40", f"output_dir={tmp_path}", "name=run",
            f"data.cache_dir={tmp_path / 'cache'}", *extra]
    return run_finetune(load_config(CONFIG, over))


def _check_zero_shot(res, languages):
    zs = res["zero_shot"]
    assert list(zs["languages"]) == list(languages) and zs["missing"] == {}
    assert zs["step"] == res["best"]["step"]  # the checkpoint English dev selected
    for name, value in zs["mean"].items():  # the mean over languages, each counted once
        assert value == pytest.approx(np.mean([zs["languages"][lang][name] for lang in languages]))
    assert set(zs["baseline"]) == set(languages)
    return zs


# ---- the task files ----------------------------------------------------------------------------

def test_the_nine_xtreme_tasks_are_registered_and_listed(capsys):
    from posenc.commands import list as list_cmd

    assert NINE <= set(XTREME_TASKS)
    list_cmd.run(type("A", (), {"what": "tasks", "pattern": "*"})())
    listed = capsys.readouterr().out
    for name in NINE:
        assert f"  {name} " in listed


def test_offline_protocol_never_evaluates_what_it_trained_on():
    spec = get_task("xnli")
    dsd = load_task(spec, splits=["train", "validation", "test.en", "test.de"])
    ids = {k: set(dsd[k]["idx"]) for k in dsd}
    assert not ids["train"] & ids["test.de"] and not ids["validation"] & ids["test.de"]
    assert not ids["train"] & ids["validation"] and ids["test.en"] == ids["test.de"]
    premises = {k: set(dsd[k]["text_a"]) for k in ("train", "test.en")}
    assert not premises["train"] & premises["test.en"]  # cut by premise: no shared premise either
    assert len(dsd["train"]) + len(dsd["validation"]) + len(dsd["test.en"]) == 2490


@pytest.mark.parametrize("body,message", [
    ("  splits:\n    train: {file: 'dev-{lang}.tsv', select: {modulo: 10, keep: [0, 7]}}\n"
     "    validation: {file: 'dev-{lang}.tsv', select: {modulo: 10, keep: [6]}}\n"
     "    test: {file: 'dev-{lang}.tsv', select: {modulo: 10, keep: [7, 8, 9]}}\n",
     "splits 'train' and 'test' read the same examples"),
    ("  protocol: paper\n  splits:\n    train: {file: 'dev-{lang}.tsv', select: {modulo: 10, keep: [0]}}\n"
     "    validation: {file: 'dev-{lang}.tsv', select: {modulo: 10, keep: [6]}}\n"
     "    test: {file: 'dev-{lang}.tsv', select: {modulo: 10, keep: [7]}}\n",
     "declare `protocol: offline substitute`"),
    ("  splits:\n    train: train.tsv\n    validation: dev.tsv\n    test: test.tsv\n",
     "the zero-shot split's file names need {lang}"),
])
def test_protocol_mistakes_in_a_task_file(tmp_path, body, message):
    path = tmp_path / "x.yaml"
    path.write_text("include: xnli\nlocal:\n  dir: xnli\n  reader: pair_tsv\n  protocol: offline substitute\n" + body)
    with pytest.raises(TaskSpecError, match=message):
        load_task_spec(path)


def test_kind_options_are_validated_with_file_and_line(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("include: xquad\ndoc_strid: 64\n")
    with pytest.raises(TaskSpecError, match=r"q\.yaml:2: unknown key 'doc_strid' in task spec\. Did you mean 'doc_stride'"):
        load_task_spec(path)
    path.write_text("include: xquad\nmax_length: 96\n")
    with pytest.raises(TaskSpecError, match="leaves 29 context tokens per window"):
        load_task_spec(path)


@pytest.mark.parametrize("name", sorted(NINE))
def test_task_loads_from_the_local_xtreme_layout(name):
    root = _local_xtreme()
    if root is None:
        pytest.skip("no XTREME data (set POSENC_SHARED_DATA to the folder holding xtreme/, the download script's "
                    "layout: xnli/, panx/, ...)")
    spec = get_task(name)
    if not (root / spec.local.dir).is_dir():
        pytest.skip(f"{root} has no {spec.local.dir}/ (this copy of XTREME lacks {name})")
    present = [lang for lang in spec.languages if not missing_files(spec, language_splits(spec, [lang]), root)]
    data = load_task_data(spec, "local", root, languages=present[:3], skip_missing=True, max_eval_examples=50)
    if data.train is not None:
        assert len(data.train) > 0 and all(len(d) > 0 for d in data.evals.values())
    for lang, ds in data.languages.items():
        assert len(ds) > 0, lang
    for lang, why in data.missing.items():  # e.g. TyDiQA dev: XTREME's copy strips the answers
        assert spec.local.dir in why and ("unlabelled" in why or "empty" in why or "no tags" in why), why
    assert data.languages or data.missing


# ---- each kind end to end --------------------------------------------------------------------

def test_classification_xnli_zero_shot(tmp_path, encoder):
    res = finetune("xnli", tmp_path, encoder, ["en", "de"])
    assert res["task_kind"] == "classification" and res["trained"] and res["protocol"] == "offline substitute"
    assert res["baseline_name"] == "majority class"  # what the report calls the baseline it flags
    zs = _check_zero_shot(res, ["en", "de"])
    assert zs["protocol"] == "offline substitute" and "MNLI" in zs["protocol_note"]
    # the trivial baseline by hand: the most frequent class of the 64 training pairs, on 40 test pairs
    dsd = load_task("xnli", splits=["train", "test.de"])
    top = np.bincount(dsd["train"]["label"][:64], minlength=3).argmax()
    assert zs["baseline"]["de"]["accuracy"] == pytest.approx(np.mean(np.array(dsd["test.de"]["label"][:40]) == top))
    assert zs["languages"]["de"]["eval_examples"] == 40
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()


def test_tagging_panx_zero_shot_matches_a_plain_evaluation(tmp_path, encoder):
    import torch
    from seqeval.metrics import f1_score
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    res = finetune("panx", tmp_path, encoder, ["en", "de"])
    zs = _check_zero_shot(res, ["en", "de"])
    assert zs["baseline"]["de"]["entity_f1"] == 0.0  # the most frequent tag is O: no entity found
    assert res["baseline_name"] == "most frequent tag"
    # the selected model, evaluated one sentence at a time in file order, gives the same entity F1
    spec = get_task("panx")
    model = AutoModelForTokenClassification.from_pretrained(tmp_path / "run" / "best").eval()
    tok = AutoTokenizer.from_pretrained(tmp_path / "run" / "best")
    examples = load_task(spec, splits=["test.de"])["test.de"].select(range(40))
    preds = []
    for ex in examples:
        enc = tok(ex["tokens"], is_split_into_words=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            ids = model(**enc).logits.argmax(-1)[0].tolist()
        first = {}
        for t, w in enumerate(enc.word_ids()):
            if w is not None and w not in first:
                first[w] = spec.label_names[ids[t]]
        preds.append([first.get(w, "O") for w in range(len(ex["tokens"]))])
    refs = [[spec.label_names[t] for t in ex["tags"]] for ex in examples]
    assert zs["languages"]["de"]["entity_f1"] == pytest.approx(f1_score(refs, preds, zero_division=0), abs=1e-9)


def test_span_qa_mlqa_zero_shot(tmp_path, encoder):
    res = finetune("mlqa", tmp_path, encoder, ["en", "zh"], "train.max_length=256")
    zs = _check_zero_shot(res, ["en", "zh"])
    for lang in ("en", "zh"):
        m = zs["languages"][lang]
        assert set(m) >= {"mlqa_f1", "mlqa_exact_match", "combined", "eval_examples"} and 0 <= m["mlqa_f1"] <= 1
    assert res["best"]["metrics"]["eval_examples"] == 40  # English selection: the held-out TyDiQA questions
    assert res["baseline_name"] == "first words of the context"


def test_span_qa_windows_and_length_sorted_batches_give_the_unsorted_answers(encoder):
    """Contexts longer than one window (doc_stride), batches sorted by length: the predicted
    answers equal those of one question at a time, each mapped back to a span of its context."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    spec = get_task("xquad")
    spec = dataclasses.replace(spec, options=dataclasses.replace(spec.options, doc_stride=48))
    tok = AutoTokenizer.from_pretrained(encoder)
    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(encoder).eval()
    examples = load_task(spec, splits=["test.de"])["test.de"].select(range(12))
    batched = EvalSet.build(spec, examples, tok, batch_size=5, max_length=160, language="de")
    assert len(batched.features) > len(examples)  # several windows per context
    preds, _ = spec.task_kind.predictions(spec, examples, batched.features, batched.predict(model)[0])
    single = []
    for i in range(len(examples)):
        one = EvalSet.build(spec, examples.select([i]), tok, batch_size=1, max_length=160)
        single += spec.task_kind.predictions(spec, one.examples, one.features, one.predict(model)[0])[0]
    assert preds == single
    assert all(p in ctx for p, ctx in zip(preds, examples["context"]))


def test_retrieval_tatoeba_without_fine_tuning(tmp_path, encoder):
    res = finetune("tatoeba", tmp_path, encoder, ["de", "zh"], "data.max_eval_examples=100")
    assert res["trained"] is False and res["steps"] == 0 and res["task_kind"] == "retrieval"
    zs = res["zero_shot"]
    assert set(zs["languages"]) == {"de", "zh"} and zs["languages"]["de"]["eval_examples"] == 100
    assert res["best"]["metrics"]["precision_at_1"] == pytest.approx(zs["mean"]["precision_at_1"])
    assert zs["baseline"]["de"]["precision_at_1"] < 0.1  # random vectors: chance is 1/100
    assert res["baseline_name"] == "random retrieval"


def test_retrieval_finds_identical_sentences(encoder):
    """Whatever the encoder, a sentence's nearest neighbour among candidates that include it
    verbatim (and no duplicates) is itself: precision@1 = 1."""
    import datasets
    from transformers import AutoModel, AutoTokenizer

    spec = get_task("tatoeba")
    pairs = load_task(spec, splits=["test.de"])["test.de"]
    sources = [t for s, t in zip(pairs["side"], pairs["text"]) if s == "source"][:50]
    sources = list(dict.fromkeys(sources))
    rows = datasets.Dataset.from_dict({"source": sources, "target": sources})
    examples = spec.task_kind.from_rows(spec, rows, "identical pairs")
    evalset = EvalSet.build(spec, examples, AutoTokenizer.from_pretrained(encoder), batch_size=16)
    assert evalset.evaluate(AutoModel.from_pretrained(encoder))["precision_at_1"] == 1.0


def _bucc_layout(root: Path, lang: str, split: str, pairs: list[tuple[str, str]], noise: list[str]):
    d = root / "bucc2018"
    d.mkdir(parents=True, exist_ok=True)
    src = [f"{lang}-{i:09d}\t{a}" for i, (a, _) in enumerate(pairs)]
    tgt = [f"en-{i:09d}\t{b}" for i, (_, b) in enumerate(pairs)] + [f"en-{9000 + i:09d}\t{t}" for i, t in enumerate(noise)]
    (d / f"{lang}-en.{split}.{lang}").write_text("\n".join(src) + "\n")
    (d / f"{lang}-en.{split}.en").write_text("\n".join(tgt) + "\n")
    (d / f"{lang}-en.{split}.gold").write_text("\n".join(f"{lang}-{i:09d}\ten-{i:09d}" for i in range(len(pairs))) + "\n")


def test_bucc_threshold_tuned_on_the_dev_split(tmp_path, encoder):
    """BUCC in its release layout (written here from Tatoeba pairs): margin mining with the
    threshold tuned on each language's dev split, F1 on its test split."""
    pairs = load_task("tatoeba", splits=["test.de"])["test.de"]
    src = [t for s, t in zip(pairs["side"], pairs["text"]) if s == "source"]
    tgt = [t for s, t in zip(pairs["side"], pairs["text"]) if s == "target"]
    _bucc_layout(tmp_path / "xtreme", "de", "dev", list(zip(src[:30], tgt[:30])), tgt[200:230])
    _bucc_layout(tmp_path / "xtreme", "de", "test", list(zip(src[30:80], tgt[30:80])), tgt[230:280])
    res = finetune("bucc", tmp_path, encoder, ["de"], "data.source=local", f"data.dir={tmp_path / 'xtreme'}",
                   "data.max_eval_examples=null")
    m = res["zero_shot"]["languages"]["de"]
    assert m["threshold_tuned_on"] == "validation" and 0.0 <= m["bucc_f1"] <= 1.0 and m["eval_examples"] == 50


# ---- missing languages, bad input, evaluation-only tasks ------------------------------------

def _xnli_copy(tmp_path, languages):
    root = tmp_path / "download"
    (root / "xnli").mkdir(parents=True)
    for lang in languages:
        shutil.copy(bundled_dir("xtreme") / "xnli" / f"dev-{lang}.tsv.gz", root / "xnli")
    return root


def test_missing_language_stops_before_training_or_is_recorded(tmp_path, encoder):
    root = _xnli_copy(tmp_path, ["en", "de"])
    with pytest.raises(TaskDataError) as e:
        finetune("xnli", tmp_path, encoder, ["en", "de", "fr"], "data.source=local", f"data.dir={root}")
    msg = str(e.value)
    assert "task 'xnli', language 'fr'" in msg and str(root / "xnli" / "dev-fr.tsv") in msg
    assert "--skip-missing-languages" in msg and "Nothing was trained" in msg
    assert not (tmp_path / "run" / "metrics.jsonl").exists() and not (tmp_path / "run" / "checkpoints").exists()
    res = finetune("xnli", tmp_path, encoder, ["en", "de", "fr"], "data.source=local", f"data.dir={root}",
                   "data.skip_missing_languages=true", "train.max_steps=2")
    assert set(res["zero_shot"]["languages"]) == {"en", "de"}
    assert "dev-fr.tsv" in res["zero_shot"]["missing"]["fr"]
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
    assert on_disk["zero_shot"]["missing"] == res["zero_shot"]["missing"]


def test_unknown_tag_names_file_line_and_task(tmp_path, encoder):
    root = tmp_path / "download" / "panx"
    root.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        shutil.copy(bundled_dir("xtreme") / "panx" / f"{split}-en.tsv.gz", root)
    (root / "test-de.tsv").write_text("Berlin\tB-LOC\nist\tO\n\nMax\tB-PERSON\n")
    with pytest.raises(TaskDataError, match=r"test-de\.tsv:4: unknown tag 'B-PERSON'.*Did you mean 'B-PER'"):
        finetune("panx", tmp_path, encoder, ["en", "de"], "data.source=local", f"data.dir={root.parent}")


def _glue_mnli(tmp_path) -> Path:
    """glue_data/ with an MNLI made of bundled XNLI English pairs (same three labels) and an AX file."""
    root = tmp_path / "glue_data"
    xnli = load_task("xnli", splits=["train", "validation"])
    names = get_task("mnli").label_names
    for split, file in (("train", "train.tsv"), ("validation", "dev_matched.tsv"), ("validation", "dev_mismatched.tsv")):
        rows = ["index\tsentence1\tsentence2\tgold_label"] + [
            f"{i}\t{ex['text_a']}\t{ex['text_b']}\t{names[ex['label']]}" for i, ex in enumerate(xnli[split])]
        (root / "MNLI").mkdir(parents=True, exist_ok=True)
        (root / "MNLI" / file).write_text("\n".join(rows) + "\n")
    (root / "diagnostic").mkdir()
    ax = ["index\tsentence1\tsentence2"] + [f"{i}\t{ex['text_a']}\t{ex['text_b']}" for i, ex in
                                           enumerate(xnli["validation"].select(range(30)))]
    (root / "diagnostic" / "diagnostic.tsv").write_text("\n".join(ax) + "\n")
    return root


def test_ax_is_predicted_with_the_mnli_model(tmp_path, encoder):
    glue = _glue_mnli(tmp_path)
    common = ["data.source=local", f"data.dir={glue}", "train.num_epochs=null", "train.max_steps=2",
              "train.eval_every=2", "train.batch_size=8", "data.max_train_examples=32", "data.max_eval_examples=16",
              f"output_dir={tmp_path}"]
    run_finetune(load_config(CONFIG, common + ["task=mnli", f"model.from={encoder}", "name=mnli"]))
    with pytest.raises(ValueError, match="fine-tuned on 'mnli'.*fine-tune 'mnli' first"):
        run_finetune(load_config(CONFIG, common + ["task=ax", f"model.from={encoder}", "name=ax-bad"]))
    res = run_finetune(load_config(CONFIG, common + ["task=ax", f"model.from={tmp_path / 'mnli'}", "name=ax"]))
    sub = res["predictions"]["test"]
    assert res["trained"] is False and sub["rows"] == 30 and sub["expected_rows"] == 1104
    lines = (tmp_path / "ax" / sub["file"]).read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 31
    assert {line.split("\t")[1] for line in lines[1:]} <= set(get_task("mnli").label_names)


# ---- speed: cached, length-sorted evaluation --------------------------------------------------

def test_tokenised_evaluation_sets_are_cached(tmp_path, encoder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(encoder)
    dsd = load_task("xnli", splits=["test.de"])
    first = tokenize_task("xnli", dsd, tok, 64, cache_dir=tmp_path)["test.de"]
    [path] = [Path(f["filename"]) for f in first.cache_files]
    stamp = path.stat().st_mtime_ns
    again = tokenize_task("xnli", load_task("xnli", splits=["test.de"]), tok, 64, cache_dir=tmp_path)["test.de"]
    assert [Path(f["filename"]) for f in again.cache_files] == [path] and path.stat().st_mtime_ns == stamp
    assert again["input_ids"][:5] == first["input_ids"][:5]
    other = tokenize_task("xnli", dsd, tok, 32, cache_dir=tmp_path)["test.de"]  # another length: new features
    assert Path(other.cache_files[0]["filename"]) != path


def test_cli_names_the_missing_language_file_without_a_traceback(tmp_path, encoder):
    import subprocess
    import sys

    from _training_helpers import ENV

    root = _xnli_copy(tmp_path, ["en"])
    cmd = [sys.executable, "-m", "posenc", "finetune", str(CONFIG), "task=xnli", f"model.from={encoder}",
           "data.source=local", f"data.dir={root}", "data.languages=[en,de]", f"output_dir={tmp_path}", "name=cli"]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "task 'xnli', language 'de'" in proc.stderr and "dev-de.tsv" in proc.stderr
    assert "--skip-missing-languages" in proc.stderr


def test_hub_source_offline_says_what_failed_and_the_local_alternative(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TaskDataError) as e:
        load_task("panx", source="hub", splits=["test.de"])
    msg = str(e.value)
    assert "'google/xtreme' (config 'PAN-X.de', split 'test')" in msg and "offline mode is on" in msg
    with pytest.raises(TaskDataError, match="'nyu-mll/glue' \\(config 'mnli', split 'train'\\)"):
        load_task("xnli", source="hub", splits=["train"])  # XNLI trains on MNLI (the paper protocol)


def _squad_file(path: Path, qas: list[tuple[str, str, int]], context: str) -> None:
    """One SQuAD v1.1 paragraph: (question, answer, answer_start) per question."""
    questions = [{"id": f"q{n}", "question": q, "answers": [{"text": a, "answer_start": s}]}
                 for n, (q, a, s) in enumerate(qas)]
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": questions}]}]}))


def test_qa_answers_off_their_context_are_counted_and_reported(tmp_path):
    """An answer_start that misses its text is repaired (nearest occurrence) by the reader, and
    the run records how many; an empty language file is an error naming it."""
    root = tmp_path / "download"
    (root / "tydiqa").mkdir(parents=True)
    (root / "xquad").mkdir()
    shutil.copy(bundled_dir("xtreme") / "tydiqa" / "tydiqa.goldp.en.train.json.gz", root / "tydiqa")
    context = "Berlin is the capital of Germany. Paris is the capital of France."
    qas = [("capital of France?", "Paris", context.index("Paris"))] * 120 + [("capital of Germany?", "Berlin", 5)]
    _squad_file(root / "xquad" / "xquad.de.json", qas, context)
    (root / "xquad" / "xquad.zh.json").write_text("")
    spec = get_task("xquad")
    data = load_task_data(spec, "local", root, languages=["de", "zh"], skip_missing=True)
    [report] = [r for k, r in data.reports.items() if k == "test.de"]
    assert report["fixed"] == 1 and report["counts"]["answers_mismatched"] == 1
    assert len(data.languages["de"]) == 121 and "file is empty" in data.missing["zh"]
    with pytest.raises(TaskDataError, match=r"language 'zh'.*xquad\.zh\.json: file is empty"):
        load_task_data(spec, "local", root, languages=["de", "zh"])


@pytest.mark.parametrize("name", ["quickstart", "paper"])
def test_xtreme_sweeps_plan(name):
    """The XTREME sweeps expand: every encoding × task × seed (× lr), task files relative to the sweep."""
    from posenc.sweep.config import load_sweep
    from posenc.sweep.plan import expand, task_file

    def plan_task(task, sweep):
        return task_file(task, Path(sweep.source).parent)

    sweep = load_sweep(REPO / "configs" / "xtreme" / f"{name}.yaml")
    plan = expand(sweep)
    tasks = {Path(r.config.task).stem for r in plan.finetune_runs}
    pretrained = {(json.dumps(e.position, sort_keys=True), json.dumps(e.segment)) for e in sweep.encodings}
    assert len(plan.pretrain_runs) == len(pretrained) >= 3  # entries differing only at fine-tuning share one
    trained = [t for t in sweep.tasks if get_task(plan_task(t, sweep)).task_kind.trains]
    grid = len(sweep.seeds) * max(1, len(sweep.learning_rates))
    # a task evaluated without fine-tuning (retrieval) gets one run per encoding, not a seed × lr grid
    assert len(plan.finetune_runs) == len(sweep.encodings) * (len(trained) * grid + len(sweep.tasks) - len(trained))
    assert {"xnli", "xquad"} <= tasks and tasks & {"panx", "udpos"}
    for run in plan.finetune_runs:
        get_task(run.config.task)  # a task name or a task file that loads


def test_quickstart_meets_the_issue_s_recipe():
    """configs/xtreme/quickstart.yaml runs offline (bundled data) and compares ≥ 3 encodings —
    absolute, DIET-ABS and DIET-REL or T5 — on a sentence pair task, a tagging task and a QA task,
    each evaluated zero-shot in ≥ 4 languages, with ≥ 2 seeds so the report can tell seed noise."""
    from posenc.sweep.config import load_sweep
    from posenc.sweep.plan import expand

    sweep = load_sweep(REPO / "configs" / "xtreme" / "quickstart.yaml")
    plan = expand(sweep)
    positions = {(e.position if isinstance(e.position, str) else e.position["name"]) for e in sweep.encodings}
    assert {"absolute", "diet_abs"} <= positions and positions & {"diet_rel", "t5"}
    assert len(sweep.seeds) >= 2
    kinds = set()
    for run in plan.finetune_runs:
        spec = get_task(run.config.task)
        assert run.config.data.source == "bundled" and len(run.config.data.languages) >= 4, run.name
        assert set(run.config.data.languages) <= set(spec.languages)
        kinds.add((spec.kind, len(spec.text_fields) if spec.kind == "classification" else 0))
    assert {("classification", 2), ("tagging", 0), ("span_qa", 0)} <= kinds

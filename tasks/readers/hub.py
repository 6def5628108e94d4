"""Hub adapters: ``google/xtreme``, ``nyu-mll/glue`` (MNLI) and ``rajpurkar/squad`` → the readers' columns.

Each function loads one config/split with ``datasets.load_dataset`` and returns the same columns
as the file reader of that data, so a task does not care where its data came from:

==================  ==============================  ======================================
function            hub config                       columns (as the reader)
==================  ==============================  ======================================
``panx``            ``PAN-X.<lang>``                 tokens, tags, idx (``conll``)
``udpos``           ``udpos.<English name>``         tokens, tags, idx (``conll``)
``xnli``            ``XNLI`` (language = a filter)   text_a, text_b, label, idx (``pair_tsv``)
``pawsx``           ``PAWS-X.<lang>``                text_a, text_b, label, idx (``pair_tsv``)
``xquad``           ``XQuAD.<lang>``                 squad schema (``squad_json``)
``mlqa``            ``MLQA.<context>.<question>``    squad schema
``tydiqa``          ``tydiqa`` (language from id)    squad schema
``tatoeba``         ``tatoeba.<iso 639-3>``          source, target, idx (``tatoeba``)
``bucc``            ``bucc18.<lang>``                DatasetDict source/target/gold (``bucc``)
``mnli``            ``nyu-mll/glue`` ``mnli``        text_a, text_b, label, idx
``squad``           ``rajpurkar/squad``              squad schema
``wmt18`` (14..19)  ``wmt/wmtNN`` ``<xx>-en``       source, target, idx (``parallel``)
==================  ==============================  ======================================

``repo`` may be a hub id or a local copy of the repository (e.g. from ``huggingface-cli
download google/xtreme --repo-type dataset --local-dir ...``), which ``load_dataset`` reads
offline. ``idx`` is the row number within the language, which for XNLI/PAWS-X matches the line
number of XTREME's per-language files (both keep the order of the original release).
"""

from __future__ import annotations

import os

from ..files import TaskDataError
from .languages import language
from .squad_json import squad_features
from .parallel import wmt14, wmt16, wmt18, wmt19  # noqa: F401  (translation adapters, defined with their reader)

XTREME = "google/xtreme"
GLUE = "nyu-mll/glue"
SQUAD = "rajpurkar/squad"

# TyDiQA-GoldP question ids start with the language's English name: "english-...".
TYDIQA_LANGUAGES = {"ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian",
                    "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu"}


def load_hub(repo: str, config: str | None, split: str, cache_dir: str | None = None):
    """``datasets.load_dataset`` with an error that says what failed and what to do offline."""
    import datasets

    try:
        return datasets.load_dataset(repo, config, split=split, cache_dir=cache_dir)
    except Exception as e:  # offline, unknown config or split: name them, point to local files
        offline = any(os.environ.get(v, "").lower() in ("1", "true", "yes")
                      for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))
        raise TaskDataError(
            f"cannot load {repo!r} (config {config!r}, split {split!r}){' (offline mode is on)' if offline else ''}: "
            f"{type(e).__name__}: {e}. Offline, read the XTREME download script's files with "
            "posenc.tasks.readers.read(format, path) or give repo= a local copy of the dataset repository") from e


def _tag_names(ds, column: str):
    """Tag strings from a list-of-ClassLabel (or list-of-string) column."""
    inner = getattr(ds.features[column], "feature", None)
    names = getattr(inner, "names", None)
    if names is None:
        return ds[column]
    return [[names[i] for i in row] for row in ds[column]]


def _tagging(ds, tag_column: str):
    import datasets

    from .base import tagging_features

    tags = _tag_names(ds, tag_column)
    return datasets.Dataset.from_dict({"tokens": list(ds["tokens"]), "tags": [list(t) for t in tags],
                                       "idx": list(range(len(ds)))}, features=tagging_features())


def _pairs(text_a, text_b, labels):
    import datasets

    labels = ["contradiction" if x == "contradictory" else str(x) for x in labels]
    return datasets.Dataset.from_dict(
        {"text_a": list(text_a), "text_b": list(text_b), "label": labels, "idx": list(range(len(labels)))},
        features=datasets.Features({"text_a": datasets.Value("string"), "text_b": datasets.Value("string"),
                                    "label": datasets.Value("string"), "idx": datasets.Value("int64")}))


def _squad(ds):
    if "title" not in ds.column_names:
        ds = ds.add_column("title", [""] * len(ds))
    return ds.select_columns(["id", "title", "context", "question", "answers"]).cast(squad_features())


def panx(lang: str, split: str, *, repo: str = XTREME, cache_dir: str | None = None):
    """WikiANN NER in XTREME's splits (``PAN-X.<lang>``: train/validation/test)."""
    return _tagging(load_hub(repo, f"PAN-X.{lang}", split, cache_dir), "ner_tags")


def udpos(lang: str, split: str, *, repo: str = XTREME, cache_dir: str | None = None):
    """UD v2.5 POS (``udpos.<English name>``); ``lang`` is an ISO 639-1 code or the name."""
    name = lang if lang[:1].isupper() else language(lang).ud
    if name is None:
        raise TaskDataError(f"google/xtreme has no udpos config for {lang!r}")
    return _tagging(load_hub(repo, f"udpos.{name}", split, cache_dir), "pos_tags")


def xnli(lang: str, split: str, *, repo: str = XTREME, cache_dir: str | None = None):
    """XNLI (one config, 15 languages in a ``language`` column; splits validation/test)."""
    ds = load_hub(repo, "XNLI", split, cache_dir)
    ds = ds.filter(lambda b: [x == lang for x in b["language"]], batched=True)
    if len(ds) == 0:
        raise TaskDataError(f"{repo} XNLI {split}: no rows with language {lang!r}")
    return _pairs(ds["sentence1"], ds["sentence2"], ds["gold_label"])


def pawsx(lang: str, split: str, *, repo: str = XTREME, cache_dir: str | None = None):
    """PAWS-X (``PAWS-X.<lang>``: train/validation/test; label "0"/"1")."""
    ds = load_hub(repo, f"PAWS-X.{lang}", split, cache_dir)
    return _pairs(ds["sentence1"], ds["sentence2"], ds["label"])


def xquad(lang: str, split: str = "validation", *, repo: str = XTREME, cache_dir: str | None = None):
    """XQuAD (``XQuAD.<lang>``, validation only; 1190 questions per language)."""
    return _squad(load_hub(repo, f"XQuAD.{lang}", split, cache_dir))


def mlqa(context_lang: str, question_lang: str | None = None, split: str = "validation", *, repo: str = XTREME,
         cache_dir: str | None = None):
    """MLQA (``MLQA.<context>.<question>``, validation/test); same language by default."""
    return _squad(load_hub(repo, f"MLQA.{context_lang}.{question_lang or context_lang}", split, cache_dir))


def tydiqa(lang: str, split: str, *, repo: str = XTREME, cache_dir: str | None = None):
    """TyDiQA-GoldP (config ``tydiqa``, train/validation, all languages; filtered by the id prefix)."""
    if lang not in TYDIQA_LANGUAGES:
        raise TaskDataError(f"TyDiQA-GoldP has no language {lang!r}; it has {', '.join(TYDIQA_LANGUAGES)}")
    prefix = TYDIQA_LANGUAGES[lang] + "-"
    ds = load_hub(repo, "tydiqa", split, cache_dir)
    return _squad(ds.filter(lambda b: [i.startswith(prefix) for i in b["id"]], batched=True))


def tatoeba(lang: str, split: str = "validation", *, repo: str = XTREME, cache_dir: str | None = None):
    """Tatoeba (``tatoeba.<iso 639-3>``, validation only); ``lang`` is ISO 639-1 or 639-3."""
    code = lang if len(lang) == 3 else language(lang).tatoeba
    if code is None:
        raise TaskDataError(f"Tatoeba has no {lang!r}")
    import datasets

    ds = load_hub(repo, f"tatoeba.{code}", split, cache_dir)
    return datasets.Dataset.from_dict(
        {"source": list(ds["source_sentence"]), "target": list(ds["target_sentence"]), "idx": list(range(len(ds)))},
        features=datasets.Features({"source": datasets.Value("string"), "target": datasets.Value("string"),
                                    "idx": datasets.Value("int64")}))


def bucc(lang: str, split: str, *, repo: str = XTREME, cache_dir: str | None = None):
    """BUCC 2018 (``bucc18.<lang>``: de fr ru zh; validation/test) in the ``bucc`` reader's shape.

    The hub config holds only the gold sentence pairs, not the non-parallel sentences the real
    task mines them from: pair i becomes source id ``<lang>-i``, target id ``en-i`` and gold
    (``<lang>-i``, ``en-i``). Mining among gold pairs only is far easier than BUCC proper; use the
    original release (``bucc`` reader) for numbers comparable to published ones.
    """
    import datasets

    ds = load_hub(repo, f"bucc18.{lang}", split, cache_dir)
    n = len(ds)
    src_ids = [f"{lang}-{i:09d}" for i in range(n)]
    tgt_ids = [f"en-{i:09d}" for i in range(n)]
    text = datasets.Features({"id": datasets.Value("string"), "text": datasets.Value("string")})
    return datasets.DatasetDict({
        "source": datasets.Dataset.from_dict({"id": src_ids, "text": list(ds["source_sentence"])}, features=text),
        "target": datasets.Dataset.from_dict({"id": tgt_ids, "text": list(ds["target_sentence"])}, features=text),
        "gold": datasets.Dataset.from_dict({"source_id": src_ids, "target_id": tgt_ids}),
    })


def mnli(split: str, *, repo: str = GLUE, cache_dir: str | None = None):
    """MNLI (``nyu-mll/glue`` ``mnli``: train, validation_matched, ...) as labelled pairs; test: label ""."""
    import datasets

    ds = load_hub(repo, "mnli", split, cache_dir)
    names = ds.features["label"].names
    labels = [names[i] if i >= 0 else "" for i in ds["label"]]
    out = _pairs(ds["premise"], ds["hypothesis"], labels)
    if "idx" in ds.column_names:
        out = out.remove_columns("idx").add_column("idx", list(ds["idx"])).cast_column("idx", datasets.Value("int64"))
    return out


def squad(split: str, *, repo: str = SQUAD, cache_dir: str | None = None):
    """SQuAD v1.1 (``rajpurkar/squad``: train 87599, validation 10570 questions)."""
    return _squad(load_hub(repo, None, split, cache_dir))

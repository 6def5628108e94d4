"""Tokenize a loaded task for a BERT-style encoder, the way its kind says (``TaskKind.encoder``).

Classification/regression: single texts become ``[CLS] a [SEP]``; pairs ``[CLS] a [SEP] b [SEP]``
with ``token_type_ids`` 0 for the first segment and 1 for the second, so segment encodings
(``input``, ``diet``) see two segments; truncation is ``longest_first`` to ``max_length``
(default: the spec's); the columns are exactly ``input_ids``, ``token_type_ids``,
``attention_mask`` and ``labels`` (int64 class ids, or float32 scores; -1 in unlabelled splits).
Tagging aligns tags to first sub-words; span QA cuts long contexts into windows (one example →
several features) and keeps the character offsets its post-processing needs. Padding is left to
the collator (dynamic padding).

With ``cache_dir``, each split's features are written to an Arrow file named by a fingerprint
of the examples, the tokenizer, the length and the kind's options (``datasets`` fingerprinting),
so evaluating the same language again (another seed, another checkpoint) does not tokenise again.
"""

from __future__ import annotations

from pathlib import Path

from .loading import split_language
from .registry import get_task
from .spec import TaskSpec

MODEL_COLUMNS = ["input_ids", "token_type_ids", "attention_mask", "labels"]
ENCODING_VERSION = 1  # bump when an encoder's output changes, to invalidate cached features


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of what makes a tokenizer encode as it does (its backend's JSON without the
    truncation/padding state a previous call left, special tokens)."""
    import json

    from datasets.fingerprint import Hasher

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        state.pop("truncation", None)
        state.pop("padding", None)
        state = json.dumps(state, sort_keys=True)
    else:
        state = Hasher.hash(tokenizer)
    return Hasher.hash((type(tokenizer).__name__, state, sorted(tokenizer.special_tokens_map.items()),
                        list(tokenizer.model_input_names)))


def tokenize_task(spec: TaskSpec | str, dsd, tokenizer, max_length: int | None = None, *,
                  num_proc: int | None = None, training: bool | None = None, cache_dir: str | Path | None = None):
    """``DatasetDict`` (from :func:`load_task`) → model features; see the module docstring.

    ``training``: features for the loss (span QA: labelled windows) or for evaluation (with the
    helper columns predictions need); default: the train split for training, others for
    evaluation.
    """
    import datasets
    from datasets.fingerprint import Hasher

    spec = get_task(spec)
    kind = spec.task_kind
    max_length = max_length or spec.max_length
    if max_length < 8:
        raise ValueError(f"max_length must be at least 8, got {max_length}")
    tok_hash = tokenizer_fingerprint(tokenizer) if cache_dir is not None else None
    out = {}
    for name, ds in dsd.items():
        train = training if training is not None else split_language(spec, name)[0] == spec.train_split
        try:
            encode, features = kind.encoder(spec, ds, tokenizer, max_length, training=train)
        except ValueError as e:
            raise ValueError(f"split {name!r}: {e}") from None
        kwargs = dict(batched=True, with_indices=True, remove_columns=ds.column_names, features=features,
                      num_proc=num_proc, desc=f"tokenize {spec.name}/{name}")
        if cache_dir is not None:
            fp = Hasher.hash((ds._fingerprint, tok_hash, max_length, train, spec.kind, spec.options, ENCODING_VERSION))
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            kwargs.update(new_fingerprint=fp, load_from_cache_file=True,
                          cache_file_name=str(Path(cache_dir) / f"{spec.name}-{name}-{fp}.arrow"))
        out[name] = ds.map(encode, **kwargs)
    return datasets.DatasetDict(out)

"""Tokenize a loaded task for a BERT-style encoder.

Single texts become ``[CLS] a [SEP]``; pairs become ``[CLS] a [SEP] b [SEP]`` with
``token_type_ids`` 0 for the first segment and 1 for the second, so segment encodings (``input``,
``diet``) see two segments. Truncation is ``longest_first`` to ``max_length`` (default: the
spec's). Padding is left to the collator (dynamic padding). The result has exactly the columns
``input_ids``, ``token_type_ids``, ``attention_mask`` and ``labels`` (int64 class ids, or
float32 scores for regression; -1 in unlabelled splits).
"""

from __future__ import annotations

from .registry import get_task
from .spec import TaskSpec

MODEL_COLUMNS = ["input_ids", "token_type_ids", "attention_mask", "labels"]


def _check_segments(spec: TaskSpec, tokenizer, example: dict) -> None:
    """A pair must come out as two marked segments: special tokens added and segment ids 1."""
    a, b = example["text_a"][:200], example["text_b"][:200]
    enc = tokenizer(a, b, return_token_type_ids=True)
    plain = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in (a, b)]
    if len(enc["input_ids"]) <= sum(plain) or max(enc["token_type_ids"]) != 1:
        raise ValueError(
            f"task {spec.name!r} is a sentence pair but tokenizer {type(tokenizer).__name__} does not mark the two "
            "segments (it adds no [CLS]/[SEP] or gives every token segment id 0). Use a BERT-style tokenizer "
            "(BertTokenizerFast) or give its backend a TemplateProcessing post-processor with "
            "pair='[CLS] $A [SEP] $B:1 [SEP]:1'.")


def tokenize_task(spec: TaskSpec | str, dsd, tokenizer, max_length: int | None = None, *,
                  num_proc: int | None = None):
    """``DatasetDict`` (from :func:`load_task`) → model inputs; see the module docstring."""
    import datasets

    spec = get_task(spec)
    max_length = max_length or spec.max_length
    if max_length < 8:
        raise ValueError(f"max_length must be at least 8, got {max_length}")
    pair = spec.is_pair
    for name, ds in dsd.items():
        missing = [c for c in (["text_a", "text_b"] if pair else ["text_a"]) + ["label"] if c not in ds.column_names]
        if missing:
            raise ValueError(f"split {name!r} lacks column(s) {missing}; load it with posenc.tasks.load_task")
        if pair and len(ds):
            _check_segments(spec, tokenizer, ds[0])

    def encode(batch):
        enc = tokenizer(batch["text_a"], batch["text_b"] if pair else None, truncation="longest_first",
                        max_length=max_length, return_token_type_ids=True, return_attention_mask=True)
        return {"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                "attention_mask": enc["attention_mask"], "labels": batch["label"]}

    label = datasets.Value("float32") if spec.kind == "regression" else datasets.Value("int64")
    features = datasets.Features({
        "input_ids": datasets.Sequence(datasets.Value("int32")),
        "token_type_ids": datasets.Sequence(datasets.Value("int8")),
        "attention_mask": datasets.Sequence(datasets.Value("int8")),
        "labels": label,
    })
    out = {}
    for name, ds in dsd.items():
        out[name] = ds.map(encode, batched=True, remove_columns=ds.column_names, features=features,
                           num_proc=num_proc, desc=f"tokenize {spec.name}/{name}")
    return datasets.DatasetDict(out)

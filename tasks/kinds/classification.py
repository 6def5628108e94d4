"""Classification: one label per text or text pair (GLUE, XNLI, PAWS-X).

Examples: ``text_a``, ``text_b`` (pairs only), ``label`` (class id in ``label_names`` order; −1 in
unlabelled test splits), ``idx``. Single texts become ``[CLS] a [SEP]``; pairs ``[CLS] a [SEP] b
[SEP]`` with ``token_type_ids`` 0 then 1, so segment encodings see two segments; truncation is
``longest_first``. Model: ``[CLS]`` → pooler → linear (``AutoModelForSequenceClassification``),
prediction = argmax of the logits. Trivial baseline: the most frequent training class.
"""

from __future__ import annotations

import math

import numpy as np

from ..files import TaskDataError
from .base import TaskKind, register_kind


def check_segments(spec, tokenizer, example: dict) -> None:
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


def input_features():
    """Feature types of tokenised text: int32 ids, int8 segment ids and mask (compact on disk)."""
    import datasets

    return {"input_ids": datasets.Sequence(datasets.Value("int32")),
            "token_type_ids": datasets.Sequence(datasets.Value("int8")),
            "attention_mask": datasets.Sequence(datasets.Value("int8"))}


@register_kind
class Classification(TaskKind):
    name = "classification"
    baseline_name = "majority class"
    description = "one label per text or text pair (GLUE, XNLI, PAWS-X); accuracy, F1, MCC"
    auto_model = "AutoModelForSequenceClassification"
    label_dtype = "int64"
    missing_label = -1  # unlabelled (test) rows

    # ---- the spec
    def validate(self, spec, fail) -> None:
        if len(spec.text_fields) not in (1, 2):
            fail("text_fields", f"text_fields must list 1 or 2 fields, got {spec.text_fields}")
        self.validate_labels(spec, fail)

    def validate_labels(self, spec, fail) -> None:
        if not spec.label_names or len(spec.label_names) < 2:
            fail("label_names" if spec.label_names is not None else "kind",
                 "a classification task needs label_names with at least 2 classes")
        if len(set(spec.label_names)) != len(spec.label_names):
            fail("label_names", f"label_names has duplicates: {spec.label_names}")
        if spec.file_labels is not None and len(spec.file_labels) != len(spec.label_names):
            fail("file_labels", f"file_labels needs one entry per label name ({len(spec.label_names)})")

    def num_labels(self, spec) -> int:
        return len(spec.label_names)

    def model_kwargs(self, spec) -> dict:
        return {"num_labels": self.num_labels(spec), "problem_type": "single_label_classification",
                "id2label": dict(enumerate(spec.label_names)),
                "label2id": {n: i for i, n in enumerate(spec.label_names)}}

    # ---- examples
    def label_feature(self, spec):
        import datasets

        return datasets.ClassLabel(names=list(spec.label_names))

    def features(self, spec):
        import datasets

        feats = {"text_a": datasets.Value("string")}
        if spec.is_pair:
            feats["text_b"] = datasets.Value("string")
        feats["label"] = self.label_feature(spec)
        feats["idx"] = datasets.Value("int64")
        return datasets.Features(feats)

    def parse_label(self, spec, value, where: str, column) -> int | float:
        """A label cell of a file → class id (names as in ``file_labels``/``label_names``; a JSON
        integer is a class id)."""
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < spec.num_labels:
                return value
            raise TaskDataError(f"{where}: class id {value} in column {column!r} is out of range 0..{spec.num_labels - 1}")
        names = spec.labels_in_files
        if isinstance(value, str) and value in names:
            return names.index(value)
        raise TaskDataError(f"{where}: unknown label {value!r} in column {column!r}; expected one of {names}")

    def from_rows(self, spec, ds, where: str, *, labelled: bool = True):
        """Rows with ``text_a``/``text_b``/``label``/``idx`` columns (labels as names or ids)."""
        rows = {c: list(ds[c]) for c in ds.column_names}
        labels = rows.get("label", [self.missing_label] * len(ds))
        feature = ds.features.get("label")
        if getattr(feature, "names", None) is not None and list(feature.names) != list(spec.label_names):
            raise TaskDataError(f"{where}: label names {feature.names} differ from the spec's label_names "
                                f"{spec.label_names} (class ids would be wrong)")
        def missing(v):
            return v is None or v == "" or v == self.missing_label

        if labelled and any(missing(v) for v in labels):
            raise TaskDataError(f"{where}: a labelled split has rows without a label")
        rows["label"] = [self.missing_label if missing(v) else self.parse_label(spec, v, f"{where} row {i}", "label")
                         for i, v in enumerate(labels)]
        rows.setdefault("idx", list(range(len(ds))))
        import datasets

        return datasets.Dataset.from_dict({k: rows[k] for k in self.features(spec)}, features=self.features(spec))

    def reader_options(self, spec, *, labelled: bool) -> dict:
        return {**super().reader_options(spec, labelled=labelled), "label_set": spec.labels_in_files}

    def texts(self, spec, ds):
        for col in ["text_a", "text_b"] if spec.is_pair else ["text_a"]:
            yield from ds[col]

    # ---- model inputs
    def encoder(self, spec, ds, tokenizer, max_length: int, *, training: bool):
        import datasets

        pair = spec.is_pair
        missing = [c for c in (["text_a", "text_b"] if pair else ["text_a"]) + ["label"] if c not in ds.column_names]
        if missing:
            raise ValueError(f"split lacks column(s) {missing}; load it with posenc.tasks.load_task")
        if pair and len(ds):
            check_segments(spec, tokenizer, ds[0])

        def encode(batch, indices):
            enc = tokenizer(batch["text_a"], batch["text_b"] if pair else None, truncation="longest_first",
                            max_length=max_length, return_token_type_ids=True, return_attention_mask=True)
            return {"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                    "attention_mask": enc["attention_mask"], "labels": batch["label"]}

        features = datasets.Features({**input_features(), "labels": datasets.Value(self.label_dtype)})
        return encode, features

    # ---- evaluation
    def outputs(self, spec, out, batch) -> dict:
        return {"logits": out.logits.float()}

    def predictions(self, spec, examples, features, outputs):
        return self.to_predictions(spec, np.stack(outputs["logits"])), {}

    def references(self, spec, examples):
        return np.asarray(list(examples["label"]))

    def to_predictions(self, spec, outputs) -> np.ndarray:
        """Logits ``[n, num_labels]`` → class ids (argmax); 1-D class ids pass through."""
        out = np.asarray(outputs)
        if out.ndim == 2:
            if out.shape[1] != spec.num_labels:
                raise ValueError(f"task {spec.name!r} has {spec.num_labels} classes but the logits have {out.shape[1]}")
            return out.argmax(axis=1)
        if out.ndim != 1:
            raise ValueError(f"predictions must be class ids [n] or logits [n, {spec.num_labels}], got shape {out.shape}")
        if not np.issubdtype(out.dtype, np.integer):
            if not np.all(out == np.round(out)):
                raise ValueError(f"task {spec.name!r} is classification: predictions must be class ids, got floats")
            out = out.astype(np.int64)
        return out

    def score(self, spec, predictions, references, *, language=None) -> dict[str, float]:
        preds, refs = np.asarray(predictions), np.asarray(references)
        if np.any(refs < 0):
            raise ValueError(f"task {spec.name!r}: references contain -1 (an unlabelled test split?)")
        bad = preds[(preds < 0) | (preds >= spec.num_labels)]
        if len(bad):
            raise ValueError(f"task {spec.name!r}: prediction {bad[0]} is not a class id 0..{spec.num_labels - 1}")
        return super().score(spec, preds, refs, language=language)

    def baseline(self, spec, train, examples, *, language=None):
        """Always the most frequent training class."""
        if train is None:
            return None
        labels = np.asarray(list(train["label"]))
        counts = np.bincount(labels[labels >= 0], minlength=spec.num_labels)
        refs = self.references(spec, examples)
        return self.score(spec, np.full(len(refs), int(counts.argmax())), refs, language=language)

    def format_prediction(self, spec, prediction) -> str:
        names = spec.labels_in_files
        if not 0 <= int(prediction) < len(names):
            raise ValueError(f"predictions must be class ids 0..{len(names) - 1}")
        return names[int(prediction)]


def finite_float(value, where: str, column) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TaskDataError(f"{where}: label {value!r} in column {column!r} is not a number") from None
    if math.isnan(out) or math.isinf(out):
        raise TaskDataError(f"{where}: label {value!r} in column {column!r} is not a finite number")
    return out

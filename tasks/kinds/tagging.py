"""Tagging: one tag per word (UD-POS part-of-speech tags, PAN-X/WikiANN named entities in BIO).

Examples: ``tokens`` (the words), ``tags`` (one class id per word, in ``label_names`` order),
``idx``. Words are tokenised with ``is_split_into_words``; the tag goes on the first sub-word of
each word and every other position gets −100, so the loss and the prediction use exactly one
position per word (Devlin et al. 2019, §4.3). A word cut off by ``max_length`` (or one the
tokenizer drops) is predicted ``O`` when the tag set has it (else counts as wrong); the number of
such words is reported as ``unpredicted_words``.

Metrics: ``entity_f1`` (seqeval, entity level) and the classification metrics (``accuracy``,
``macro_f1``...) over all words. Trivial baseline: the most frequent training tag for every word.
"""

from __future__ import annotations

import numpy as np

from ..files import TaskDataError
from .base import TaskKind, register_kind
from .classification import input_features


@register_kind
class Tagging(TaskKind):
    name = "tagging"
    baseline_name = "most frequent tag"
    description = "one tag per word (UD-POS, PAN-X); word accuracy, seqeval entity F1"
    auto_model = "AutoModelForTokenClassification"

    # ---- the spec
    def validate(self, spec, fail) -> None:
        self.refuse_fields(spec, fail, ("text_fields",), "its examples are words (tokens) with tags")
        if not spec.label_names or len(spec.label_names) < 2:
            fail("label_names" if spec.label_names is not None else "kind",
                 "a tagging task needs label_names: its tag set, e.g. [O, B-PER, I-PER]")
        if len(set(spec.label_names)) != len(spec.label_names):
            fail("label_names", f"label_names has duplicates: {spec.label_names}")

    def accepts_metric(self, metric) -> bool:
        return metric.kind == self.name or (metric.kind == "classification" and metric.vector)

    def num_labels(self, spec) -> int:
        return len(spec.label_names)

    def model_kwargs(self, spec) -> dict:
        return {"num_labels": len(spec.label_names), "id2label": dict(enumerate(spec.label_names)),
                "label2id": {n: i for i, n in enumerate(spec.label_names)}}

    # ---- examples
    def features(self, spec):
        import datasets

        return datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "tags": datasets.Sequence(datasets.ClassLabel(names=list(spec.label_names))),
                                  "idx": datasets.Value("int64")})

    def from_rows(self, spec, ds, where: str, *, labelled: bool = True):
        """Reader rows ``tokens``, ``tags`` (tag strings, or class ids of a ClassLabel), ``idx``."""
        import datasets

        names = list(spec.label_names)
        index = {n: i for i, n in enumerate(names)}
        feature = ds.features.get("tags")
        inner = getattr(feature, "feature", None)
        given = getattr(inner, "names", None)  # hub: class ids with their own names
        tokens, tags = list(ds["tokens"]), list(ds["tags"]) if "tags" in ds.column_names else None
        idx = list(ds["idx"]) if "idx" in ds.column_names else list(range(len(ds)))
        out, first = [], None
        unknown: dict[str, int] = {}
        for n, words in enumerate(tokens):
            row = [] if tags is None else list(tags[n])
            if not row and words:
                if labelled:
                    raise TaskDataError(f"{where}: sentence {idx[n]} has words but no tags (an unlabelled file? "
                                        "XTREME's released test files of most languages carry no labels)")
                out.append([-1] * len(words))
                continue
            if len(row) != len(words):
                raise TaskDataError(f"{where}: sentence {idx[n]} has {len(words)} words but {len(row)} tags")
            ids = []
            for tag in row:
                name = given[tag] if given is not None and isinstance(tag, (int, np.integer)) else tag
                if name not in index:
                    unknown[str(name)] = unknown.get(str(name), 0) + 1
                    first = first or (idx[n], str(name))
                    continue
                ids.append(index[name])
            out.append(ids)
        if unknown:
            listing = ", ".join(f"{t!r} ×{c}" for t, c in sorted(unknown.items()))
            raise TaskDataError(f"{where}: sentence {first[0]}: unknown tag {first[1]!r}; tags not in the task's "
                                f"label_names {names}: {listing}")
        return datasets.Dataset.from_dict({"tokens": tokens, "tags": out, "idx": idx}, features=self.features(spec))

    def reader_options(self, spec, *, labelled: bool) -> dict:
        return {**super().reader_options(spec, labelled=labelled), "tag_set": list(spec.label_names)}

    def texts(self, spec, ds):
        for words in ds["tokens"]:
            yield " ".join(words)

    # ---- model inputs
    def encoder(self, spec, ds, tokenizer, max_length: int, *, training: bool):
        import datasets

        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(f"task {spec.name!r} (tagging) needs a fast tokenizer (word_ids to align tags)")
        for c in ("tokens", "tags"):
            if c not in ds.column_names:
                raise ValueError(f"split lacks column {c!r}; load it with posenc.tasks.load_task")

        def encode(batch, indices):
            enc = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length,
                            return_token_type_ids=True, return_attention_mask=True)
            labels, words = [], []
            for i, tags in enumerate(batch["tags"]):
                ids = enc.word_ids(i)
                seen, row = set(), []
                for w in ids:
                    if w is None or w in seen:
                        row.append(-100)  # specials and continuation sub-words: no loss, no prediction
                    else:
                        seen.add(w)
                        row.append(tags[w])
                labels.append(row)
                words.append([-1 if w is None else w for w in ids])
            out = {"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                   "attention_mask": enc["attention_mask"], "labels": labels}
            if not training:
                out["word_ids"] = words
            return out

        feats = {**input_features(), "labels": datasets.Sequence(datasets.Value("int64"))}
        if not training:
            feats["word_ids"] = datasets.Sequence(datasets.Value("int32"))
        return encode, datasets.Features(feats)

    def collator(self, tokenizer):
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(tokenizer)

    # ---- evaluation
    def outputs(self, spec, out, batch) -> dict:
        return {"tags": out.logits.argmax(-1)}

    def fallback_tag(self, spec) -> str:
        return "O" if "O" in spec.label_names else ""

    def predictions(self, spec, examples, features, outputs):
        names = list(spec.label_names)
        fallback = self.fallback_tag(spec)
        preds, unpredicted = [], 0
        for n, (words, row) in enumerate(zip(features["word_ids"], outputs["tags"])):
            first: dict[int, str] = {}
            for t, w in enumerate(words):
                if w >= 0 and w not in first:
                    first[w] = names[int(row[t])]
            length = len(examples[n]["tokens"])
            unpredicted += length - len(first)
            preds.append([first.get(w, fallback) for w in range(length)])
        return preds, {"unpredicted_words": unpredicted}

    def references(self, spec, examples):
        names = list(spec.label_names)
        return [[names[t] for t in tags] for tags in examples["tags"]]

    def to_predictions(self, spec, outputs):
        """Tag strings per sentence pass through; class ids per word become tag names."""
        names = list(spec.label_names)
        return [[t if isinstance(t, str) else names[int(t)] for t in row] for row in outputs]

    def score(self, spec, predictions, references, *, language=None) -> dict[str, float]:
        """Word-level metrics (accuracy...) on all words flattened; entity metrics per sentence."""
        from posenc import metrics

        predictions = self.to_predictions(spec, predictions)
        references = self.to_predictions(spec, references)
        words = [m for m in spec.metrics if metrics.get_metric(m).vector]
        spans = [m for m in spec.metrics if m not in words]
        out: dict[str, float] = {}
        if words:
            index = {n: i for i, n in enumerate(spec.label_names)}
            flat_p = np.array([index.get(t, -1) for row in predictions for t in row])
            flat_r = np.array([index[t] for row in references for t in row])
            out.update({m: metrics.get_metric(m).fn(flat_p, flat_r) for m in words})
        if spans:
            out.update({m: v for m, v in metrics.compute(spans, predictions, references).items() if m != "combined"})
        out = {m: out[m] for m in spec.metrics}
        if len(out) > 1:
            out["combined"] = metrics.combined(out)
        return out

    def baseline(self, spec, train, examples, *, language=None):
        """Every word gets the most frequent training tag."""
        if train is None:
            return None
        counts = np.bincount([t for tags in train["tags"] for t in tags], minlength=len(spec.label_names))
        top = spec.label_names[int(counts.argmax())]
        refs = self.references(spec, examples)
        return self.score(spec, [[top] * len(r) for r in refs], refs, language=language)

    def format_prediction(self, spec, prediction) -> str:
        return " ".join(prediction)

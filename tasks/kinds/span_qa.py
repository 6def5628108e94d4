"""Extractive question answering: the answer is a span of the context (SQuAD v1.1, XQuAD, MLQA,
TyDiQA-GoldP).

Examples use the SQuAD schema: ``id``, ``title``, ``context``, ``question``, ``answers`` =
``{text: [...], answer_start: [...]}`` (character offsets), ``idx``. A question and its context
become ``[CLS] question [SEP] context [SEP]``; a context longer than ``max_length`` is cut into
windows sharing ``doc_stride`` tokens (Devlin et al. 2019, §4.2; Hugging Face ``run_qa``'s
``doc_stride``), the question is cut to ``max_query_length`` tokens. Training labels the answer's
first and last token in each window that holds it, ``[CLS]`` in the others.

Prediction (the usual SQuAD post-processing): over every window of an example, the ``n_best``
highest start and end logits form candidate spans inside the context, at most
``max_answer_length`` tokens long with end ≥ start; the best ``start + end`` logit wins and is
mapped back to the original context through the tokenizer's character offsets.

Metrics: ``squad_f1`` / ``squad_exact_match`` (SQuAD v1.1 normalisation) or ``mlqa_f1`` /
``mlqa_exact_match`` (MLQA's per-language normalisation). Trivial baseline: the first *n* words
of the context, *n* the median length of the training answers.

An ``answer_start`` that does not point at the answer text is counted and reported (a
:class:`TaskDataWarning`); such an answer is not used for training (its text still counts as a
gold answer); above 5% of a file's answers it is an error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..files import TaskDataError, TaskDataWarning
from .base import TaskKind, register_kind
from .classification import input_features

MAX_BAD_ANSWERS = 0.05


@dataclass(frozen=True)
class SpanQAOptions:
    doc_stride: int = field(default=128, metadata={"help": "tokens shared by consecutive windows of a long context"})
    max_query_length: int = field(default=64, metadata={"help": "questions are cut to this many tokens"})
    max_answer_length: int = field(default=30, metadata={"help": "longest predicted answer, in tokens"})
    n_best: int = field(default=20, metadata={"help": "start and end candidates per window"})


def answer_matches(context: str, text: str, start: int) -> bool:
    return 0 <= start and context[start:start + len(text)] == text


@register_kind
class SpanQA(TaskKind):
    name = "span_qa"
    baseline_name = "first words of the context"
    description = "extractive QA over long contexts (XQuAD, MLQA, TyDiQA-GoldP); SQuAD F1 / exact match"
    auto_model = "AutoModelForQuestionAnswering"
    Options = SpanQAOptions

    # ---- the spec
    def validate(self, spec, fail) -> None:
        self.refuse_fields(spec, fail, ("text_fields", "label_names"), "examples are SQuAD-style (question, context, answers)")
        o = spec.options
        for key in ("doc_stride", "max_query_length", "max_answer_length", "n_best"):
            if getattr(o, key) < 1:
                fail(key, f"{key} must be ≥ 1, got {getattr(o, key)}")
        self.check_lengths(spec, spec.max_length, lambda msg: fail("max_length", msg))

    def check_lengths(self, spec, max_length: int, fail) -> None:
        o = spec.options
        room = max_length - o.max_query_length - 3  # [CLS] q [SEP] context [SEP]
        if room <= o.doc_stride:
            fail(f"max_length {max_length} leaves {room} context tokens per window after a "
                 f"{o.max_query_length}-token question; it must exceed doc_stride {o.doc_stride} "
                 "(raise max_length or lower doc_stride / max_query_length)")

    # ---- examples
    def features(self, spec):
        import datasets

        return datasets.Features({
            "id": datasets.Value("string"), "title": datasets.Value("string"),
            "context": datasets.Value("string"), "question": datasets.Value("string"),
            "answers": {"text": datasets.Sequence(datasets.Value("string")),
                        "answer_start": datasets.Sequence(datasets.Value("int32"))},
            "idx": datasets.Value("int64")})

    def from_rows(self, spec, ds, where: str, *, labelled: bool = True):
        """SQuAD-schema rows; answers are checked against their context."""
        import datasets

        for col in ("id", "context", "question", "answers"):
            if col not in ds.column_names:
                raise TaskDataError(f"{where}: no column {col!r} (SQuAD schema: id, title, context, question, "
                                    f"answers); has {ds.column_names}")
        total, bad, first = 0, 0, None
        for n, (qid, context, answers) in enumerate(zip(ds["id"], ds["context"], ds["answers"])):
            texts, starts = answers["text"], answers["answer_start"]
            if len(texts) != len(starts):
                raise TaskDataError(f"{where}: question {qid!r}: {len(texts)} answer texts but {len(starts)} starts")
            if labelled and not texts:
                raise TaskDataError(f"{where}: question {qid!r} has no answer (span_qa expects answerable, "
                                    "SQuAD v1.1-style questions)")
            for text, start in zip(texts, starts):
                total += 1
                if not answer_matches(context, text, int(start)):
                    bad += 1
                    first = first or (qid, text, int(start))
        if bad:
            msg = (f"{where}: {bad} of {total} answers do not match their context at answer_start (first: "
                   f"question {first[0]!r}, answer {first[1]!r} at {first[2]})")
            if bad > MAX_BAD_ANSWERS * total:
                raise TaskDataError(msg + f"; more than {MAX_BAD_ANSWERS:.0%}: wrong file or encoding?")
            warnings.warn(TaskDataWarning(msg + "; they are not used for training (their text still counts "
                                                "as a gold answer)"), stacklevel=2)
        cols = {c: list(ds[c]) for c in ("id", "context", "question", "answers")}
        cols["title"] = list(ds["title"]) if "title" in ds.column_names else [""] * len(ds)
        cols["idx"] = list(ds["idx"]) if "idx" in ds.column_names else list(range(len(ds)))
        return datasets.Dataset.from_dict(cols, features=self.features(spec))

    def texts(self, spec, ds):
        yield from ds["question"]
        yield from dict.fromkeys(ds["context"])  # a context is shared by many questions

    # ---- model inputs
    def _questions(self, spec, tokenizer, questions: list[str]) -> list[str]:
        """Questions cut to ``max_query_length`` tokens (at a token's end offset)."""
        questions = [q.lstrip() for q in questions]
        enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
        limit = spec.options.max_query_length
        return [q if len(offs) <= limit else q[:offs[limit - 1][1]] for q, offs in zip(questions, enc["offset_mapping"])]

    def encoder(self, spec, ds, tokenizer, max_length: int, *, training: bool):
        import datasets

        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(f"task {spec.name!r} (span_qa) needs a fast tokenizer (character offsets)")

        def fail(msg):
            raise ValueError(f"task {spec.name!r}: {msg}")

        self.check_lengths(spec, max_length, fail)
        stride = spec.options.doc_stride

        def encode(batch, indices):
            enc = tokenizer(self._questions(spec, tokenizer, batch["question"]), batch["context"],
                            truncation="only_second", max_length=max_length, stride=stride,
                            return_overflowing_tokens=True, return_offsets_mapping=True,
                            return_token_type_ids=True, return_attention_mask=True)
            out = {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
            owner = enc["overflow_to_sample_mapping"]
            if training:
                out["start_positions"], out["end_positions"] = [], []
                keep = []
                for i, offsets in enumerate(enc["offset_mapping"]):
                    ex = owner[i]
                    span = self._answer_span(batch["context"][ex], batch["answers"][ex], offsets, enc.sequence_ids(i))
                    if span is None:
                        continue  # no usable answer in this example
                    keep.append(i)
                    out["start_positions"].append(span[0])
                    out["end_positions"].append(span[1])
                return {k: [v[i] for i in keep] if k in ("input_ids", "token_type_ids", "attention_mask") else v
                        for k, v in out.items()}
            out["example"] = [indices[j] for j in owner]
            starts, ends = [], []
            for i, offsets in enumerate(enc["offset_mapping"]):
                seq = enc.sequence_ids(i)
                starts.append([o[0] if s == 1 else -1 for o, s in zip(offsets, seq)])
                ends.append([o[1] if s == 1 else -1 for o, s in zip(offsets, seq)])
            out["offset_start"], out["offset_end"] = starts, ends
            return out

        feats = input_features()
        if training:
            feats.update(start_positions=datasets.Value("int64"), end_positions=datasets.Value("int64"))
        else:
            feats.update(example=datasets.Value("int64"), offset_start=datasets.Sequence(datasets.Value("int32")),
                         offset_end=datasets.Sequence(datasets.Value("int32")))
        return encode, datasets.Features(feats)

    @staticmethod
    def _answer_span(context: str, answers: dict, offsets, seq_ids) -> tuple[int, int] | None:
        """(start token, end token) of the first usable answer in this window; (0, 0) = [CLS] when
        the answer lies outside it; None when the example has no answer matching its context."""
        usable = [(t, int(s)) for t, s in zip(answers["text"], answers["answer_start"])
                  if t and answer_matches(context, t, int(s))]
        if not usable:
            return None
        text, start = usable[0]
        end = start + len(text)
        ctx = [i for i, s in enumerate(seq_ids) if s == 1]
        if not ctx or offsets[ctx[0]][0] > start or offsets[ctx[-1]][1] < end:
            return 0, 0
        first = next(i for i in ctx if offsets[i][1] > start)
        last = next(i for i in reversed(ctx) if offsets[i][0] < end)
        return first, last

    def model_columns(self, spec, *, training: bool, labelled: bool = True) -> list[str]:
        cols = ["input_ids", "token_type_ids", "attention_mask"]
        return cols + (["start_positions", "end_positions"] if training else [])

    # ---- evaluation
    def outputs(self, spec, out, batch) -> dict:
        return {"start": out.start_logits.float(), "end": out.end_logits.float()}

    def predictions(self, spec, examples, features, outputs):
        o = spec.options
        best: dict[int, tuple[float, int, int]] = {}
        owners = features["example"]
        for f, (ex, starts, ends) in enumerate(zip(owners, features["offset_start"], features["offset_end"])):
            n = len(starts)
            s_logits, e_logits = np.asarray(outputs["start"][f])[:n], np.asarray(outputs["end"][f])[:n]
            for s in np.argsort(-s_logits)[:o.n_best]:
                if starts[s] < 0:
                    continue
                for e in np.argsort(-e_logits)[:o.n_best]:
                    if ends[e] < 0 or e < s or e - s + 1 > o.max_answer_length:
                        continue
                    score = float(s_logits[s] + e_logits[e])
                    if ex not in best or score > best[ex][0]:
                        best[ex] = (score, starts[s], ends[e])
        contexts = examples["context"]
        preds = [contexts[i][best[i][1]:best[i][2]] if i in best else "" for i in range(len(examples))]
        return preds, {"unanswered": sum(i not in best for i in range(len(examples)))}

    def references(self, spec, examples):
        return [list(a["text"]) for a in examples["answers"]]

    def baseline(self, spec, train, examples, *, language=None):
        """The first n words of each context, n = the median word count of the training answers."""
        if train is None:
            return None
        n = max(1, int(np.median([len(t.split()) for a in train["answers"] for t in a["text"][:1]])))
        preds = [" ".join(c.split()[:n]) for c in examples["context"]]
        return self.score(spec, preds, self.references(spec, examples), language=language)

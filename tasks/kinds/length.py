"""Length generalisation: train on inputs of length ≤ N, evaluate at N, 2N, 4N, 8N (Ruoss et al.,
ACL 2023, §4; Delétang et al., ICLR 2023).

Examples are generated, not read: a task file names a generator of ``tasks/synthetic/`` (parity
check, even pairs, missing duplicate, reverse/duplicate string, bucket sort, passkey retrieval)
and the lengths; the data are a pure function of the task's ``seed``. Columns: ``input`` and
``target`` (lists of symbols), ``length`` (the input length the generator was asked for), ``idx``.

Model input (no autoregression, as Ruoss et al.): the input symbols, then one empty position
(``[MASK]``) per output symbol; a per-token classifier over the generator's output symbols reads
the outputs there (``AutoModelForTokenClassification``; labels −100 elsewhere). With
``special_tokens: true`` (pre-trained MLM encoders) the sequence is wrapped in ``[CLS] … [SEP]``.
Training lengths are uniform in ``train_lengths``; evaluation holds ``eval_examples`` examples at
each of ``eval_multiples`` × N. An evaluation example longer than the run's ``max_length`` tokens
is not run (counted as ``skipped@L``); a training example that long is an error.

Metrics (``accuracy`` = per-token accuracy of the output symbols; other vector classification
metrics work the same way), written to ``results.json`` under ``best``/``final`` ``metrics``:

- ``accuracy``: over the evaluation lengths ≤ N (in distribution; selects the best checkpoint);
- ``accuracy@L``: at each evaluation length L;
- ``accuracy@longer``: the mean of ``accuracy@L`` over the lengths L > N (Ruoss et al.'s score:
  per-token accuracy averaged over the unseen lengths);
- ``train_max_length``: N, and ``skipped@L`` when examples were too long to run.

Trivial baseline: the most frequent training output symbol at every output position.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from posenc.options import OptionError, build_options

from .base import TaskKind, register_kind

LONGER = "longer"


@dataclass(frozen=True)
class LengthOptions:
    generator: str = field(default="", metadata={"help": "example generator (tasks/synthetic): parity_check, even_pairs, ..."})
    generator_options: dict = field(default_factory=dict, metadata={"help": "the generator's options, e.g. {alphabet: 5}"})
    train_lengths: list[int] = field(default_factory=lambda: [1, 16], metadata={
        "help": "[shortest, longest = N] input length in training (uniform)"})
    eval_multiples: list[float] = field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0], metadata={
        "help": "evaluation lengths as multiples of N"})
    train_examples: int = field(default=10000, metadata={"help": "training examples generated"})
    eval_examples: int = field(default=64, metadata={"help": "evaluation examples per evaluation length"})
    seed: int = field(default=0, metadata={"help": "data seed: the examples are a function of it"})
    special_tokens: bool = field(default=False, metadata={
        "help": "wrap each example in [CLS] ... [SEP] (for encoders pre-trained that way)"})


_GENERATORS: dict[str, object] = {}


def generator_of(spec):
    """The task's generator instance (cached: passkey reads its text once)."""
    from posenc.tasks.synthetic import GENERATORS

    o = spec.options
    key = json.dumps([o.generator, o.generator_options], sort_keys=True)
    if key not in _GENERATORS:
        cls = GENERATORS.get(o.generator)
        _GENERATORS[key] = cls(build_options(cls.Options, o.generator_options, f"generator {o.generator!r}"))
    return _GENERATORS[key]


def train_range(spec) -> tuple[int, int]:
    lo, hi = spec.options.train_lengths
    return max(lo, generator_of(spec).min_length), hi


def eval_lengths(spec) -> list[int]:
    """The evaluation lengths, sorted (multiples of N, rounded)."""
    n = spec.options.train_lengths[1]
    return sorted({max(1, round(m * n)) for m in spec.options.eval_multiples})


@register_kind
class Length(TaskKind):
    name = "length"
    baseline_name = "most frequent output symbol"
    description = "generated sequence tasks, trained on lengths <= N and scored per length up to 8N (Ruoss et al. 2023)"
    auto_model = "AutoModelForTokenClassification"
    Options = LengthOptions
    generates = True

    # ---- the spec
    def validate(self, spec, fail) -> None:
        from posenc.registry import UnknownNameError

        self.refuse_fields(spec, fail, ("text_fields", "label_names"), "examples and output symbols come from the generator")
        o = spec.options
        if not o.generator:
            fail("kind", "a length task needs `generator:` (tasks/synthetic), e.g. generator: even_pairs")
        try:
            generator_of(spec)
        except UnknownNameError as e:
            fail("generator", str(e))
        except OptionError as e:
            fail("generator_options", str(e))
        if len(o.train_lengths) != 2 or not 1 <= o.train_lengths[0] <= o.train_lengths[1]:
            fail("train_lengths", f"train_lengths must be [shortest, longest] with 1 <= shortest <= longest, got {o.train_lengths}")
        if not o.eval_multiples or any(m <= 0 for m in o.eval_multiples):
            fail("eval_multiples", f"eval_multiples must be positive numbers, got {o.eval_multiples}")
        if o.train_examples < 1 or o.eval_examples < 1:
            fail("train_examples", "train_examples and eval_examples must be >= 1")
        if spec.train_split is None or len(spec.eval_splits) != 1:
            fail("eval_splits", "a length task has one training split and one evaluation split (all lengths)")

    def accepts_metric(self, metric) -> bool:
        return metric.kind == "classification" and metric.vector  # per output token

    def num_labels(self, spec) -> int:
        return len(generator_of(spec).outputs)

    def model_kwargs(self, spec) -> dict:
        names = generator_of(spec).outputs
        return {"num_labels": len(names), "id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}

    # ---- examples
    def features(self, spec):
        import datasets

        return datasets.Features({"input": datasets.Sequence(datasets.Value("string")),
                                  "target": datasets.Sequence(datasets.Value("string")),
                                  "length": datasets.Value("int32"), "idx": datasets.Value("int64")})

    def generate(self, spec, splits):
        """Train: ``train_examples`` at lengths uniform in ``train_lengths``; evaluation:
        ``eval_examples`` at each evaluation length (one random stream per length)."""
        import datasets

        gen, o = generator_of(spec), spec.options
        out = {}
        for split in splits:
            rows: dict[str, list] = {"input": [], "target": [], "length": []}
            if split == spec.train_split:
                rng = np.random.default_rng([o.seed, 0])
                lo, hi = train_range(spec)
                plan = [(rng, int(n)) for n in rng.integers(lo, hi + 1, size=o.train_examples)]
            else:
                plan = []
                for n in eval_lengths(spec):
                    rng = np.random.default_rng([o.seed, 1, n])
                    plan += [(rng, n)] * o.eval_examples
            for rng, n in plan:
                x, y = gen.sample(rng, n)
                rows["input"].append(x)
                rows["target"].append(y)
                rows["length"].append(n)
            rows["idx"] = list(range(len(rows["input"])))
            out[split] = datasets.Dataset.from_dict(rows, features=self.features(spec))
        return datasets.DatasetDict(out)

    def texts(self, spec, ds):
        yield from generator_of(spec).texts()
        for x, y in zip(ds["input"], ds["target"]):
            yield " ".join(x + y)

    def subset(self, spec, ds, n: int):
        """``n`` examples spread evenly over the evaluation lengths (the first of each)."""
        per = math.ceil(n / len(set(ds["length"]))) if len(ds) else 0
        seen: dict[int, int] = defaultdict(int)
        keep = []
        for i, length in enumerate(ds["length"]):
            if seen[length] < per:
                keep.append(i)
                seen[length] += 1
        return ds.select(keep)

    # ---- model inputs
    def _symbol_ids(self, spec, tokenizer) -> list[int]:
        ids = []
        for symbol in generator_of(spec).outputs:
            got = tokenizer(symbol, add_special_tokens=False)["input_ids"]
            if len(got) != 1 or got[0] == tokenizer.unk_token_id:
                raise ValueError(f"task {spec.name!r}: the tokenizer does not keep output symbol {symbol!r} as one "
                                 f"known token (it gives {tokenizer.convert_ids_to_tokens(got)}); train the tokenizer "
                                 "on the task (tokenizer.train) or use one whose vocabulary has it")
            ids.append(got[0])
        return ids

    def encoder(self, spec, ds, tokenizer, max_length: int, *, training: bool):
        import datasets

        for c in ("input", "target", "length"):
            if c not in ds.column_names:
                raise ValueError(f"split lacks column {c!r}; load it with posenc.tasks.load_task")
        if tokenizer.mask_token_id is None:
            raise ValueError(f"task {spec.name!r} reads outputs at empty positions: the tokenizer needs a mask token")
        self._symbol_ids(spec, tokenizer)
        index = {s: i for i, s in enumerate(generator_of(spec).outputs)}
        wrap = spec.options.special_tokens
        head = [tokenizer.cls_token_id] if wrap else []
        tail = [tokenizer.sep_token_id] if wrap else []

        def encode(batch, indices):
            enc = tokenizer(batch["input"], is_split_into_words=True, add_special_tokens=False)
            out = {"input_ids": [], "token_type_ids": [], "attention_mask": [], "labels": [], "example": []}
            for i, (ids, target) in enumerate(zip(enc["input_ids"], batch["target"])):
                x = head + ids + [tokenizer.mask_token_id] * len(target) + tail
                if len(x) > max_length:
                    if training:
                        raise ValueError(f"task {spec.name!r}: a training example of length {batch['length'][i]} is "
                                         f"{len(x)} tokens, more than max_length {max_length}; raise train.max_length")
                    continue  # counted as skipped@L by predictions()
                start = len(head) + len(ids)
                y = [-100] * len(x)
                y[start:start + len(target)] = [index[t] for t in target]
                out["input_ids"].append(x)
                out["token_type_ids"].append([0] * len(x))
                out["attention_mask"].append([1] * len(x))
                out["labels"].append(y)
                out["example"].append(indices[i])
            return out

        from .classification import input_features

        return encode, datasets.Features({**input_features(), "labels": datasets.Sequence(datasets.Value("int64")),
                                          "example": datasets.Value("int64")})

    def collator(self, tokenizer):
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(tokenizer)

    # ---- evaluation
    def outputs(self, spec, out, batch) -> dict:
        return {"pred": out.logits.argmax(-1)}

    def predictions(self, spec, examples, features, outputs):
        """Output symbols' class ids per example (None: the example was too long to run)."""
        preds: list = [None] * len(examples)
        for ex, labels, row in zip(features["example"], features["labels"], outputs["pred"]):
            where = np.flatnonzero(np.asarray(labels) != -100)
            preds[ex] = [int(v) for v in np.asarray(row)[where]]
        notes: dict = {"train_max_length": spec.options.train_lengths[1]}
        for p, n in zip(preds, examples["length"]):
            if p is None:
                notes[f"skipped@{n}"] = notes.get(f"skipped@{n}", 0) + 1
        return preds, notes

    def references(self, spec, examples):
        index = {s: i for i, s in enumerate(generator_of(spec).outputs)}
        return [{"length": int(n), "target": [index[t] for t in y]} for n, y in zip(examples["length"], examples["target"])]

    def score(self, spec, predictions, references, *, language=None) -> dict[str, float]:
        """Per-token metrics in distribution (lengths ≤ N), at each length, and over the longer ones."""
        from posenc import metrics

        n_train = spec.options.train_lengths[1]
        by_length: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
        for p, r in zip(predictions, references):
            if p is None:
                continue
            if len(p) != len(r["target"]):
                raise ValueError(f"task {spec.name!r}: a prediction has {len(p)} symbols, the reference {len(r['target'])}")
            by_length[r["length"]][0].extend(p)
            by_length[r["length"]][1].extend(r["target"])
        out: dict[str, float] = {}
        for name in spec.metrics:
            fn = metrics.get_metric(name).fn

            def over(lengths):
                p = [v for n in lengths for v in by_length[n][0]]
                r = [v for n in lengths for v in by_length[n][1]]
                return fn(np.asarray(p), np.asarray(r)) if r else float("nan")

            out[name] = over([n for n in by_length if n <= n_train])
            per = {n: over([n]) for n in sorted(by_length)}
            out.update({f"{name}@{n}": v for n, v in per.items()})
            longer = [v for n, v in per.items() if n > n_train]
            out[f"{name}@{LONGER}"] = float(np.mean(longer)) if longer else float("nan")
        return out

    def baseline(self, spec, train, examples, *, language=None):
        """The most frequent training output symbol at every output position."""
        if train is None:
            return None
        index = {s: i for i, s in enumerate(generator_of(spec).outputs)}
        counts = np.bincount([index[t] for y in train["target"] for t in y], minlength=len(index))
        refs = self.references(spec, examples)
        top = int(counts.argmax())
        return self.score(spec, [[top] * len(r["target"]) for r in refs], refs, language=language)

    def format_prediction(self, spec, prediction) -> str:
        names = generator_of(spec).outputs
        return " ".join(names[i] for i in prediction) if prediction is not None else ""

    def report_columns(self, spec) -> list[str]:
        main = spec.main_metric
        return [main, f"{main}@{LONGER}"] + [f"{main}@{n}" for n in eval_lengths(spec)]


__all__ = ["Length", "LengthOptions", "generator_of", "eval_lengths", "train_range"]

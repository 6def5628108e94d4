"""Retrieval: find each sentence's translation among candidates, with no fine-tuning (Tatoeba,
BUCC), as XTREME evaluates its sentence-retrieval tasks (Hu et al. 2020, §3.1).

Examples are sentences: ``side`` (``source``/``target``), ``id``, ``text``, ``gold`` (for a
source: the id of its translation among the targets, or empty) and ``part`` (empty for the
evaluated sentences; the name of a companion split, e.g. BUCC's tuning split, otherwise). A file
reader may also give aligned pairs ``source``, ``target`` (row i translates row i).

The pre-trained encoder (no task head) embeds every sentence: the hidden states of layer
``layer`` (0 = embeddings; default: layer 7 of 12 as XTREME uses for mBERT, scaled to the
model's depth), mean-pooled over the real tokens. Similarity is the cosine. Metrics:
``precision_at_1`` (Tatoeba: is the nearest target the gold one?) and ``bucc_f1`` (margin-based
mining, F1 at the threshold that is best on ``threshold_split`` of the same language, as XTREME
tunes it on the BUCC sample set; without one, on the evaluated pairs themselves, an upper bound,
reported as ``threshold_tuned_on: evaluated``). Trivial baseline: random sentence vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..files import TaskDataError
from .base import TaskKind, register_kind
from .classification import input_features


@dataclass(frozen=True)
class RetrievalOptions:
    layer: int | None = field(default=None, metadata={
        "help": "hidden layer to pool (0 = embeddings, -1 = last); null = round(7/12 of the depth), XTREME's mBERT choice"})
    threshold_split: str | None = field(default=None, metadata={
        "help": "split of each language whose gold pairs tune the bucc_f1 threshold (BUCC: the sample/dev set)"})


@dataclass
class RetrievalScores:
    """Cosine similarities ``[n_sources, n_targets]`` of the evaluated sentences, and of the
    tuning part (or None)."""

    scores: np.ndarray
    tune: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)


def pool(hidden, attention_mask):
    """Mean of ``hidden [b, L, H]`` over positions where ``attention_mask [b, L]`` is 1 → [b, H]."""
    mask = attention_mask[..., None].to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


@register_kind
class Retrieval(TaskKind):
    name = "retrieval"
    baseline_name = "random retrieval"
    description = "nearest-translation search with pooled encoder states, no fine-tuning (Tatoeba, BUCC)"
    trains = False
    auto_model = "AutoModel"
    Options = RetrievalOptions

    # ---- the spec
    def validate(self, spec, fail) -> None:
        self.refuse_fields(spec, fail, ("text_fields", "label_names"), "examples are source and target sentences")
        if spec.train_split is not None:
            fail("train_split", "a retrieval task is not fine-tuned: set train_split: null")
        t = spec.options.threshold_split
        if t is not None and t not in (spec.splits or []):
            fail("threshold_split", f"threshold_split {t!r} is not one of the task's splits {spec.splits}")

    # ---- examples
    def features(self, spec):
        import datasets

        return datasets.Features({k: datasets.Value("string") for k in ("side", "id", "text", "gold", "part")})

    def from_rows(self, spec, ds, where: str, *, labelled: bool = True):
        """Aligned pairs (``source``, ``target``[, ``idx``]), sentences (``side``, ``id``, ``text``,
        ``gold``), or the ``bucc`` reader's ``DatasetDict(source, target, gold)``."""
        import datasets

        if isinstance(ds, datasets.DatasetDict):
            gold: dict[str, str] = {}
            for s, t in zip(ds["gold"]["source_id"], ds["gold"]["target_id"]):
                if s in gold and gold[s] != t:
                    raise TaskDataError(f"{where}: source {s!r} has two gold targets ({gold[s]!r}, {t!r}); "
                                        "retrieval scores one translation per source")
                gold[s] = t
            src, tgt = ds["source"], ds["target"]
            ds = datasets.Dataset.from_dict({
                "side": ["source"] * len(src) + ["target"] * len(tgt), "id": list(src["id"]) + list(tgt["id"]),
                "text": list(src["text"]) + list(tgt["text"]),
                "gold": [gold.get(i, "") for i in src["id"]] + [""] * len(tgt)})
        cols = set(ds.column_names)
        if {"source", "target"} <= cols:
            ids = [str(i) for i in (ds["idx"] if "idx" in cols else range(len(ds)))]
            rows = {"side": ["source"] * len(ds) + ["target"] * len(ds),
                    "id": [f"s{i}" for i in ids] + [f"t{i}" for i in ids],
                    "text": list(ds["source"]) + list(ds["target"]),
                    "gold": [f"t{i}" for i in ids] + [""] * len(ds)}
        elif {"side", "id", "text"} <= cols:
            rows = {k: [str(v) for v in ds[k]] for k in ("side", "id", "text")}
            rows["gold"] = [str(g or "") for g in ds["gold"]] if "gold" in cols else [""] * len(ds)
            bad = sorted(set(rows["side"]) - {"source", "target"})
            if bad:
                raise TaskDataError(f"{where}: side must be 'source' or 'target', got {bad[0]!r}")
            targets = {i for s, i in zip(rows["side"], rows["id"]) if s == "target"}
            missing = [g for s, g in zip(rows["side"], rows["gold"]) if s == "source" and g and g not in targets]
            if missing:
                raise TaskDataError(f"{where}: {len(missing)} gold pairs name targets that do not exist "
                                    f"(first: {missing[0]!r})")
        else:
            raise TaskDataError(f"{where}: retrieval rows need columns source, target (aligned pairs) or side, "
                                f"id, text, gold; has {sorted(cols)}")
        if labelled and not any(rows["gold"]):
            raise TaskDataError(f"{where}: no gold pairs")
        rows["part"] = [""] * len(rows["id"])
        return datasets.Dataset.from_dict(rows, features=self.features(spec))

    def texts(self, spec, ds):
        yield from ds["text"]

    def subset(self, spec, ds, n: int):
        """The first ``n`` sources of each part, their gold targets, and the first ``n`` targets."""
        keep, seen = [], {}
        for i, (side, gold, part) in enumerate(zip(ds["side"], ds["gold"], ds["part"])):
            if side == "source" and seen.get(part, 0) < n:
                seen[part] = seen.get(part, 0) + 1
                keep.append(i)
        gold = {(ds[i]["part"], ds[i]["gold"]) for i in keep}
        targets: dict[str, int] = {}
        for i, (side, ident, part) in enumerate(zip(ds["side"], ds["id"], ds["part"])):
            if side == "target" and ((part, ident) in gold or targets.get(part, 0) < n):
                targets[part] = targets.get(part, 0) + 1
                keep.append(i)
        return ds.select(sorted(keep))

    def companion_splits(self, spec) -> list[str]:
        return [spec.options.threshold_split] if spec.options.threshold_split else []

    # ---- model inputs
    def encoder(self, spec, ds, tokenizer, max_length: int, *, training: bool):
        import datasets

        def encode(batch, indices):
            enc = tokenizer(batch["text"], truncation=True, max_length=max_length,
                            return_token_type_ids=True, return_attention_mask=True)
            return {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")}

        return encode, datasets.Features(input_features())

    def model_columns(self, spec, *, training: bool, labelled: bool = True) -> list[str]:
        return ["input_ids", "token_type_ids", "attention_mask"]

    # ---- evaluation
    def forward_kwargs(self, spec) -> dict:
        return {"output_hidden_states": True}

    def layer(self, spec, num_hidden_states: int) -> int:
        depth = num_hidden_states - 1
        layer = spec.options.layer if spec.options.layer is not None else round(depth * 7 / 12)
        if not -num_hidden_states <= layer <= depth:
            raise ValueError(f"task {spec.name!r}: layer {layer} does not exist (the model has {depth} layers; "
                             "0 = embeddings)")
        return layer

    def outputs(self, spec, out, batch) -> dict:
        hidden = out.hidden_states[self.layer(spec, len(out.hidden_states))]
        return {"vector": pool(hidden.float(), batch["attention_mask"])}

    @staticmethod
    def _cosine(vectors, sides, rows) -> np.ndarray:
        v = vectors[rows]
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        src, tgt = v[[s == "source" for s in sides[rows]]], v[[s == "target" for s in sides[rows]]]
        return src @ tgt.T

    def predictions(self, spec, examples, features, outputs):
        vectors = np.stack(outputs["vector"]).astype(np.float64)
        return self._scores(vectors, examples), {}

    def _scores(self, vectors, examples) -> RetrievalScores:
        sides, parts = np.asarray(examples["side"]), np.asarray(examples["part"])
        main = np.flatnonzero(parts == "")
        tune = np.flatnonzero(parts != "")
        return RetrievalScores(self._cosine(vectors, sides, main),
                               self._cosine(vectors, sides, tune) if len(tune) else None)

    @staticmethod
    def _gold(examples, part: str) -> np.ndarray:
        rows = [r for r in zip(examples["side"], examples["id"], examples["gold"], examples["part"]) if r[3] == part]
        targets = {i: n for n, i in enumerate(i for s, i, _, _ in rows if s == "target")}
        return np.array([targets.get(g, -1) for s, _, g, _ in rows if s == "source"], dtype=np.int64)

    def num_examples(self, spec, examples) -> int:
        """Evaluated source sentences (the queries)."""
        return sum(1 for side, part in zip(examples["side"], examples["part"]) if side == "source" and not part)

    def references(self, spec, examples):
        parts = set(examples["part"]) - {""}
        return {"": self._gold(examples, ""), **{p: self._gold(examples, p) for p in parts}}

    def score(self, spec, predictions, references, *, language=None) -> dict[str, float]:
        from posenc import metrics

        if isinstance(predictions, RetrievalScores):
            scores, tune = predictions.scores, predictions.tune
            gold = references[""]
            tune_gold = next((v for k, v in references.items() if k), None)
        else:  # a plain similarity matrix and gold indices
            scores, tune, gold, tune_gold = np.asarray(predictions), None, np.asarray(references), None
        context = {"language": language}
        notes = {}
        if "bucc_f1" in spec.metrics:
            if tune is not None:
                context["threshold"] = metrics.bucc_threshold(tune, tune_gold)
                notes["threshold_tuned_on"] = spec.options.threshold_split
            else:
                context["threshold"] = metrics.bucc_threshold(scores, gold)
                notes["threshold_tuned_on"] = "evaluated"
            notes["threshold"] = context["threshold"]
        out = metrics.compute(spec.metrics, scores, gold, **context)
        return {**out, **notes}

    def baseline(self, spec, train, examples, *, language=None):
        """Random sentence vectors (seed 0): chance-level retrieval."""
        vectors = np.random.default_rng(0).standard_normal((len(examples), 64))
        return self.score(spec, self._scores(vectors, examples), self.references(spec, examples), language=language)

    def format_prediction(self, spec, prediction) -> str:
        return str(prediction)

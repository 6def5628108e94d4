"""The task-kind contract: what differs between classification, tagging, span QA, retrieval...

A kind is one module in ``tasks/kinds/`` holding a :class:`TaskKind` subclass registered in
:data:`TASK_KINDS` under the name task files give as ``kind:``. The task layer (loading,
tokenising, scoring) and the fine-tune recipe look the kind up and call these hooks; they never
test a kind's name. The life of one example::

    file row / hub row ──read──▶ canonical example (features())      load_task
        ──encoder()──▶ model features (+ helper columns)               tokenize_task
        ──collator()──▶ batch ──model (auto_model)──▶ outputs()        evaluation
        ──predictions()──▶ one prediction per example ──score()──▶ {metric: value}

Kind-specific spec keys (e.g. span QA's ``doc_stride``) are fields of the kind's ``Options``
dataclass; they are written at the top level of a task file and validated with file and line.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterable, Sequence

from posenc.registry import Registry


class TaskKind:
    """Base class of the task kinds; every hook has the behaviour most kinds want."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: False: the kind is evaluated on the pre-trained encoder as it is (retrieval), no fine-tuning
    trains: ClassVar[bool] = True
    #: the transformers Auto class that builds the model (posenc registers its heads with them)
    auto_model: ClassVar[str] = "AutoModelForSequenceClassification"
    #: kind-specific spec keys (a frozen dataclass with ``help`` metadata), or None
    Options: ClassVar[type | None] = None
    #: True: the kind makes its examples from the spec (:meth:`generate`) instead of reading files or the hub
    generates: ClassVar[bool] = False
    #: what :meth:`baseline` predicts, in a few words ("majority class", "most frequent tag"...):
    #: recorded in results.json (``baseline_name``) so a report can name the baseline it flags
    baseline_name: ClassVar[str] = "trivial baseline"

    # ---- the spec -------------------------------------------------------------------------------
    def validate(self, spec, fail: Callable[..., None]) -> None:
        """Check the spec fields this kind needs; ``fail(key, message)`` raises with file:line."""

    def refuse_fields(self, spec, fail, keys: tuple[str, ...], why: str) -> None:
        """``fail`` on the first of the spec fields ``keys`` that is set (fields this kind has no use for)."""
        for key in keys:
            if getattr(spec, key):
                fail(key, f"a {self.name} task has no {'/'.join(keys)}: {why}")

    def accepts_metric(self, metric) -> bool:
        """Whether a :class:`posenc.metrics.Metric` applies to this kind's predictions."""
        return metric.kind == self.name

    def num_labels(self, spec) -> int:
        """The width of the model's output layer (0: the head fixes it)."""
        return 0

    def model_kwargs(self, spec) -> dict:
        """Config keyword arguments of the model head (num_labels, id2label, ...)."""
        return {}

    def auto_class(self):
        """The transformers Auto class named by :attr:`auto_model`."""
        import transformers

        return getattr(transformers, self.auto_model)

    # ---- examples -------------------------------------------------------------------------------
    def features(self, spec):
        """The ``datasets.Features`` of a loaded split (the canonical example columns)."""
        raise NotImplementedError

    def from_rows(self, spec, ds, where: str, *, labelled: bool = True):
        """A dataset from a file reader or the hub, with the reader's columns, → the canonical
        columns of :meth:`features`, validated (``where`` names the file for errors). Problems
        worth knowing but not fatal are raised as :class:`TaskDataWarning`. ``labelled=False``
        for test splits without gold labels."""
        raise NotImplementedError(f"task kind {self.name!r} reads no files of this layout")

    def reader_options(self, spec, *, labelled: bool) -> dict:
        """Options this kind wants every file reader to get (``tag_set``, ``labels``...); the
        loader passes those a reader accepts."""
        return {"labels": "required" if labelled else "auto"}

    def generate(self, spec, splits: Sequence[str]):
        """``datasets.DatasetDict`` of ``splits`` with the :meth:`features` columns, made from the
        spec alone (deterministic; kinds with ``generates`` only)."""
        raise NotImplementedError(f"task kind {self.name!r} reads its examples; it does not generate them")

    def texts(self, spec, ds) -> Iterable[str]:
        """The text of a split, to train a tokenizer on."""
        raise NotImplementedError

    def subset(self, spec, ds, n: int):
        """The first ``n`` examples of ``ds`` (quick runs: ``data.max_eval_examples``)."""
        return ds.select(range(min(n, len(ds))))

    def companion_splits(self, spec) -> list[str]:
        """Splits loaded together with each language's zero-shot split (their rows are tagged
        with a ``part`` column); e.g. the BUCC split that tunes the mining threshold."""
        return []

    # ---- model inputs ---------------------------------------------------------------------------
    def encoder(self, spec, ds, tokenizer, max_length: int, *, training: bool):
        """``(fn, features)``: ``ds.map(fn, batched=True, with_indices=True, remove_columns=...)``
        (``fn(batch, indices)``) turns examples into model features of type ``features`` (one
        example may give several, e.g.
        windows of a long context). Helper columns that :meth:`predictions` needs (not fed to
        the model) may be added. ``training``: features for the loss. ``ds`` is checked first."""
        raise NotImplementedError

    def model_columns(self, spec, *, training: bool, labelled: bool = True) -> list[str]:
        """The feature columns the model takes (the collator sees only these); without labels
        (test splits) the model computes no loss."""
        return ["input_ids", "token_type_ids", "attention_mask"] + (["labels"] if labelled else [])

    def collator(self, tokenizer):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer)

    # ---- evaluation -----------------------------------------------------------------------------
    def forward_kwargs(self, spec) -> dict:
        """Extra keyword arguments of the model call at evaluation (e.g. output_hidden_states)."""
        return {}

    def predict_batch(self, spec, model, batch, extra: dict):
        """One evaluation batch through the model: a forward pass (translation also generates)."""
        return model(**batch, **extra)

    def outputs(self, spec, out, batch) -> dict[str, Any]:
        """The per-row tensors ``[batch, ...]`` kept from one evaluation batch (gathered across
        processes; a second dimension may differ between batches)."""
        raise NotImplementedError

    def predictions(self, spec, examples, features, outputs: dict[str, list]) -> tuple[Sequence, dict]:
        """``(predictions, notes)``: one prediction per example from the per-feature outputs
        (lists in feature order), and counts worth recording with the metrics (may be empty)."""
        raise NotImplementedError

    def num_examples(self, spec, examples) -> int:
        """How many examples a set scores (``eval_examples``); retrieval counts queries."""
        return len(examples)

    def references(self, spec, examples) -> Sequence:
        """The gold answers of ``examples`` in the form :meth:`score` compares predictions with."""
        raise NotImplementedError

    def to_predictions(self, spec, outputs) -> Sequence:
        """Raw model outputs a user holds (logits, ids, strings) → predictions; default: as given."""
        return outputs

    def score(self, spec, predictions, references, *, language: str | None = None) -> dict[str, float]:
        """The spec's metrics (fractions), plus ``combined`` when there are several."""
        from posenc import metrics

        return metrics.compute(spec.metrics, predictions, references, language=language)

    def baseline(self, spec, train, examples, *, language: str | None = None) -> dict[str, float] | None:
        """Metrics of the trivial predictor (majority class, most frequent tag, random retrieval...)
        on ``examples``; ``train`` is the training split (None for tasks without one)."""
        return None

    def format_prediction(self, spec, prediction) -> str:
        """One prediction as written in a prediction/submission file."""
        return str(prediction)

    def report_columns(self, spec) -> list[str]:
        """Metric names a report shows for this task, main metric first."""
        main = [spec.main_metric] if spec.main_metric != "combined" else []
        return main + [m for m in spec.metrics if m not in main]

    def __repr__(self) -> str:
        return f"<task kind {self.name!r}>"


TASK_KINDS: Registry[TaskKind] = Registry("task kind")


def register_kind(cls: type[TaskKind]) -> type[TaskKind]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``."""
    TASK_KINDS.register(cls.name, cls())
    return cls


def get_kind(name: str) -> TaskKind:
    """The registered kind ``name``; unknown names raise ``UnknownNameError`` with close matches."""
    return TASK_KINDS.get(name)

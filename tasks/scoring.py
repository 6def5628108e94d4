"""Task metrics: predictions and references → ``{metric: fraction}`` (see posenc.metrics), and the
trivial baseline each kind defines. What a prediction is depends on the task's kind:
classification logits ``[n, classes]`` or class ids, regression floats, tagging one tag list per
sentence, span QA one answer string per question, retrieval a similarity matrix."""

from __future__ import annotations

from .registry import get_task
from .spec import TaskSpec


def to_predictions(spec: TaskSpec | str, outputs):
    """Model outputs → predictions as the kind scores them (classification: argmax of logits
    ``[n, num_labels]``; regression ``[n]``/``[n, 1]`` → floats; 1-D class ids pass through)."""
    spec = get_task(spec)
    return spec.task_kind.to_predictions(spec, outputs)


def compute_metrics(spec: TaskSpec | str, predictions, references, *, language: str | None = None) -> dict[str, float]:
    """The spec's metrics (fractions) and, for several, their mean as ``"combined"``.

    ``references``: classification/regression, the dataset's ``label``/``labels`` column
    (unlabelled −1 references are an error); tagging, tag lists; span QA, lists of gold answers.
    ``language`` selects the answer normalisation of MLQA's metrics.
    """
    spec = get_task(spec)
    kind = spec.task_kind
    refs = references if not hasattr(references, "column_names") else list(references)
    return kind.score(spec, kind.to_predictions(spec, predictions), refs, language=language)


def majority_baseline(spec: TaskSpec | str, train_labels, eval_labels) -> dict[str, float]:
    """Metrics of always predicting the most frequent training class (regression: the mean
    training score, whose correlations are 0); the floor a fine-tuned model must beat. For any
    kind, :func:`trivial_baseline` takes the loaded splits."""
    spec = get_task(spec)
    return spec.task_kind.baseline(spec, {"label": list(train_labels)}, {"label": list(eval_labels)})


def trivial_baseline(spec: TaskSpec | str, train, examples, *, language: str | None = None) -> dict[str, float] | None:
    """The kind's trivial predictor (majority class, most frequent tag, first words of the
    context, random retrieval) scored on ``examples``; ``train`` is the training split or None."""
    spec = get_task(spec)
    return spec.task_kind.baseline(spec, train, examples, language=language)

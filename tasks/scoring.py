"""Task metrics: predictions and references → ``{metric: fraction}`` (see posenc.metrics)."""

from __future__ import annotations

import numpy as np

from posenc import metrics as _metrics

from .registry import get_task
from .spec import TaskSpec


def to_predictions(spec: TaskSpec, outputs) -> np.ndarray:
    """Model outputs → predictions: logits ``[n, num_labels]`` → class ids (argmax); regression
    outputs ``[n]`` or ``[n, 1]`` → floats. 1-D class ids pass through."""
    out = np.asarray(outputs)
    if spec.kind == "regression":
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1:
            raise ValueError(f"regression outputs must be [n] or [n, 1], got shape {out.shape}")
        return out.astype(np.float64)
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


def compute_metrics(spec: TaskSpec | str, predictions, references) -> dict[str, float]:
    """The spec's metrics (fractions) and, for several, their mean as ``"combined"``.

    ``predictions``: class ids, logits ``[n, num_labels]`` or regression floats. ``references``:
    the dataset's ``label``/``labels`` column; unlabelled (-1) references are an error.
    """
    spec = get_task(spec)
    preds = to_predictions(spec, predictions)
    refs = np.asarray(list(references) if not hasattr(references, "__array__") else references)
    if spec.kind == "classification":
        if np.any(refs < 0):
            raise ValueError(f"task {spec.name!r}: references contain -1 (an unlabelled test split?)")
        bad = preds[(preds < 0) | (preds >= spec.num_labels)]
        if len(bad):
            raise ValueError(f"task {spec.name!r}: prediction {bad[0]} is not a class id 0..{spec.num_labels - 1}")
    return _metrics.compute(spec.metrics, preds, refs)


def majority_baseline(spec: TaskSpec | str, train_labels, eval_labels) -> dict[str, float]:
    """Metrics of always predicting the most frequent training class (regression: the mean
    training score, whose correlations are 0); the floor a fine-tuned model must beat."""
    spec = get_task(spec)
    train = np.asarray(list(train_labels))
    ref = np.asarray(list(eval_labels))
    if spec.kind == "regression":
        preds = np.full(len(ref), float(train.mean()))
    else:
        counts = np.bincount(train[train >= 0], minlength=spec.num_labels)
        preds = np.full(len(ref), int(counts.argmax()))
    return compute_metrics(spec, preds, ref)

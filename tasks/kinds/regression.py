"""Regression: one score per text or text pair (GLUE STS-B).

Like classification, but ``label`` is a float32 score (−1.0 in unlabelled splits), the model has
one output (MSE loss) and the prediction is that output. Trivial baseline: the mean training
score (its correlations are 0). ``label_range: [lo, hi]`` clips written predictions to the
task's scale (STS-B: 0..5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import register_kind
from .classification import Classification, finite_float


@dataclass(frozen=True)
class RegressionOptions:
    label_range: list[float] | None = field(
        default=None, metadata={"help": "[low, high]: the scale predictions are clipped to in submission files"})


@register_kind
class Regression(Classification):
    name = "regression"
    baseline_name = "mean training score"
    description = "one score per text or text pair (GLUE STS-B); Pearson, Spearman"
    label_dtype = "float32"
    missing_label = -1.0
    Options = RegressionOptions

    def validate_labels(self, spec, fail) -> None:
        if spec.label_names or spec.file_labels:
            fail("label_names" if spec.label_names else "file_labels",
                 "a regression task has no label_names/file_labels")
        rng = spec.options.label_range
        if rng is not None and (len(rng) != 2 or rng[0] >= rng[1]):
            fail("label_range", f"label_range must be [low, high] with low < high, got {rng}")

    def num_labels(self, spec) -> int:
        return 1

    def model_kwargs(self, spec) -> dict:
        return {"num_labels": 1, "problem_type": "regression"}

    def label_feature(self, spec):
        import datasets

        return datasets.Value("float32")

    def reader_options(self, spec, *, labelled: bool) -> dict:
        return {"labels": "required" if labelled else "auto"}

    def parse_label(self, spec, value, where: str, column) -> float:
        return finite_float(value, where, column)

    def to_predictions(self, spec, outputs) -> np.ndarray:
        """Outputs ``[n]`` or ``[n, 1]`` → floats."""
        out = np.asarray(outputs)
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1:
            raise ValueError(f"regression outputs must be [n] or [n, 1], got shape {out.shape}")
        return out.astype(np.float64)

    def score(self, spec, predictions, references, *, language=None) -> dict[str, float]:
        return super(Classification, self).score(spec, predictions, references, language=language)

    def baseline(self, spec, train, examples, *, language=None):
        """Always the mean training score (correlations 0)."""
        if train is None:
            return None
        refs = self.references(spec, examples)
        mean = float(np.mean(np.asarray(list(train["label"]), dtype=np.float64)))
        return self.score(spec, np.full(len(refs), mean), refs, language=language)

    def format_prediction(self, spec, prediction) -> str:
        value = float(prediction)
        if spec.options.label_range is not None:
            value = float(np.clip(value, *spec.options.label_range))
        return f"{value:.3f}"

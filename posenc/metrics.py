"""Evaluation metrics (scikit-learn / scipy) and the GLUE aggregate scores.

Convention: every metric returns a plain ``float`` **fraction** (accuracy 0.912, not 91.2;
correlations in [-1, 1]). Multiply by 100 only for display (:func:`as_percent`). The aggregate
helpers :func:`glue_score` and :func:`paper_average` are plain means, so they return the scale
they are given: fractions in, fraction out; the paper's percentages in, a percentage out.

Metrics live in ``METRICS`` (a :class:`~posenc.registry.Registry`); each entry is a
:class:`Metric` whose ``fn(predictions, references) -> float`` takes class ids (classification)
or floats (regression) as 1-D arrays. ``f1`` is binary F1 of class 1 (MRPC "equivalent", QQP
"duplicate"), as GLUE defines it. A correlation of a constant vector is undefined; posenc scores
it 0.0 (no correlation) instead of NaN so best-checkpoint selection keeps working.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Literal, Mapping, Sequence

import numpy as np

from .registry import Registry, UnknownNameError, did_you_mean


@dataclass(frozen=True)
class Metric:
    """A named metric: ``fn(predictions, references) -> float``, plus what it applies to."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    kind: Literal["classification", "regression"]
    greater_is_better: bool = True
    help: str = ""


METRICS: Registry[Metric] = Registry("metric")


def _metric(name: str, kind: Literal["classification", "regression"], help: str):
    def deco(fn):
        METRICS.register(name, Metric(name, fn, kind, True, help))
        return fn

    return deco


@_metric("accuracy", "classification", "fraction of exact matches")
def accuracy(predictions, references) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(references, predictions))


@_metric("f1", "classification", "binary F1 of class 1 (GLUE MRPC/QQP)")
def f1(predictions, references) -> float:
    from sklearn.metrics import f1_score

    classes = set(np.unique(references).tolist()) | set(np.unique(predictions).tolist())
    if not classes <= {0, 1}:
        raise ValueError(f"f1 is binary F1 of class 1; got classes {sorted(classes)}. Use 'macro_f1' for more classes")
    return float(f1_score(references, predictions, pos_label=1, average="binary", zero_division=0.0))


@_metric("macro_f1", "classification", "unweighted mean of per-class F1")
def macro_f1(predictions, references) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(references, predictions, average="macro", zero_division=0.0))


@_metric("mcc", "classification", "Matthews correlation coefficient (GLUE CoLA), in [-1, 1]")
def mcc(predictions, references) -> float:
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(references, predictions))


def _correlation(kind: str, predictions, references) -> float:
    from scipy import stats

    p = np.asarray(predictions, dtype=np.float64)
    r = np.asarray(references, dtype=np.float64)
    if len(p) < 2 or np.all(p == p[0]) or np.all(r == r[0]):
        return 0.0  # undefined for a constant vector: score it as "no correlation"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = (stats.pearsonr if kind == "pearson" else stats.spearmanr)(p, r)[0]
    return 0.0 if math.isnan(value) else float(value)


@_metric("pearson", "regression", "Pearson correlation (GLUE STS-B), in [-1, 1]")
def pearson(predictions, references) -> float:
    return _correlation("pearson", predictions, references)


@_metric("spearman", "regression", "Spearman rank correlation (GLUE STS-B), in [-1, 1]")
def spearman(predictions, references) -> float:
    return _correlation("spearman", predictions, references)


def get_metric(name: str) -> Metric:
    return METRICS.get(name)


def list_metrics(pattern: str = "*") -> list[str]:
    return METRICS.list(pattern)


def compute(names: Sequence[str], predictions, references) -> dict[str, float]:
    """``{name: value}`` for each metric name; adds ``"combined"`` (their mean) when there are
    several, as GLUE does for MRPC/QQP (F1, accuracy) and STS-B (Pearson, Spearman)."""
    p = np.asarray(predictions)
    r = np.asarray(references)
    if p.shape != r.shape or p.ndim != 1:
        raise ValueError(f"predictions and references must be 1-D and the same length; got {p.shape} and {r.shape}")
    if len(r) == 0:
        raise ValueError("cannot compute metrics on zero examples")
    out = {n: get_metric(n).fn(p, r) for n in names}
    if len(out) > 1:
        out["combined"] = combined(out, names)
    return out


def combined(values: Mapping[str, float], names: Sequence[str] | None = None) -> float:
    """Unweighted mean of ``values[n]`` for ``n`` in ``names`` (default: all entries)."""
    keys = list(names) if names is not None else [k for k in values if k != "combined"]
    return float(sum(values[k] for k in keys) / len(keys))


def as_percent(value: float, digits: int = 1) -> float:
    """A stored fraction as the percentage shown in tables (0.8476 → 84.8)."""
    return round(100.0 * value, digits)


# ---- GLUE aggregates -------------------------------------------------------------------------

# Per GLUE task, the metrics averaged into that task's number on the GLUE leaderboard.
GLUE_TASK_METRICS: dict[str, tuple[str, ...]] = {
    "cola": ("mcc",),
    "sst2": ("accuracy",),
    "mrpc": ("f1", "accuracy"),
    "stsb": ("pearson", "spearman"),
    "qqp": ("f1", "accuracy"),
    "mnli": ("accuracy",),  # mean of the matched and mismatched numbers, see glue_score
    "qnli": ("accuracy",),
    "rte": ("accuracy",),
    "wnli": ("accuracy",),
}

_ALIASES = {
    "cola": "cola", "sst2": "sst2", "mrpc": "mrpc", "stsb": "stsb", "qqp": "qqp", "qnli": "qnli",
    "rte": "rte", "wnli": "wnli", "mnli": "mnli",
    "mnlim": "mnli_matched", "mnlimatched": "mnli_matched",
    "mnlimm": "mnli_mismatched", "mnlimismatched": "mnli_mismatched",
}


def _canonical(name: str) -> str:
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    if key not in _ALIASES:
        raise UnknownNameError(
            f"unknown GLUE task {name!r}.{did_you_mean(key, list(_ALIASES))} "
            "Known: CoLA, SST-2, MRPC, STS-B, QQP, MNLI-m, MNLI-mm, QNLI, RTE, WNLI"
        )
    return _ALIASES[key]


def _number(task: str, value, metric_names: Sequence[str]) -> float:
    """A task's single number: ``value`` itself, or the mean of ``metric_names`` in a dict."""
    if isinstance(value, Mapping):
        missing = [m for m in metric_names if m not in value]
        if missing:
            raise KeyError(f"{task}: needs metric(s) {missing}; got {sorted(value)}")
        return combined(value, metric_names)
    return float(value)


def _normalise(results: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in results.items():
        key = _canonical(name)
        if key in out:
            raise ValueError(f"GLUE task {name!r} given twice (as {key!r})")
        out[key] = value
    return out


def glue_score(results: Mapping[str, object]) -> float:
    """The GLUE leaderboard score: the mean over the nine tasks of one number per task.

    Per task (GLUE paper, Wang et al. 2019 §4; the leaderboard "Score" column): CoLA Matthews
    corr.; SST-2 accuracy; MRPC and QQP mean(F1, accuracy); STS-B mean(Pearson, Spearman);
    MNLI mean(matched accuracy, mismatched accuracy); QNLI, RTE, WNLI accuracy. AX (the
    diagnostic set) is not part of the score.

    ``results`` maps a task name (``"CoLA"``, ``"sst2"``, ``"STS-B"``, ``"mnli_matched"``,
    ``"MNLI-mm"``, ...) to either its metric dict (as returned by ``compute_metrics``) or an
    already reduced number. MNLI is given either as ``mnli`` (one number) or as both
    ``mnli_matched`` and ``mnli_mismatched``.
    """
    res = _normalise(results)
    if "mnli" not in res and ("mnli_matched" in res or "mnli_mismatched" in res):
        if not ("mnli_matched" in res and "mnli_mismatched" in res):
            raise KeyError("MNLI needs both mnli_matched and mnli_mismatched (or one 'mnli' number)")
        res["mnli"] = (_number("mnli_matched", res.pop("mnli_matched"), ["accuracy"])
                       + _number("mnli_mismatched", res.pop("mnli_mismatched"), ["accuracy"])) / 2
    missing = [t for t in GLUE_TASK_METRICS if t not in res]
    extra = [t for t in res if t not in GLUE_TASK_METRICS]
    if missing or extra:
        raise KeyError(f"glue_score needs exactly the nine GLUE tasks; missing {missing}, unexpected {extra}")
    return float(np.mean([_number(t, res[t], GLUE_TASK_METRICS[t]) for t in GLUE_TASK_METRICS]))


# The DIET paper's Table 2 columns, in order, and the number taken per column.
PAPER_COLUMNS: dict[str, str] = {
    "mnli_matched": "accuracy",
    "mnli_mismatched": "accuracy",
    "qqp": "accuracy",
    "qnli": "accuracy",
    "sst2": "accuracy",
    "cola": "mcc",
    "stsb": "spearman",
}


def paper_average(results: Mapping[str, object], *, qqp_metric: str = "accuracy",
                  stsb_metric: str = "spearman") -> float:
    """The "Avg" column of the DIET paper's GLUE tables (Chen et al. 2021, Table 2/8/9).

    The plain mean of 7 numbers, MNLI's two counted separately: MNLI-m accuracy, MNLI-mm
    accuracy, QQP accuracy, QNLI accuracy, SST-2 accuracy, CoLA Matthews corr., STS-B Spearman.
    The paper does not state its QQP and STS-B metrics; accuracy fits its QQP magnitudes (91.1
    for BERT-base; F1 would be about 88) and Spearman is what Devlin et al. report for STS-B.
    Override with ``qqp_metric`` / ``stsb_metric``. MRPC, RTE and WNLI are not in the average.

    ``results`` as for :func:`glue_score` (metric dicts or single numbers; extra tasks ignored).
    """
    res = _normalise(results)
    which = dict(PAPER_COLUMNS, qqp=qqp_metric, stsb=stsb_metric)
    missing = [t for t in which if t not in res]
    if missing:
        raise KeyError(f"paper_average needs {list(which)}; missing {missing}")
    return float(np.mean([_number(t, res[t], [which[t]]) for t in which]))

"""Evaluation metrics (scikit-learn / scipy / seqeval) and the GLUE aggregate scores.

Convention: every metric returns a plain ``float`` **fraction** (accuracy 0.912, not 91.2;
correlations in [-1, 1]; SQuAD F1 0.664, not 66.4). Multiply by 100 only for display
(:func:`as_percent`). The aggregate helpers :func:`glue_score` and :func:`paper_average` are plain
means, so they return the scale they are given.

Metrics live in ``METRICS`` (a :class:`~posenc.registry.Registry`); each entry is a
:class:`Metric` whose ``fn(predictions, references, **context) -> float`` takes what its task
kind produces:

- classification / regression: 1-D arrays of class ids or floats. ``f1`` is binary F1 of class 1
  (MRPC "equivalent", QQP "duplicate"), as GLUE defines it. A correlation of a constant vector is
  undefined; posenc scores it 0.0 (no correlation) instead of NaN so checkpoint selection works.
- tagging: one list of tag strings per sentence (one tag per word), predictions and references
  (the tagging kind also applies the classification metrics, e.g. ``accuracy``, to all words).
- span_qa: one predicted answer string per question; references: the list of gold answers.
- retrieval: a similarity matrix ``[n_sources, n_targets]``; references: the gold target index
  of each source (−1: none).
"""

from __future__ import annotations

import math
import re
import string
import sys
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from .registry import Registry, UnknownNameError, did_you_mean


@dataclass(frozen=True)
class Metric:
    """A named metric: ``fn(predictions, references, **context) -> float``.

    ``kind`` is the task kind whose predictions it takes (``posenc list kinds``); ``context`` names
    the keyword arguments it needs besides predictions and references (e.g. ``language``)."""

    name: str
    fn: Callable[..., float]
    kind: str
    greater_is_better: bool = True
    help: str = ""
    context: tuple[str, ...] = ()
    vector: bool = True  # predictions and references are 1-D numeric arrays of the same shape


METRICS: Registry[Metric] = Registry("metric")


def _metric(name: str, kind: str, help: str, context: tuple[str, ...] = (), vector: bool = True):
    def deco(fn):
        METRICS.register(name, Metric(name, fn, kind, True, help, context, vector))
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


# ---- tagging (one tag per word) ---------------------------------------------------------------

def _check_sentences(predictions, references) -> None:
    for i, (p, r) in enumerate(zip(predictions, references)):
        if len(p) != len(r):
            raise ValueError(f"sentence {i}: {len(p)} predicted tags for {len(r)} words")


@_metric("entity_f1", "tagging", "entity-level micro F1 of BIO spans, by seqeval (PAN-X / CoNLL)", vector=False)
def entity_f1(predictions, references) -> float:
    """An entity counts only when its type and both boundaries match (conlleval, as seqeval's
    default mode); a stray ``I-X`` starts an entity as in conlleval."""
    from seqeval.metrics import f1_score

    _check_sentences(predictions, references)
    return float(f1_score([list(r) for r in references], [list(p) for p in predictions], zero_division=0))


# ---- extractive QA (SQuAD v1.1, MLQA) --------------------------------------------------------

def squad_normalize(text: str) -> str:
    """SQuAD v1.1's answer normalisation (Rajpurkar et al. 2016, official evaluate-v1.1.py):
    lower case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_ASCII_PUNCT = frozenset(string.punctuation)
# MLQA's evaluation script (Lewis et al. 2020, mlqa_evaluation_v1.py) removes every Unicode
# punctuation character (category P*), the articles of the context language, and segments Chinese
# into characters. No maintained package ships it offline, so its rules are restated here.
_UNICODE_PUNCT = frozenset(chr(i) for i in range(sys.maxunicode + 1)
                           if unicodedata.category(chr(i)).startswith("P")) | _ASCII_PUNCT
_MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": "\\sال^|ال",  # as in the script: every occurrence of the article al- is removed
    "hi": None, "zh": None,  # no articles
}
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def _mixed_segmentation(text: str) -> list[str]:
    """Chinese characters and punctuation become single tokens; other runs split on whitespace."""
    out, run = [], ""
    for ch in text:
        if _CJK.match(ch) or ch in _UNICODE_PUNCT:
            out += run.split()
            run = ""
            out.append(ch)
        else:
            run += ch
    return out + run.split()


def mlqa_normalize(text: str, language: str) -> str:
    """MLQA's per-language normalisation: lower, drop Unicode punctuation, drop the language's
    articles, then whitespace tokens (Chinese: characters). Languages: en es hi vi de ar zh."""
    if language not in _MLQA_ARTICLES:
        raise ValueError(f"MLQA normalisation is defined for {', '.join(_MLQA_ARTICLES)}; got {language!r}. "
                         "Use the squad_* metrics for other languages (XQuAD and TyDiQA do)")
    text = "".join(ch for ch in text.lower() if ch not in _UNICODE_PUNCT)
    if _MLQA_ARTICLES[language]:
        text = re.sub(_MLQA_ARTICLES[language], " ", text)
    tokens = _mixed_segmentation(text) if language == "zh" else text.split()
    return " ".join(t for t in tokens if t.strip())


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = prediction.split(), gold.split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _qa_score(score, normalize, predictions, references) -> float:
    total = 0.0
    for i, (pred, golds) in enumerate(zip(predictions, references)):
        if isinstance(golds, str) or not len(golds):
            raise ValueError(f"question {i}: references must be a non-empty list of gold answers, got {golds!r}")
        total += max(score(normalize(pred), normalize(g)) for g in golds)
    return total / len(references)


@_metric("squad_f1", "span_qa", "SQuAD v1.1 token F1, max over gold answers (XQuAD, TyDiQA)", vector=False)
def squad_f1(predictions, references) -> float:
    return _qa_score(_token_f1, squad_normalize, predictions, references)


@_metric("squad_exact_match", "span_qa", "SQuAD v1.1 exact match after normalisation", vector=False)
def squad_exact_match(predictions, references) -> float:
    return _qa_score(lambda p, g: float(p == g), squad_normalize, predictions, references)


@_metric("mlqa_f1", "span_qa", "token F1 with MLQA's per-language normalisation", ("language",), vector=False)
def mlqa_f1(predictions, references, language: str) -> float:
    return _qa_score(_token_f1, lambda t: mlqa_normalize(t, language), predictions, references)


@_metric("mlqa_exact_match", "span_qa", "exact match with MLQA's per-language normalisation", ("language",),
         vector=False)
def mlqa_exact_match(predictions, references, language: str) -> float:
    return _qa_score(lambda p, g: float(p == g), lambda t: mlqa_normalize(t, language), predictions, references)


# ---- retrieval (Tatoeba, BUCC) ---------------------------------------------------------------

def _gold_index(scores, references) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    g = np.asarray(references, dtype=np.int64)
    if s.ndim != 2 or s.shape[0] != len(g):
        raise ValueError(f"retrieval scores must be [n_sources, n_targets] with one gold index per source; "
                         f"got {s.shape} and {g.shape}")
    if np.any(g >= s.shape[1]):
        raise ValueError(f"gold target index {int(g.max())} is out of range 0..{s.shape[1] - 1}")
    return s, g


@_metric("precision_at_1", "retrieval", "top-1 accuracy of the nearest target (XTREME's Tatoeba accuracy)",
         vector=False)
def precision_at_1(predictions, references) -> float:
    """Fraction of sources whose most similar target is their gold translation (sources without a
    gold target, −1, are not counted)."""
    s, g = _gold_index(predictions, references)
    keep = g >= 0
    if not keep.any():
        raise ValueError("precision_at_1: no source has a gold target")
    return float(np.mean(s[keep].argmax(axis=1) == g[keep]))


def margin_candidates(scores, k: int = 4) -> list[tuple[int, int, float]]:
    """Candidate pairs ``(source, target, score)`` of margin-based bitext mining, best first.

    ``scores`` are cosine similarities ``[n_src, n_tgt]``. The ratio margin of Artetxe & Schwenk
    (2019, §3.1), as XTREME's BUCC evaluation uses it with k = 4: ``margin(x, y) = cos(x, y) /
    ((mean_k cos(x, NN_k(y)) + mean_k cos(y, NN_k(x))) / 2)``. Each source proposes its best
    target among its k nearest, each target its best source ("max" retrieval); pairs are accepted
    in decreasing score while neither side is taken yet.
    """
    s = np.asarray(scores, dtype=np.float64)
    kx, ky = min(k, s.shape[1]), min(k, s.shape[0])
    mean_x = -np.sort(-s, axis=1)[:, :kx].mean(axis=1)  # [n_src] mean cosine of each source's k nearest
    mean_y = -np.sort(-s, axis=0)[:ky, :].mean(axis=0)  # [n_tgt]
    margin = s / ((mean_x[:, None] + mean_y[None, :]) / 2)
    fwd_nn = np.argsort(-s, axis=1)[:, :kx]  # candidates: the k nearest by cosine
    bwd_nn = np.argsort(-s, axis=0)[:ky, :]
    rows = np.arange(s.shape[0])
    fwd = fwd_nn[rows, margin[rows[:, None], fwd_nn].argmax(axis=1)]
    cols = np.arange(s.shape[1])
    bwd = bwd_nn[margin[bwd_nn, cols[None, :]].argmax(axis=0), cols]
    pairs = [(int(i), int(fwd[i]), float(margin[i, fwd[i]])) for i in rows]
    pairs += [(int(bwd[j]), int(j), float(margin[bwd[j], j])) for j in cols]
    pairs.sort(key=lambda p: -p[2])
    seen_src, seen_tgt, out = set(), set(), []
    for i, j, score in pairs:
        if i not in seen_src and j not in seen_tgt:
            seen_src.add(i)
            seen_tgt.add(j)
            out.append((i, j, score))
    return out


def _gold_pairs(references) -> set[tuple[int, int]]:
    return {(i, int(t)) for i, t in enumerate(references) if t >= 0}


def bucc_threshold(scores, references, k: int = 4) -> float:
    """The margin threshold that maximises F1 against the gold pairs (XTREME's ``bucc_optimize``:
    the midpoint between the last accepted candidate and the next one)."""
    cands = margin_candidates(scores, k)
    gold = _gold_pairs(references)
    if not gold:
        raise ValueError("bucc_threshold: no gold pairs")
    best, threshold, correct = 0.0, cands[0][2] + 1.0 if cands else 0.0, 0
    for n, (i, j, score) in enumerate(cands, start=1):
        correct += (i, j) in gold
        if correct:
            p, r = correct / n, correct / len(gold)
            f1 = 2 * p * r / (p + r)
            if f1 > best:
                best = f1
                threshold = (score + cands[n][2]) / 2 if n < len(cands) else score
    return threshold


@_metric("bucc_f1", "retrieval", "F1 of margin-mined pairs at a threshold (BUCC, as XTREME)", ("threshold",),
         vector=False)
def bucc_f1(predictions, references, threshold: float | None) -> float:
    """F1 of the candidate pairs (see :func:`margin_candidates`) whose score is ≥ ``threshold``.
    ``threshold=None`` picks the F1-optimal one on these very pairs (an upper bound; XTREME picks
    it on the BUCC sample/dev set and applies it to the test set)."""
    s, g = _gold_index(predictions, references)
    gold = _gold_pairs(g)
    if not gold:
        raise ValueError("bucc_f1: no gold pairs")
    if threshold is None:
        threshold = bucc_threshold(s, g)
    mined = [(i, j) for i, j, score in margin_candidates(s) if score >= threshold]
    correct = len(gold.intersection(mined))
    if correct == 0:
        return 0.0
    p, r = correct / len(mined), correct / len(gold)
    return 2 * p * r / (p + r)


def get_metric(name: str) -> Metric:
    return METRICS.get(name)


def list_metrics(pattern: str = "*") -> list[str]:
    return METRICS.list(pattern)


def compute(names: Sequence[str], predictions, references, **context) -> dict[str, float]:
    """``{name: value}`` for each metric name; adds ``"combined"`` (their mean) when there are
    several, as GLUE does for MRPC/QQP (F1, accuracy) and STS-B (Pearson, Spearman).

    ``context`` holds what some metrics need besides predictions and references (``language``
    for MLQA's normalisation, ``threshold`` for BUCC); each metric receives the keys it declares."""
    metrics = [get_metric(n) for n in names]
    if all(m.vector for m in metrics):
        predictions, references = np.asarray(predictions), np.asarray(references)
        if predictions.shape != references.shape or predictions.ndim != 1:
            raise ValueError(f"predictions and references must be 1-D and the same length; got "
                             f"{predictions.shape} and {references.shape}")
    elif len(predictions) != len(references):
        raise ValueError(f"predictions and references must be the same length; got {len(predictions)} "
                         f"and {len(references)}")
    if len(references) == 0:
        raise ValueError("cannot compute metrics on zero examples")
    out = {}
    for m in metrics:
        missing = [k for k in m.context if k not in context]
        if missing:
            raise ValueError(f"metric {m.name!r} needs {', '.join(missing)} (pass it to compute)")
        out[m.name] = m.fn(predictions, references, **{k: context[k] for k in m.context})
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

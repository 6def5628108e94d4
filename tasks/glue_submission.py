"""GLUE leaderboard submission files: ``<Task>.tsv`` with ``index<TAB>prediction`` rows.

Each prediction is written as its task kind formats it: classification as the label strings the
GLUE files use (``"0"``/``"1"`` for CoLA, SST-2, MRPC, QQP, WNLI; ``entailment``/... for MNLI,
QNLI, RTE and AX); regression (STS-B) as floats clipped to the task's ``label_range`` (0..5). MNLI needs two files (``MNLI-m.tsv``, ``MNLI-mm.tsv``): pass
``split=`` or a ``{split: predictions}`` mapping. The leaderboard wants all files zipped together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .registry import get_task
from .scoring import to_predictions
from .spec import TaskSpec


def write_glue_submission(task: TaskSpec | str, predictions, out_dir: str | Path, *, split: str | None = None,
                          index: Sequence[int] | None = None, check_rows: bool = True) -> list[Path]:
    """Write the submission file(s) of ``task`` into ``out_dir``; returns the paths written.

    ``predictions``: class ids / logits / floats for one test split, or ``{split: predictions}``.
    ``index`` defaults to 0..n-1 (the test files' index column). With ``check_rows`` the row count
    must match the official test-set size the leaderboard expects.
    """
    spec = get_task(task)
    if not spec.submission:
        raise ValueError(f"task {spec.name!r} has no leaderboard submission file")
    if isinstance(predictions, Mapping):
        if split is not None or index is not None:
            raise ValueError("pass either {split: predictions} or split=/index=, not both")
        return [p for s, preds in predictions.items() for p in
                write_glue_submission(spec, preds, out_dir, split=s, check_rows=check_rows)]
    if split is None:
        if len(spec.submission) != 1:
            raise ValueError(f"task {spec.name!r} has several test splits {list(spec.submission)}; pass split=")
        split = next(iter(spec.submission))
    if split not in spec.submission:
        raise ValueError(f"task {spec.name!r} has no submission for split {split!r}; "
                         f"splits: {list(spec.submission)}")
    target = spec.submission[split]
    preds = to_predictions(spec, predictions)
    if check_rows and target.rows is not None and len(preds) != target.rows:
        raise ValueError(f"{target.file}: {len(preds)} predictions, but the GLUE test set {spec.name}/{split} "
                         f"has {target.rows} rows (pass check_rows=False for a partial file)")
    idx = list(range(len(preds))) if index is None else [int(i) for i in index]
    if len(idx) != len(preds):
        raise ValueError(f"index has {len(idx)} entries for {len(preds)} predictions")
    values = [spec.task_kind.format_prediction(spec, p) for p in preds]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / target.file
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("index\tprediction\n")
        f.writelines(f"{i}\t{v}\n" for i, v in zip(idx, values))
    return [path]

"""The paper's Table 2 layout (Model | Position | Segment | MNLI (m/mm) | QQP | QNLI | SST2 | CoLA |
STS-B | Avg), filled from this report's medians, plus the paper's own rows for reference."""

from __future__ import annotations

import json

import pandas as pd

from .averages import PAPER_COLUMNS, norm_task, paper_average, paper_values, task_metrics

# DIET paper Table 2 (GLUE dev, BERT_BASE, median of 5 runs); numbers exactly as printed.
PAPER_TABLE2 = [
    ("Devlin et al. (2018)", "input", "input", "85.8 / 85.9", 91.1, 89.9, 93.2, 58.7, 89.0, 84.8),
    ("Shaw et al. (2018)", "per-head", "input", "86.3 / 86.0", 91.2, 90.5, 93.2, 59.8, 89.3, 85.2),
    ("Raffel et al. (2020)", "per-head", "input", "86.4 / 86.2", 91.2, 90.1, 93.0, 59.6, 90.1, 85.2),
    ("Ke et al. (2020)", "per-head", "input", "86.1 / 86.2", 91.2, 90.3, 93.1, 59.6, 89.6, 85.2),
    ("DIET-REL", "per-head", "input", "86.0 / 86.1", 91.0, 89.8, 92.8, 59.6, 89.0, 84.9),
    ("DIET-REL", "per-head", "per-head", "86.3 / 86.3", 91.0, 90.5, 92.9, 60.3, 89.3, 85.2),
    ("DIET-ABS (d_p=128, share)", "per-head", "per-head", "86.4 / 86.4", 90.8, 89.5, 93.0, 59.8, 90.2, 85.2),
    ("Wang et al. (2020) [Linformer] (k=32)", "input", "input", "82.3 / 82.6", 90.2, 86.3, 91.4, 53.9, 87.6, 82.0),
    ("DIET-ABS^LIN (k=32)", "per-head", "input", "83.0 / 83.1", 90.6, 86.7, 92.0, 55.7, 87.6, 82.7),
]
TABLE2_COLUMNS = ["Model", "Position", "Segment", "MNLI (m/mm)", "QQP", "QNLI", "SST2", "CoLA", "STS-B"]
_TASK_COLUMNS = {"qqp": "QQP", "qnli": "QNLI", "sst2": "SST2", "cola": "CoLA", "stsb": "STS-B"}
_EXTRA_NAMES = {"mrpc": "MRPC", "rte": "RTE", "wnli": "WNLI", "ax": "AX"}  # GLUE tasks outside the paper's 7


def _encoding_class(slot: str, kind: str):
    """The registered encoding class of ``slot``, or None for a name this install does not know."""
    from ..encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS

    registry = POSITION_ENCODINGS if kind == "position" else SEGMENT_ENCODINGS
    return registry.get(slot) if slot in registry.names() else None


def paper_table_df() -> pd.DataFrame:
    """The paper's Table 2 rows (reference only; BERT_BASE scale)."""
    return pd.DataFrame(PAPER_TABLE2, columns=TABLE2_COLUMNS + ["Avg"])


def model_name(position: str, options_json: str | None) -> str:
    """Paper-style model name from the encoding's ``paper_label``, e.g. ``DIET-ABS (d_p=128, share)``;
    unknown names pass through."""
    cls = _encoding_class(position, "position")
    if cls is None:
        return position
    try:
        opts = json.loads(options_json) if options_json else {}
    except ValueError:
        opts = {}
    return cls.paper_label(opts if isinstance(opts, dict) else {})


def where(slot: str, kind: str) -> str:
    """The paper's Position/Segment column: ``input``, ``per-head`` or ``none``."""
    cls = _encoding_class(slot, kind)
    family = cls.family if cls is not None else slot
    if family == "none":
        return "none"
    return "input" if family == "input embedding" else "per-head"


def table2(finetune: pd.DataFrame, runs: pd.DataFrame, fmt=lambda v: f"{100 * v:.1f}") -> pd.DataFrame:
    """One row per encoding in Table 2's layout; metrics ×100; extra tasks become extra columns.

    Each paper column uses posenc.metrics.PAPER_COLUMNS' metric (e.g. STS-B Spearman); when a run
    lacks it, the task's main metric is shown with a ``†``. Avg is the paper's mean of 7 numbers
    over the present ones only (``Avg over``)."""
    if finetune.empty:
        return pd.DataFrame(columns=TABLE2_COLUMNS + ["Avg", "Avg over"])
    opts = runs.groupby("encoding")["position_options"].first().to_dict() if not runs.empty else {}
    known = set(PAPER_COLUMNS) | {"mnli"}
    extra = sorted({t for t in finetune["task"] if norm_task(t) not in known})
    labels = {t: _EXTRA_NAMES.get(norm_task(t), t) for t in extra}
    rows = []
    for enc, grp in finetune.groupby("encoding", sort=True):
        res = task_metrics(grp)
        vals = paper_values(res)

        def cell(col):
            if col in vals:
                return fmt(vals[col])
            r = grp[grp["task"].map(norm_task) == col]
            return fmt(r["median"].iloc[0]) + "†" if len(r) else "–"

        first = grp.iloc[0]
        row = {"Model": model_name(first["position"], opts.get(enc)) + f" [{enc}]",
               "Position": where(first["position"], "position"), "Segment": where(first["segment"], "segment")}
        m, mm = cell("mnli_matched"), cell("mnli_mismatched")
        if m == "–" and "mnli" in set(grp["task"].map(norm_task)):
            m = fmt(grp[grp["task"].map(norm_task) == "mnli"]["median"].iloc[0]) + "†"
        row["MNLI (m/mm)"] = "–" if m == mm == "–" else f"{m} / {mm}"
        for key, col in _TASK_COLUMNS.items():
            row[col] = cell(key)
        for t in extra:
            r = grp[grp["task"] == t]
            row[labels[t]] = fmt(r["median"].iloc[0]) if len(r) else "–"
        avg, missing = paper_average(res)
        row["Avg"] = "–" if avg != avg else fmt(avg)
        row["Avg over"] = f"{len(PAPER_COLUMNS) - len(missing)}/7"
        rows.append(row)
    return pd.DataFrame(rows, columns=TABLE2_COLUMNS + [labels[t] for t in extra] + ["Avg", "Avg over"])

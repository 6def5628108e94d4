"""The data side of a fine-tune run: what is trained on, what selects the checkpoint, and what is
evaluated in every language (the XTREME zero-shot protocol, Hu et al. 2020, §4: fine-tune on
English, select on English dev, evaluate every language with the selected model).

:func:`load_task_data` reads it all **before training**, so a missing or unlabelled language
file stops the run with the file and the task named; with ``skip_missing=True`` such a
language is recorded in :attr:`TaskData.missing` with the reason instead (never dropped silently).
The protocol that produced the numbers, ``paper`` or ``offline substitute`` (e.g. training on
part of XNLI's English dev set because MNLI is not available offline), comes from the data
source's section of the task file and is recorded with the results.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .files import TaskDataError, TaskDataWarning
from .loading import data_root, language_splits, load_task, missing_files
from .spec import TaskSpec


@dataclass
class TaskData:
    spec: TaskSpec
    train: object | None                       # datasets.Dataset
    evals: dict[str, object]                   # split -> Dataset (the first selects the checkpoint)
    tests: dict[str, object]                   # unlabelled splits to predict (evaluation-only tasks)
    languages: dict[str, object]               # language -> zero-shot Dataset
    missing: dict[str, str] = field(default_factory=dict)   # language -> why it is not evaluated
    reports: dict = field(default_factory=dict)             # split -> what a reader repaired or dropped
    warnings: list[str] = field(default_factory=list)
    protocol: str = "paper"
    protocol_note: str = ""


def protocol_of(spec: TaskSpec, source: str) -> tuple[str, str]:
    """(``paper`` | ``offline substitute``, note) of the data source ``source``."""
    section = spec.hub if source == "hub" else spec.local
    if section is None:
        return "paper", ""
    return section.protocol, section.protocol_note


def _cap(spec: TaskSpec, ds, n: int | None):
    return ds if n is None else spec.task_kind.subset(spec, ds, n)


def load_task_data(spec: TaskSpec, source: str, data_dir: str | Path | None = None, *,
                   languages: list[str] | None = None, skip_missing: bool = False,
                   max_train_examples: int | None = None, max_eval_examples: int | None = None) -> TaskData:
    """Every split a run needs, read now; see the module docstring."""
    reports: dict = {}
    caught: list[str] = []
    trains = spec.task_kind.trains and spec.train_split is not None
    base = ([spec.train_split] if trains else []) + list(spec.eval_splits)
    tests = [] if trains else list(spec.test_splits)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", TaskDataWarning)
        dsd = load_task(spec, source, data_dir, splits=base + tests, report=reports) if base + tests else {}
        langs, missing = {}, {}
        keys = language_splits(spec, languages)
        root = data_root(spec, source, data_dir)
        absent = missing_files(spec, keys, root) if root is not None and spec.local is not None else {}
        for key in keys:
            lang = key.rpartition(".")[2]
            try:
                if key in absent:
                    raise TaskDataError(absent[key])
                langs[lang] = _cap(spec, load_task(spec, source, data_dir, splits=[key], report=reports)[key],
                                   max_eval_examples)
            except TaskDataError as e:
                if not skip_missing:
                    raise TaskDataError(
                        f"task {spec.name!r}, language {lang!r}: {e}. Nothing was trained. Evaluate fewer "
                        f"languages (data.languages=[...]) or pass --skip-missing-languages "
                        "(data.skip_missing_languages=true) to record it as missing in results.json") from None
                missing[lang] = str(e)
        caught = [str(w.message) for w in seen if issubclass(w.category, TaskDataWarning)]
    for message in caught:
        print(f"warning: {message}", flush=True)
    for key, rep in reports.items():  # what a reader repaired or dropped: counted, and said
        print(f"note: {rep['path']}: {rep['fixed']} repaired, {rep['skipped']} dropped "
              f"({', '.join(f'{k} {v}' for k, v in rep['counts'].items() if v) or 'see messages'})", flush=True)
    train = _cap(spec, dsd[spec.train_split], max_train_examples) if trains else None
    protocol, note = protocol_of(spec, source)
    return TaskData(spec, train, {s: _cap(spec, dsd[s], max_eval_examples) for s in spec.eval_splits},
                    {s: dsd[s] for s in tests}, langs, missing, reports, caught, protocol, note)

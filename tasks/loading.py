"""Load a task's splits into a ``datasets.DatasetDict`` with uniform columns.

Every source gives the same columns: ``text_a``, ``text_b`` (pair tasks only), ``label`` (class
id in ``label_names`` order, or a float32 score; -1 in unlabelled test splits) and ``idx`` (the
file's index column, else the 0-based row number).

Sources:
- ``"bundled"``: the real GLUE slices shipped in ``posenc/resources/glue`` (see its SOURCES.md).
- ``"local"``: files laid out as the spec's ``local`` section says, under ``data_dir`` (for GLUE
  the ``glue_data`` folder holding ``CoLA/``, ``RTE/``...; for a user's task file, default: the
  folder of the YAML file).
- ``"hub"``: ``datasets.load_dataset(hub.path, hub.name)``, e.g. ``nyu-mll/glue`` / ``rte``.

Malformed rows (wrong field count, unparsable or unknown label, bad index) raise
:class:`TaskDataError` with the file and 1-based line; nothing is skipped.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

from .files import TaskDataError, file_format, read_table
from .registry import get_task
from .spec import LocalSource, TaskSpec

SOURCES = ("bundled", "local", "hub")


def bundled_dir() -> Path:
    """Folder of the bundled GLUE slices (``posenc/resources/glue``)."""
    import posenc.resources

    return Path(posenc.resources.__file__).resolve().parent / "glue"


def default_splits(spec: TaskSpec) -> list[str]:
    """Train + eval splits; test splits only for evaluation-only tasks (AX)."""
    out = ([spec.train_split] if spec.train_split else []) + list(spec.eval_splits)
    return out or list(spec.test_splits)


def _columns(spec: TaskSpec, declared: dict | None, defaults: dict) -> dict:
    cols = {"text_a": spec.text_fields[0], "label": spec.label_field, "idx": None}
    if spec.is_pair:
        cols["text_b"] = spec.text_fields[1]
    cols.update(defaults)
    cols.update(declared or {})
    if not spec.is_pair:
        cols.pop("text_b", None)
    return cols


def _parse_label(spec: TaskSpec, value, where: str, column) -> int | float:
    if spec.kind == "regression":
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise TaskDataError(f"{where}: label {value!r} in column {column!r} is not a number") from None
        if math.isnan(out) or math.isinf(out):
            raise TaskDataError(f"{where}: label {value!r} in column {column!r} is not a finite number")
        return out
    if isinstance(value, int) and not isinstance(value, bool):  # jsonl: an int is a class id
        if 0 <= value < spec.num_labels:
            return value
        raise TaskDataError(f"{where}: class id {value} in column {column!r} is out of range 0..{spec.num_labels - 1}")
    names = spec.labels_in_files
    if isinstance(value, str) and value in names:
        return names.index(value)
    raise TaskDataError(f"{where}: unknown label {value!r} in column {column!r}; expected one of {names}")


def _read_local_split(spec: TaskSpec, split: str, root: Path) -> dict:
    local: LocalSource = spec.local
    entry = local.split(split)
    path = Path(entry.file)
    if not path.is_absolute():
        path = root / local.dir / path
    fmt = file_format(path, local.format)
    header = local.header if entry.header is None else entry.header
    encoding = entry.encoding or local.encoding
    cols = _columns(spec, entry.columns if entry.columns is not None else local.columns, {})
    table = read_table(path, fmt, encoding=encoding, header=header and fmt != "jsonl")
    unlabelled = split in spec.test_splits

    # resolve each role to a field index (tsv/csv) or key (jsonl)
    where_head = f"{path}:{table.header_line}"
    index: dict[str, object] = {}
    for role, col in cols.items():
        if col is None:
            continue
        if fmt == "jsonl":
            index[role] = col
        elif isinstance(col, int):
            index[role] = col
        elif table.header is None:
            raise TaskDataError(f"{path}: column {col!r} ({role}) is a name but the file has no header; "
                                "give 0-based column numbers or set header: true")
        elif col in table.header:
            index[role] = table.header.index(col)
        elif role == "label" and unlabelled:
            continue  # a test split without labels
        else:
            bom = " (the header starts with a byte-order mark: use encoding utf-8-sig)" \
                if table.header and table.header[0].startswith("\ufeff") else ""
            raise TaskDataError(f"{where_head}: no column {col!r} ({role}) in the header "
                                f"{table.header}{bom}")
    if "label" not in index and not unlabelled:
        raise TaskDataError(f"{path}: split {split!r} needs a label column (columns.label)")

    out: dict[str, list] = {"text_a": [], "text_b": [], "label": [], "idx": []}
    if not spec.is_pair:
        del out["text_b"]
    for n, (line, fields) in enumerate(table.rows):
        where = f"{path}:{line}"

        def get(role):
            key = index[role]
            if fmt == "jsonl":
                if key not in fields:
                    raise TaskDataError(f"{where}: missing key {key!r} ({role}); has {sorted(fields)}")
                return fields[key]
            if key >= len(fields):
                raise TaskDataError(f"{where}: column {key} ({role}) does not exist; the row has {len(fields)} fields")
            return fields[key]

        for role in ("text_a", "text_b"):
            if role in out:
                text = get(role)
                if not isinstance(text, str):
                    raise TaskDataError(f"{where}: {role} ({index[role]!r}) must be text, got {text!r}")
                out[role].append(text)
        if "label" in index and not (fmt == "jsonl" and unlabelled and index["label"] not in fields):
            out["label"].append(_parse_label(spec, get("label"), where, cols["label"]))
        else:
            out["label"].append(-1 if spec.kind == "classification" else -1.0)
        if "idx" in index:
            raw = get("idx")
            try:
                out["idx"].append(int(raw))
            except (TypeError, ValueError):
                raise TaskDataError(f"{where}: index {raw!r} in column {cols['idx']!r} is not an integer") from None
        else:
            out["idx"].append(n)
    if not out["idx"]:
        raise TaskDataError(f"{path}: no data rows")
    return out


def _features(spec: TaskSpec):
    import datasets

    feats = {"text_a": datasets.Value("string")}
    if spec.is_pair:
        feats["text_b"] = datasets.Value("string")
    if spec.kind == "classification":
        feats["label"] = datasets.ClassLabel(names=list(spec.label_names))
    else:
        feats["label"] = datasets.Value("float32")
    feats["idx"] = datasets.Value("int64")
    return datasets.Features(feats)


def _load_files(spec: TaskSpec, splits: Sequence[str], root: Path, source: str):
    import datasets

    if spec.local is None:
        raise TaskDataError(f"task {spec.name!r} has no 'local' section; use source='hub'")
    missing = [s for s in splits if not _split_path(spec, s, root).is_file()]
    if missing:
        where = "bundled with posenc" if source == "bundled" else f"in {root}"
        files = ", ".join(str(_split_path(spec, s, root)) for s in missing)
        hint = (f" Bundled GLUE tasks: {', '.join(bundled_tasks())}. For the full data use "
                f"load_task({spec.name!r}, source='local', data_dir='path/to/glue_data') or source='hub'."
                if source == "bundled" else
                " data_dir should be the folder that holds the task's directory "
                f"({spec.local.dir or 'the files'}/), e.g. glue_data/ from the GLUE download script.")
        raise TaskDataError(f"task {spec.name!r}: split(s) {missing} not {where} (missing: {files}).{hint}")
    feats = _features(spec)
    return datasets.DatasetDict({
        s: datasets.Dataset.from_dict(_read_local_split(spec, s, root), features=feats) for s in splits})


def _split_path(spec: TaskSpec, split: str, root: Path) -> Path:
    path = Path(spec.local.split(split).file)
    return path if path.is_absolute() else root / spec.local.dir / path


def bundled_tasks() -> list[str]:
    """Registered tasks whose default splits are all in the bundled slices."""
    from .registry import list_tasks

    out = []
    for name in list_tasks():
        spec = get_task(name)
        if spec.local and all(_split_path(spec, s, bundled_dir()).is_file() for s in default_splits(spec)):
            out.append(name)
    return out


def _load_hub(spec: TaskSpec, splits: Sequence[str]):
    import datasets

    if spec.hub is None:
        raise TaskDataError(f"task {spec.name!r} has no 'hub' section; use source='local' with data_dir")
    hub = spec.hub
    cols = _columns(spec, hub.columns, {"idx": "idx"})
    out = {}
    for s in splits:
        hub_split = hub.splits.get(s, s)
        try:
            ds = datasets.load_dataset(hub.path, hub.name, split=hub_split)
        except Exception as e:  # offline, unknown repo/config/split: say what to do instead
            offline = any(os.environ.get(v, "").lower() in ("1", "true", "yes")
                          for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))
            raise TaskDataError(
                f"task {spec.name!r}: cannot load {hub.path!r} (config {hub.name!r}, split {hub_split!r}) from the "
                f"Hugging Face Hub{' (offline mode is on)' if offline else ''}: {type(e).__name__}: {e}. "
                f"Use local files instead: load_task({spec.name!r}, source='local', data_dir='path/to/glue_data') "
                f"with {spec.local.dir + '/' if spec.local and spec.local.dir else 'the files'} inside it, or "
                "source='bundled' for the GLUE slices shipped with posenc.") from e
        rename = {}
        for role, col in cols.items():
            if col is None:
                continue
            if col not in ds.column_names:
                if role == "label" and s in spec.test_splits:
                    continue
                raise TaskDataError(f"task {spec.name!r}: hub split {hub_split!r} has no column {col!r} ({role}); "
                                    f"columns: {ds.column_names}")
            rename[col] = role
        ds = ds.select_columns(list(rename)).rename_columns(rename)
        if spec.kind == "classification" and "label" in ds.column_names:
            names = getattr(ds.features["label"], "names", None)
            if names is not None and list(names) != list(spec.label_names):
                raise TaskDataError(f"task {spec.name!r}: hub label names {names} differ from the spec's "
                                    f"label_names {spec.label_names} (class ids would be wrong)")
        if "label" not in ds.column_names:
            ds = ds.add_column("label", [-1 if spec.kind == "classification" else -1.0] * len(ds))
        if "idx" not in ds.column_names:
            ds = ds.add_column("idx", list(range(len(ds))))
        out[s] = ds.cast(_features(spec))
    return datasets.DatasetDict(out)


def load_task(spec: TaskSpec | str, source: str = "bundled", data_dir: str | Path | None = None,
              splits: Sequence[str] | None = None):
    """Load ``splits`` (default: train + eval splits) of a task as a ``datasets.DatasetDict``.

    ``spec`` is a :class:`TaskSpec` or a task name / YAML path. ``source`` is ``"bundled"``,
    ``"local"`` (needs ``data_dir``, except for a user's task file, whose folder is the default)
    or ``"hub"``. Test splits carry label -1.
    """
    spec = get_task(spec)
    if source not in SOURCES:
        from posenc.registry import did_you_mean

        raise ValueError(f"unknown source {source!r}.{did_you_mean(str(source), list(SOURCES))} "
                         f"Choose one of {', '.join(SOURCES)}")
    splits = list(splits) if splits is not None else default_splits(spec)
    unknown = [s for s in splits if s not in spec.splits]
    if unknown:
        from posenc.registry import did_you_mean

        guess = [s for s in spec.splits if s.startswith("validation")] if unknown[0] in ("dev", "val") else []
        hint = " Did you mean " + " or ".join(map(repr, guess)) + "?" if guess else did_you_mean(unknown[0], spec.splits)
        raise ValueError(f"task {spec.name!r} has no split {unknown[0]!r}.{hint} Splits: {', '.join(spec.splits)}")
    if source == "hub":
        return _load_hub(spec, splits)
    if source == "bundled":
        if data_dir is not None:
            raise ValueError("source='bundled' takes no data_dir; use source='local' for your own folder")
        root = bundled_dir()
    elif data_dir is not None:
        root = Path(data_dir)
        if not root.is_dir():
            raise TaskDataError(f"data_dir {str(root)!r} is not a directory")
    elif spec.source_file and not _is_builtin(spec):
        root = Path(spec.source_file).parent
    else:
        raise ValueError(f"source='local' needs data_dir (the folder holding {spec.local.dir or 'the files'}/ "
                         "for GLUE: glue_data/ from the GLUE download script)" if spec.local else
                         f"task {spec.name!r} has no local file layout")
    return _load_files(spec, splits, root, source)


def _is_builtin(spec: TaskSpec) -> bool:
    from .registry import TASK_DIR

    return Path(spec.source_file).resolve().is_relative_to(TASK_DIR)

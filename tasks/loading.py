"""Load a task's splits into a ``datasets.DatasetDict`` with the columns of its kind.

Every source gives the same columns, those of the task kind (``spec.task_kind.features``):
classification ``text_a``, ``text_b`` (pairs), ``label`` (class id; −1 unlabelled), ``idx``;
tagging ``tokens``, ``tags``, ``idx``; span QA the SQuAD schema; retrieval ``side``, ``id``,
``text``, ``gold``, ``part``.

Sources:
- ``"bundled"``: real slices shipped in ``posenc/resources/<local.bundled>`` (GLUE, XTREME; see
  their SOURCES.md), in the same layout as the local files.
- ``"local"``: files laid out as the spec's ``local`` section says, under ``data_dir`` (GLUE: the
  ``glue_data`` folder holding ``CoLA/``, ``RTE/``...; XTREME: the download script's folder
  holding ``xnli/``, ``panx/``...; a user's task file: default, the folder of the YAML file).
  A table (tsv/csv/jsonl, columns by role) unless the split names a file reader
  (:mod:`posenc.tasks.readers`: conll, conllu, squad_json, tatoeba, bucc, pair_tsv).
- ``"hub"``: ``datasets.load_dataset(hub.path, hub.name)`` (e.g. ``nyu-mll/glue`` / ``rte``),
  or a hub adapter of :mod:`posenc.tasks.readers.hub` (``google/xtreme``, MNLI, SQuAD).

Multilingual tasks: the zero-shot split is read once per language; its key in the DatasetDict
is ``"<split>.<lang>"`` (``"test.de"``, see :func:`language_split`). ``{lang}`` in a file name is
the language (through ``local.language_codes``).

Malformed rows (wrong field count, unparsable or unknown label/tag, bad index) raise
:class:`TaskDataError` with the file and 1-based line; nothing is skipped silently. What a
reader repaired or dropped (e.g. QA answers whose ``answer_start`` was off) is counted in the
``report`` mapping :func:`load_task` fills.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Sequence

from .files import TaskDataError, file_format, read_table
from .registry import get_task
from .spec import LocalSource, TaskSpec

SOURCES = ("bundled", "local", "hub")


def bundled_dir(layout: str = "glue") -> Path:
    """Folder of bundled slices in ``layout`` (``posenc/resources/glue``, ``.../xtreme``)."""
    import posenc.resources

    return Path(posenc.resources.__file__).resolve().parent / layout


def default_splits(spec: TaskSpec) -> list[str]:
    """Train + eval splits; for a task without them (AX, retrieval), its test splits or the
    zero-shot split of every language."""
    out = ([spec.train_split] if spec.train_split else []) + list(spec.eval_splits)
    return out or list(spec.test_splits) or language_splits(spec)


def language_split(split: str, language: str) -> str:
    """The DatasetDict key of one language's copy of a split: ``"test.de"``."""
    return f"{split}.{language}"


def language_splits(spec: TaskSpec, languages: Sequence[str] | None = None) -> list[str]:
    """Keys of the zero-shot split in ``languages`` (default: all of the task's)."""
    if not spec.zero_shot_split:
        return []
    langs = spec.languages if languages is None else list(languages)
    unknown = [lang for lang in langs if lang not in spec.languages]
    if unknown:
        from posenc.registry import did_you_mean

        raise ValueError(f"task {spec.name!r} has no language {unknown[0]!r}.{did_you_mean(unknown[0], spec.languages)} "
                         f"Languages: {', '.join(spec.languages)}")
    return [language_split(spec.zero_shot_split, lang) for lang in langs]


def split_language(spec: TaskSpec, key: str) -> tuple[str, str | None]:
    """``"test.de"`` → ``("test", "de")`` for a per-language split; other keys → ``(key, None)``."""
    split, _, lang = key.rpartition(".")
    if split in spec.language_splits and lang in spec.languages:
        return split, lang
    return key, None


def _columns(spec: TaskSpec, declared: dict | None, defaults: dict) -> dict:
    cols = {"text_a": spec.text_fields[0], "label": spec.label_field, "idx": None}
    if spec.is_pair:
        cols["text_b"] = spec.text_fields[1]
    cols.update(defaults)
    cols.update(declared or {})
    if not spec.is_pair:
        cols.pop("text_b", None)
    return cols


def _read_table(spec: TaskSpec, split: str, path: Path) -> dict:
    """A tsv/csv/jsonl file with columns by role (text_a, text_b, label, idx) → column lists."""
    kind = spec.task_kind
    if not hasattr(kind, "parse_label"):
        raise TaskDataError(f"task {spec.name!r}: {spec.kind} files are read by a file reader; set local.reader "
                            "(posenc.tasks.readers: conll, conllu, squad_json, tatoeba, bucc, pair_tsv)")
    local: LocalSource = spec.local
    entry = local.split(split)
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
            out["label"].append(kind.parse_label(spec, get("label"), where, cols["label"]))
        else:
            out["label"].append(kind.missing_label)
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


def local_path(spec: TaskSpec, key: str, root: Path) -> Path:
    """The file of split ``key`` (``"train"``, ``"test.de"``) under ``root``, ``{lang}`` filled in."""
    split, lang = split_language(spec, key)
    entry = spec.local.split(split)
    lang = lang or spec.train_language
    path = Path(entry.file.replace("{lang}", spec.local.code(lang)) if "{lang}" in entry.file else entry.file)
    if not path.is_absolute():
        path = root / (entry.dir if entry.dir is not None else spec.local.dir) / path
    gz = path.with_name(path.name + ".gz")
    return gz if not path.exists() and gz.exists() else path  # a gzip copy is read transparently


def _labelled(spec: TaskSpec, split: str) -> bool:
    return split not in spec.test_splits


def _read_local(spec: TaskSpec, key: str, root: Path, report: dict | None):
    """One split (one language) from local files → the kind's columns, ``select`` applied."""
    import datasets

    split, _ = split_language(spec, key)
    entry, kind = spec.local.split(split), spec.task_kind
    path = local_path(spec, key, root)
    reader = entry.reader or spec.local.reader
    labelled = _labelled(spec, split)
    if reader is None:
        ds = datasets.Dataset.from_dict(_read_table(spec, split, path), features=kind.features(spec))
    else:
        from .readers import ReadReport, get_format, read

        accepted = {f for f in get_format(reader).options.__dataclass_fields__}
        options = {k: v for k, v in kind.reader_options(spec, labelled=labelled).items() if k in accepted}
        options.update(spec.local.options)
        options.update(entry.options)
        rep = ReadReport()
        ds = kind.from_rows(spec, read(reader, path, report=rep, **options), str(path), labelled=labelled)
        if report is not None and (rep.messages or rep.fixed or rep.skipped):
            report[key] = {"path": str(path), "examples": rep.examples, "fixed": rep.fixed, "skipped": rep.skipped,
                           "counts": dict(rep.counts), "messages": list(rep.messages)}
    if entry.select is not None:
        if "idx" not in ds.column_names:
            raise TaskDataError(f"{path}: `select` needs example ids, but {spec.kind} rows have no idx")
        sel = entry.select
        ds = ds.filter(lambda b: [sel.keeps(i) for i in b["idx"]], batched=True)
    return ds


def missing_files(spec: TaskSpec, keys: Sequence[str], root: Path) -> dict[str, str]:
    """``{split key: reason}`` for splits whose local file is absent (or whose language the
    layout does not provide), checked before anything is read."""
    out = {}
    for key in keys:
        split, lang = split_language(spec, key)
        for part in [split] + ([s for s in spec.language_splits[1:]] if lang else []):
            part_key = language_split(part, lang) if lang else part
            if lang and spec.local.languages is not None and lang not in spec.local.languages:
                out[key] = (f"the local layout of task {spec.name!r} has no {lang!r} (it provides "
                            f"{', '.join(spec.local.languages)})")
                break
            path = local_path(spec, part_key, root)
            if not path.is_file():
                out[key] = f"file not found: {path}"
                break
    return out


def _load_files(spec: TaskSpec, splits: Sequence[str], root: Path, source: str, report: dict | None):
    import datasets

    if spec.local is None:
        raise TaskDataError(f"task {spec.name!r} has no 'local' section; use source='hub'")
    missing = missing_files(spec, splits, root)
    if missing:
        where = "bundled with posenc" if source == "bundled" else f"in {root}"
        files = "; ".join(f"{k}: {v}" for k, v in missing.items())
        if source == "bundled":
            hint = (f" Bundled tasks: {', '.join(bundled_tasks())}. For the full data use "
                    f"load_task({spec.name!r}, source='local', data_dir=...) or source='hub'.")
        else:
            hint = (" data_dir should be the folder that holds the task's directory "
                    f"({spec.local.dir or 'the files'}/), e.g. glue_data/ from the GLUE download script"
                    " or the XTREME download script's download/ folder.")
        raise TaskDataError(f"task {spec.name!r}: split(s) {list(missing)} not {where} ({files}).{hint}")
    out = {}
    for key in splits:
        ds = _read_local(spec, key, root, report)
        split, lang = split_language(spec, key)
        if lang:
            ds = _with_companions(spec, ds, lambda part: _read_local(spec, language_split(part, lang), root, report))
        out[key] = ds
    return datasets.DatasetDict(out)


def _with_companions(spec: TaskSpec, ds, load):
    """A language's zero-shot rows plus its companion splits' rows (``part`` = their name)."""
    import datasets

    parts = [ds]
    for companion in spec.language_splits[1:]:
        extra = load(companion)
        parts.append(extra.map(lambda b: {"part": [companion] * len(b["part"])}, batched=True))
    return datasets.concatenate_datasets(parts) if len(parts) > 1 else ds


def bundled_tasks() -> list[str]:
    """Registered tasks whose default splits are all in the bundled slices."""
    from .registry import list_tasks

    out = []
    for name in list_tasks():
        spec = get_task(name)
        if spec.local and not missing_files(spec, default_splits(spec), bundled_dir(spec.local.bundled)):
            out.append(name)
    return out


def _hub_error(spec: TaskSpec, what: str, e: Exception) -> TaskDataError:
    offline = any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))
    return TaskDataError(
        f"task {spec.name!r}: cannot load {what} from the Hugging Face Hub{' (offline mode is on)' if offline else ''}: "
        f"{type(e).__name__}: {e}. Use local files instead: load_task({spec.name!r}, source='local', "
        f"data_dir='path/to/{'glue_data' if spec.local and spec.local.bundled == 'glue' else 'download'}') with "
        f"{spec.local.dir + '/' if spec.local and spec.local.dir else 'the files'} inside it, or source='bundled' "
        "for the slices shipped with posenc.")


def _load_adapter(spec: TaskSpec, key: str):
    """One split through a hub adapter (posenc.tasks.readers.hub) → the kind's columns."""
    from .readers import hub as adapters

    split, lang = split_language(spec, key)
    entry = spec.hub.split(split)
    name = entry.adapter or spec.hub.adapter
    fn = getattr(adapters, name, None)
    if fn is None or name.startswith("_"):
        raise TaskDataError(f"task {spec.name!r}: no hub adapter {name!r} in posenc.tasks.readers.hub")
    lang = lang or spec.train_language
    kwargs = {"split": entry.split, **({"repo": entry.path} if entry.path else {})}
    takes_language = next(iter(inspect.signature(fn).parameters)) != "split"
    args = (spec.hub.code(lang),) if takes_language else ()
    raw = fn(*args, **kwargs)
    call = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return spec.task_kind.from_rows(spec, raw, f"hub {name}({call})", labelled=_labelled(spec, split))


def _load_hub(spec: TaskSpec, splits: Sequence[str]):
    import datasets

    if spec.hub is None:
        raise TaskDataError(f"task {spec.name!r} has no 'hub' section; use source='local' with data_dir")
    out = {}
    for key in splits:
        split, lang = split_language(spec, key)
        if spec.hub.adapter or spec.hub.split(split).adapter:
            ds = _load_adapter(spec, key)
            if lang:
                ds = _with_companions(spec, ds, lambda part: _load_adapter(spec, language_split(part, lang)))
        else:
            ds = _load_hub_columns(spec, key)
        out[key] = ds
    return datasets.DatasetDict(out)


def _load_hub_columns(spec: TaskSpec, s: str):
    """A hub dataset whose columns map to roles (``nyu-mll/glue``)."""
    import datasets

    hub, kind = spec.hub, spec.task_kind
    cols = _columns(spec, hub.columns, {"idx": "idx"})
    hub_split = hub.split(s).split
    try:
        ds = datasets.load_dataset(hub.path, hub.name, split=hub_split)
    except Exception as e:  # offline, unknown repo/config/split: say what to do instead
        raise _hub_error(spec, f"{hub.path!r} (config {hub.name!r}, split {hub_split!r})", e) from e
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
    names = getattr(ds.features.get("label"), "names", None)
    if names is not None and list(names) != list(spec.label_names):
        raise TaskDataError(f"task {spec.name!r}: hub label names {names} differ from the spec's "
                            f"label_names {spec.label_names} (class ids would be wrong)")
    if "label" not in ds.column_names:
        ds = ds.add_column("label", [kind.missing_label] * len(ds))
    if "idx" not in ds.column_names:
        ds = ds.add_column("idx", list(range(len(ds))))
    return ds.cast(kind.features(spec))


def load_task(spec: TaskSpec | str, source: str = "bundled", data_dir: str | Path | None = None,
              splits: Sequence[str] | None = None, *, report: dict | None = None):
    """Load ``splits`` (default: train + eval splits) of a task as a ``datasets.DatasetDict``.

    ``spec`` is a :class:`TaskSpec` or a task name / YAML path. ``source`` is ``"bundled"``,
    ``"local"`` (needs ``data_dir``, except for a user's task file, whose folder is the default)
    or ``"hub"``. Test splits carry label -1. Per-language splits are named ``"test.de"``
    (:func:`language_splits`). ``report``, if given, receives what readers repaired or dropped,
    per split.
    """
    spec = get_task(spec)
    if source not in SOURCES:
        from posenc.registry import did_you_mean

        raise ValueError(f"unknown source {source!r}.{did_you_mean(str(source), list(SOURCES))} "
                         f"Choose one of {', '.join(SOURCES)}")
    splits = list(splits) if splits is not None else default_splits(spec)
    unknown = [s for s in splits if split_language(spec, s)[0] not in spec.splits]
    if unknown:
        from posenc.registry import did_you_mean

        guess = [s for s in spec.splits if s.startswith("validation")] if unknown[0] in ("dev", "val") else []
        hint = " Did you mean " + " or ".join(map(repr, guess)) + "?" if guess else did_you_mean(unknown[0], spec.splits)
        langs = f" Per-language splits: {spec.zero_shot_split}.<lang>." if spec.zero_shot_split else ""
        raise ValueError(f"task {spec.name!r} has no split {unknown[0]!r}.{hint} Splits: {', '.join(spec.splits)}.{langs}")
    if spec.task_kind.generates:  # examples made from the spec (e.g. the length suite): no files
        return spec.task_kind.generate(spec, splits)
    if source == "hub":
        return _load_hub(spec, splits)
    if source == "bundled":
        if data_dir is not None:
            raise ValueError("source='bundled' takes no data_dir; use source='local' for your own folder")
        if spec.local is None:
            raise TaskDataError(f"task {spec.name!r} has no 'local' section; use source='hub'")
        root = bundled_dir(spec.local.bundled)
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
    return _load_files(spec, splits, root, source, report)


def data_root(spec: TaskSpec, source: str, data_dir: str | Path | None) -> Path | None:
    """The folder local/bundled files are read from (None for the hub and generated tasks)."""
    if source == "hub" or spec.local is None:
        return None
    if source == "bundled":
        return bundled_dir(spec.local.bundled)
    if data_dir is not None:
        return Path(data_dir)
    return Path(spec.source_file).parent if spec.source_file and not _is_builtin(spec) else None


def _is_builtin(spec: TaskSpec) -> bool:
    from .registry import TASK_DIR

    return Path(spec.source_file).resolve().is_relative_to(TASK_DIR)

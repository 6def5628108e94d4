"""Task specs: a YAML file → a validated, frozen :class:`TaskSpec`.

A task file names the task, its kind (``posenc.tasks.kinds``), the fields that kind needs (text
fields, labels, kind options such as span QA's ``doc_stride``), metrics, splits, languages and
where its data lives (``local`` files and/or a ``hub`` dataset). ``include: other.yaml`` (path relative to the
including file) loads another spec first; keys given here then **replace** the included ones
whole (as in lm-evaluation-harness; ``local:`` is not merged key by key). Every error names the
file and line and, for an unknown key, the closest valid key::

    tasks/glue/rte.yaml:7: unknown key 'metric' in task spec. Did you mean 'metrics'? ...
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from posenc.options import OptionError, build_options, coerce
from posenc.registry import did_you_mean


class TaskSpecError(OptionError):
    """A malformed task file (unknown key, wrong type, inconsistent fields); names file and line."""


def language_code(codes: str | dict, language: str) -> str:
    """``language`` as a data source spells it: a mapping's entry, or a column of the XTREME
    language table (``"tatoeba"``: ``de`` → ``deu``)."""
    if isinstance(codes, dict):
        return codes.get(language, language)
    from .readers.languages import language as lookup

    code = getattr(lookup(language), codes, None)
    if code is None:
        raise ValueError(f"language {language!r} has no {codes} code (posenc.tasks.readers.languages)")
    return code


@dataclass(frozen=True)
class IdSelect:
    """Keep the examples whose block ``idx // group`` modulo ``modulo`` is in ``keep``: carves
    disjoint train / selection / evaluation parts out of one file by example id (``group``: rows
    that belong together, e.g. XNLI's three hypotheses of one premise)."""

    modulo: int = field(metadata={"help": "number of buckets"})
    keep: list[int] = field(metadata={"help": "buckets kept, each in 0..modulo-1"})
    group: int = field(default=1, metadata={"help": "consecutive ids forming one block (kept or dropped together)"})

    def keeps(self, idx: int) -> bool:
        return (idx // self.group) % self.modulo in self.keep


@dataclass(frozen=True)
class LocalSplit:
    """One split stored in local file(s); ``header``/``columns``/``encoding`` override the
    task-level defaults of :class:`LocalSource` for this file only. ``{lang}`` in a file name
    stands for the language (the zero-shot split: each language; other splits: the training
    language)."""

    file: str = field(metadata={"help": "file name, relative to the task's data directory"})
    dir: str | None = field(default=None, metadata={"help": "sub-directory of data_dir for this split (default: LocalSource.dir)"})
    reader: str | None = field(default=None, metadata={"help": "file reader (posenc.tasks.readers) for this split"})
    options: dict = field(default_factory=dict, metadata={"help": "reader options for this split (see the reader)"})
    select: IdSelect | None = field(default=None, metadata={"help": "keep only some example ids (see IdSelect)"})
    header: bool | None = field(default=None, metadata={"help": "first line is a header (default: LocalSource.header)"})
    columns: dict[str, Union[str, int, None]] | None = field(
        default=None, metadata={"help": "role -> column name or 0-based index; replaces LocalSource.columns"})
    encoding: str | None = field(default=None, metadata={"help": "text encoding (default: LocalSource.encoding)"})


@dataclass(frozen=True)
class LocalSource:
    """How the task's files are laid out on disk (GLUE ``glue_data/<dir>/`` or a user's files).

    ``columns`` maps the roles ``text_a``, ``text_b``, ``label``, ``idx`` to column names (files
    with a header, jsonl keys) or 0-based indices (files without a header). Unset roles default
    to ``text_fields`` / ``label_field``; without ``idx`` rows are numbered from 0.
    """

    splits: dict[str, Any] = field(metadata={"help": "split name -> file name or a LocalSplit mapping"})
    dir: str = field(default="", metadata={"help": "sub-directory of data_dir holding the files (GLUE: 'RTE')"})
    format: Literal["tsv", "csv", "jsonl"] | None = field(
        default=None, metadata={"help": "file format; default from the file extension"})
    encoding: str = field(default="utf-8", metadata={"help": "text encoding; utf-8-sig drops a BOM (MRPC)"})
    header: bool = field(default=True, metadata={"help": "tsv/csv files start with a header line"})
    columns: dict[str, Union[str, int, None]] = field(default_factory=dict, metadata={"help": "role -> column"})
    reader: str | None = field(default=None, metadata={
        "help": "file reader (posenc.tasks.readers) for every split; null = a tsv/csv/jsonl table with column roles"})
    options: dict = field(default_factory=dict, metadata={"help": "reader options for every split"})
    bundled: str = field(default="glue", metadata={
        "help": "folder of posenc/resources holding slices in this layout (source: bundled)"})
    languages: list[str] | None = field(default=None, metadata={
        "help": "the languages this layout can evaluate (default: all of the task's)"})
    language_codes: Union[str, dict[str, str]] = field(default_factory=dict, metadata={
        "help": "language -> the code its file names use ({de: deu}), or a column of posenc.tasks.readers.languages "
                "(tatoeba: ISO 639-3 as LASER names files); default: the language itself"})
    protocol: Literal["paper", "offline substitute"] = field(default="paper", metadata={
        "help": "'offline substitute' when this layout replaces the paper's training data (recorded with results)"})

    def code(self, language: str) -> str:
        """How file names spell ``language``."""
        return language_code(self.language_codes, language)
    protocol_note: str = field(default="", metadata={"help": "what the substitute protocol trains and selects on"})

    def split(self, name: str) -> LocalSplit:
        return self.splits[name]


@dataclass(frozen=True)
class HubSplit:
    """Where one split comes from on the hub, when it differs from the task's default: another
    adapter (XNLI trains on MNLI: ``{adapter: mnli, split: train}``) or another hub split name."""

    split: str = field(metadata={"help": "the hub's split name"})
    adapter: str | None = field(default=None, metadata={"help": "adapter in posenc.tasks.readers.hub (default: HubSource.adapter)"})
    path: str | None = field(default=None, metadata={"help": "dataset repository or a local copy of it (default: the adapter's)"})


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face Hub dataset: ``nyu-mll/glue`` with config ``rte`` (columns mapped by role),
    or an adapter of :mod:`posenc.tasks.readers.hub` (``google/xtreme``: ``adapter: panx``) that
    returns the columns of the matching file reader, called with the language where it takes one."""

    path: str | None = field(default=None, metadata={"help": "dataset repository, e.g. nyu-mll/glue (or a local copy)"})
    name: str | None = field(default=None, metadata={"help": "dataset config name, e.g. rte"})
    adapter: str | None = field(default=None, metadata={"help": "adapter function in posenc.tasks.readers.hub, e.g. panx"})
    splits: dict[str, Union[str, HubSplit]] = field(
        default_factory=dict, metadata={"help": "our split -> hub split name or {split, adapter, path} (default: same name)"})
    columns: dict[str, Union[str, None]] = field(
        default_factory=dict, metadata={"help": "role -> hub column (default: text_fields, label_field, idx)"})
    language_codes: Union[str, dict[str, str]] = field(default_factory=dict, metadata={
        "help": "language -> the code the adapter takes, or a column of posenc.tasks.readers.languages; "
                "default: the language itself"})
    protocol: Literal["paper", "offline substitute"] = field(default="paper", metadata={
        "help": "'offline substitute' when these data replace the paper's (recorded with results)"})
    protocol_note: str = field(default="", metadata={"help": "what the substitute protocol trains and selects on"})

    def code(self, language: str) -> str:
        return language_code(self.language_codes, language)

    def split(self, name: str) -> HubSplit:
        entry = self.splits.get(name, name)
        return HubSplit(split=entry) if isinstance(entry, str) else entry


@dataclass(frozen=True)
class SubmissionFile:
    """Where a test split's predictions go in a leaderboard submission."""

    file: str = field(metadata={"help": "file name in the submission folder, e.g. CoLA.tsv"})
    rows: int | None = field(default=None, metadata={"help": "expected number of predictions (checked)"})


@dataclass(frozen=True)
class TaskSpec:
    """A task of any registered kind. See ``tasks/glue/*.yaml`` and ``tasks/xtreme/*.yaml``."""

    name: str = field(metadata={"help": "registry name (default: the file name without .yaml)"})
    kind: str = field(metadata={"help": "task kind (posenc.tasks.kinds): classification, regression, tagging, span_qa, retrieval"})
    metrics: list[str] = field(metadata={"help": "metric names from posenc.metrics"})
    main_metric: str = field(metadata={"help": "metric used to pick the best checkpoint; one of metrics or 'combined'"})
    text_fields: list[str] = field(default_factory=list, metadata={
        "help": "classification/regression: one or two text fields (a pair becomes [CLS] a [SEP] b [SEP])"})
    label_names: list[str] | None = field(default=None, metadata={"help": "class (or tag) names in class-id order"})
    file_labels: list[str] | None = field(
        default=None, metadata={"help": "labels as written in the files, in class-id order (default: label_names)"})
    label_field: str = field(default="label", metadata={"help": "name of the label field"})
    greater_is_better: bool = field(default=True, metadata={"help": "direction of main_metric"})
    train_split: str | None = field(default="train", metadata={"help": "split to train on (null: evaluation only)"})
    eval_splits: list[str] = field(default_factory=lambda: ["validation"], metadata={
        "help": "labelled splits evaluated during training; the first picks the best checkpoint"})
    test_splits: list[str] = field(default_factory=list, metadata={"help": "unlabelled splits (label -1)"})
    languages: list[str] = field(default_factory=list, metadata={
        "help": "languages evaluated zero-shot on zero_shot_split (empty: a monolingual task)"})
    train_language: str = field(default="en", metadata={"help": "language of the training and selection splits"})
    zero_shot_split: str | None = field(default=None, metadata={
        "help": "labelled split evaluated in every language with the selected checkpoint ({lang} in its file name)"})
    max_length: int = field(default=128, metadata={"help": "default max tokens per example"})
    local: LocalSource | None = field(default=None, metadata={"help": "local file layout"})
    hub: HubSource | None = field(default=None, metadata={"help": "Hugging Face Hub location"})
    submission: dict[str, SubmissionFile] = field(
        default_factory=dict, metadata={"help": "test split -> leaderboard submission file"})
    predict_with: str | None = field(
        default=None, metadata={"help": "task whose fine-tuned model predicts this one (AX: mnli)"})
    description: str = field(default="", metadata={"help": "one line for listings"})
    options: Any = field(default=None, metadata={"help": "(set by the loader) the kind's options, e.g. doc_stride"})
    source_file: str | None = field(default=None, compare=False, metadata={"help": "(set by the loader)"})

    @property
    def task_kind(self):
        """The registered :class:`~posenc.tasks.kinds.TaskKind` of this task."""
        from .kinds import get_kind

        return get_kind(self.kind)

    @property
    def num_labels(self) -> int:
        """The model's output width: classes (classification, tagging); 1 for regression."""
        return self.task_kind.num_labels(self)

    @property
    def is_pair(self) -> bool:
        return len(self.text_fields) == 2

    @property
    def is_multilingual(self) -> bool:
        return bool(self.languages)

    @property
    def splits(self) -> list[str]:
        """Every split: train, eval, zero-shot, the kind's companions, test (in that order)."""
        out = ([self.train_split] if self.train_split else []) + list(self.eval_splits)
        out += ([self.zero_shot_split] if self.zero_shot_split else []) + self.language_splits[1:]
        out += list(self.test_splits)
        return list(dict.fromkeys(out))

    @property
    def language_splits(self) -> list[str]:
        """Splits read once per language: the zero-shot split, then the kind's companion splits."""
        if not self.zero_shot_split:
            return []
        return [self.zero_shot_split] + [s for s in self.task_kind.companion_splits(self) if s != self.zero_shot_split]

    @property
    def labels_in_files(self) -> list[str] | None:
        return self.file_labels or self.label_names


# ---- YAML with line numbers -----------------------------------------------------------------

_NOT_KEYS = {"source_file", "options"}
SPEC_KEYS = [f.name for f in dataclasses.fields(TaskSpec) if f.name not in _NOT_KEYS] + ["include"]


@dataclass
class _Origin:
    """Where a top-level key came from: its file, and the line of every key path in that file."""

    file: str
    lines: dict[tuple, int]

    def line(self, path: tuple) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def at(self, path: tuple) -> str:
        return f"{self.file}:{self.line(path)}"


def _key_lines(node, path: tuple, out: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            p = path + (k.value,)
            out[p] = k.start_mark.line + 1
            _key_lines(v, p, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out[path + (i,)] = v.start_mark.line + 1
            _key_lines(v, path + (i,), out)


def _read_yaml(path: Path) -> tuple[dict, dict]:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise TaskSpecError(f"{where}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TaskSpecError(f"{path}:1: a task file must be a mapping of keys, got {type(data).__name__}")
    lines: dict = {}
    _key_lines(node, (), lines)
    return data, lines


def _resolve_include(value, origin: _Origin, path: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise TaskSpecError(f"{origin.at(('include',))}: include must be a file name, got {value!r}")
    target = Path(value)
    if not target.is_absolute():
        target = path.parent / target
    if target.suffix not in (".yaml", ".yml"):  # a registered task name: `include: mnli`
        from .registry import task_path

        return Path(task_path(value))
    if not target.is_file():
        raise TaskSpecError(f"{origin.at(('include',))}: included file {str(target)!r} does not exist")
    return target


def _collect(path: Path, stack: tuple = ()) -> tuple[dict, dict[str, _Origin]]:
    """Raw key → value with includes applied, and key → origin for error messages."""
    path = path.resolve()
    if path in stack:
        chain = " -> ".join(str(p) for p in stack + (path,))
        raise TaskSpecError(f"{path}:1: include cycle: {chain}")
    data, lines = _read_yaml(path)
    origin = _Origin(str(path), lines)
    merged: dict = {}
    origins: dict[str, _Origin] = {}
    if "include" in data:
        merged, origins = _collect(_resolve_include(data["include"], origin, path), stack + (path,))
        merged.pop("name", None)  # a variant never inherits its parent's name
    for key, value in data.items():
        if key == "include":
            continue
        merged[key] = value
        origins[key] = origin
    return merged, origins


# ---- validation ------------------------------------------------------------------------------

def _fail(origin: _Origin, path: tuple, message: str):
    raise TaskSpecError(f"{origin.at(path)}: {message}")


def _check_keys(cls, data, origin: _Origin, path: tuple, what: str) -> dict:
    if not isinstance(data, dict):
        _fail(origin, path, f"{what} must be a mapping, got {data!r}")
    hidden = _NOT_KEYS if cls is TaskSpec else set()  # `options` is a key of local sections, not of a spec
    names = [f.name for f in dataclasses.fields(cls) if f.name not in hidden]
    for k in data:
        if k not in names:
            _fail(origin, path + (k,), f"unknown key {k!r} in {what}.{did_you_mean(str(k), names)} "
                                       f"Valid keys: {', '.join(names)}")
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING and f.name not in hidden]
    for k in required:
        if k not in data:
            _fail(origin, path, f"{what} is missing the required key {k!r}")
    hints = typing.get_type_hints(cls)
    out = {}
    for k, v in data.items():
        try:
            out[k] = coerce(v, hints[k], f"{origin.at(path + (k,))}: key {'.'.join(map(str, path + (k,)))!r}")
        except OptionError as e:
            raise TaskSpecError(str(e)) from None
    return out


def _build_local(data, origin: _Origin) -> LocalSource:
    path = ("local",)
    raw = dict(data) if isinstance(data, dict) else data
    if isinstance(raw, dict) and isinstance(raw.get("splits"), dict):
        splits = {}
        for split, spec in raw["splits"].items():
            sp = path + ("splits", split)
            if isinstance(spec, str):
                spec = {"file": spec}
            splits[split] = LocalSplit(**_check_keys(LocalSplit, spec, origin, sp, f"local.splits.{split}"))
        raw["splits"] = splits
    elif isinstance(raw, dict) and "splits" in raw:
        _fail(origin, path + ("splits",), "local.splits must map split names to files")
    return LocalSource(**_check_keys(LocalSource, raw, origin, path, "local"))


def _build_hub(data, origin: _Origin) -> HubSource:
    raw = dict(data) if isinstance(data, dict) else data
    if isinstance(raw, dict) and isinstance(raw.get("splits"), dict):
        raw["splits"] = {name: entry if isinstance(entry, str) else
                         HubSplit(**_check_keys(HubSplit, entry, origin, ("hub", "splits", name), f"hub.splits.{name}"))
                         for name, entry in raw["splits"].items()}
    hub = HubSource(**_check_keys(HubSource, raw, origin, ("hub",), "hub"))
    if (hub.path is None) == (hub.adapter is None) and not any(
            isinstance(e, HubSplit) and e.adapter for e in hub.splits.values()):
        _fail(origin, ("hub",), "hub needs `path:` (a dataset mapped by column roles) or `adapter:` "
                                "(posenc.tasks.readers.hub), one of the two")
    return hub


def _build_submission(data, origin: _Origin) -> dict:
    if not isinstance(data, dict):
        _fail(origin, ("submission",), f"submission must map test splits to files, got {data!r}")
    out = {}
    for split, spec in data.items():
        if isinstance(spec, str):
            spec = {"file": spec}
        out[split] = SubmissionFile(**_check_keys(SubmissionFile, spec, origin, ("submission", split),
                                                  f"submission.{split}"))
    return out


_ROLES = ("text_a", "text_b", "label", "idx")
LANG = "{lang}"


def _same_examples(spec: TaskSpec, a: str, b: str) -> bool:
    """Whether splits ``a`` and ``b`` read the same examples (the same file, or translations of
    it: the same name once ``{lang}`` is filled in for the training language)."""
    la, lb = spec.local.split(a), spec.local.split(b)

    def name(entry):
        lang = spec.local.code(spec.train_language)
        d = entry.dir if entry.dir is not None else spec.local.dir
        return f"{d}/{entry.file}".replace(LANG, lang)

    return name(la) == name(lb)


def _validate_local(spec: TaskSpec, o: _Origin, fail_key) -> None:
    local = spec.local
    for s in spec.splits:
        if s not in local.splits:
            _fail(o, ("local", "splits"), f"split {s!r} has no file in local.splits "
                                          f"(has: {', '.join(local.splits) or 'none'})")
    extra = [s for s in local.splits if s not in spec.splits]
    if extra:
        _fail(o, ("local", "splits", extra[0]), f"local.splits names {extra[0]!r}, which is not one of "
                                                f"the task's splits {spec.splits}")
    for name, entry in local.splits.items():
        where = ("local", "splits", name)
        if LANG in entry.file and not spec.languages:
            _fail(o, where, f"local.splits.{name}: {LANG} in a file name needs the task's `languages:`")
        if name in spec.language_splits and spec.languages and LANG not in entry.file:
            _fail(o, where, f"local.splits.{name}: the zero-shot split's file names need {LANG} "
                            "(one file per language)")
        sel = entry.select
        if sel is not None and (sel.modulo < 1 or sel.group < 1 or not sel.keep
                                or any(not 0 <= k < sel.modulo for k in sel.keep)):
            _fail(o, where + ("select",), f"select needs modulo ≥ 1, group ≥ 1 and keep ⊆ 0..modulo-1; got {sel}")
    for cols, sub in [(local.columns, ("local", "columns"))] + [
            (sp.columns or {}, ("local", "splits", n, "columns")) for n, sp in local.splits.items()]:
        for role in cols:
            if role not in _ROLES:
                _fail(o, sub + (role,), f"unknown column role {role!r}.{did_you_mean(role, list(_ROLES))} "
                                        f"Roles: {', '.join(_ROLES)}")
    if local.languages is not None:
        bad = [lang for lang in local.languages if lang not in spec.languages]
        if bad:
            _fail(o, ("local", "languages"), f"local.languages {bad} are not among the task's languages")
    # the offline protocol: splits cut out of one file must hold disjoint example ids
    names = [s for s in spec.splits if s not in spec.test_splits]
    carved = False
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if not _same_examples(spec, a, b):
                continue
            sa, sb = local.split(a).select, local.split(b).select
            if sa is None or sb is None or (sa.modulo, sa.group) != (sb.modulo, sb.group) or set(sa.keep) & set(sb.keep):
                _fail(o, ("local", "splits", b), f"splits {a!r} and {b!r} read the same examples (or their "
                      "translations); give both `select:` with the same modulo and group and disjoint `keep` "
                      "sets, so that no example (nor a translation of it) is both trained or selected on and "
                      "evaluated")
            carved = True
    if carved and local.protocol != "offline substitute":
        _fail(o, ("local",), "this layout carves training/selection data out of evaluation files: declare "
                             "`protocol: offline substitute` (and a protocol_note) so results say so")


def _validate(spec: TaskSpec, origins: dict[str, _Origin], default: _Origin) -> None:
    from posenc.metrics import METRICS

    def fail(key: str, message: str, sub: tuple = ()):
        _fail(origins.get(key, default), (key,) + sub, message)

    kind = spec.task_kind
    kind.validate(spec, fail)
    for i, m in enumerate(spec.metrics):
        if m not in METRICS:
            fail("metrics", f"unknown metric {m!r}.{did_you_mean(m, METRICS.names())} Known: {', '.join(METRICS.names())}",
                 (i,))
        if not kind.accepts_metric(METRICS.get(m)):
            fail("metrics", f"metric {m!r} is for {METRICS.get(m).kind} tasks, not {spec.kind}", (i,))
    if not spec.metrics:
        fail("metrics", "metrics must list at least one metric")
    allowed = list(spec.metrics) + (["combined"] if len(spec.metrics) > 1 else [])
    if spec.main_metric not in allowed:
        fail("main_metric", f"main_metric {spec.main_metric!r} is not one of {allowed}."
                            f"{did_you_mean(spec.main_metric, allowed)}")
    if spec.max_length < 8:
        fail("max_length", f"max_length must be at least 8, got {spec.max_length}")
    for s in spec.test_splits:
        if s == spec.train_split or s in spec.eval_splits or s == spec.zero_shot_split:
            fail("test_splits", f"split {s!r} is both a test split and a train/eval split")
    if bool(spec.languages) != bool(spec.zero_shot_split):
        fail("languages" if spec.languages else "zero_shot_split",
             "a multilingual task needs both `languages:` and `zero_shot_split:` (the split evaluated per language)")
    if len(set(spec.languages)) != len(spec.languages):
        fail("languages", f"languages has duplicates: {spec.languages}")
    if not spec.splits:
        fail("eval_splits", "the task defines no split at all")
    if spec.local is None and spec.hub is None and not kind.generates:
        _fail(default, (), "the task needs a data source: 'local' (files) and/or 'hub'")
    if spec.local is not None:
        _validate_local(spec, origins.get("local", default), fail)
    if spec.hub is not None:
        o = origins.get("hub", default)
        for role in spec.hub.columns:
            if role not in _ROLES:
                _fail(o, ("hub", "columns", role), f"unknown column role {role!r}."
                                                   f"{did_you_mean(role, list(_ROLES))} Roles: {', '.join(_ROLES)}")
    for s in spec.submission:
        if s not in spec.test_splits:
            fail("submission", f"submission names {s!r}, which is not a test split {spec.test_splits}", (s,))


def _kind_of(data: dict, origins: dict[str, _Origin], default: _Origin):
    from posenc.registry import UnknownNameError

    from .kinds import TASK_KINDS

    o = origins.get("kind", default)
    if "kind" not in data:
        _fail(default, (), "the task spec is missing the required key 'kind'")
    try:
        return TASK_KINDS.get(data["kind"])
    except UnknownNameError:
        names = TASK_KINDS.names()
        _fail(o, ("kind",), f"key 'kind': {data['kind']!r} is not one of {names}."
                            f"{did_you_mean(str(data['kind']), names)}")


def spec_from_dict(data: dict, *, origins: dict[str, _Origin] | None = None, source_file: str | None = None,
                   default_name: str | None = None) -> TaskSpec:
    """Validate a plain mapping into a :class:`TaskSpec` (what :func:`load_task_spec` does after
    reading YAML). ``origins`` supplies file/line for errors. Keys of the kind's options (e.g.
    ``doc_stride``) sit at the top level beside the spec's own keys."""
    default = _Origin(source_file or "<task spec>", {})
    origins = origins or {k: default for k in data}
    kind = _kind_of(data, origins, default)
    option_keys = [f.name for f in dataclasses.fields(kind.Options)] if kind.Options else []
    keys = [k for k in SPEC_KEYS if k != "include"] + option_keys
    for k in data:
        if k not in keys:
            o = origins.get(k, default)
            _fail(o, (k,), f"unknown key {k!r} in task spec.{did_you_mean(str(k), keys)} Valid keys: {', '.join(keys)}")
    data = dict(data)
    if "name" not in data and default_name:
        data["name"] = default_name
    for k in ("name", "kind", "metrics", "main_metric"):
        if k not in data:
            _fail(default, (), f"the task spec is missing the required key {k!r}")
    hints = typing.get_type_hints(TaskSpec)
    kwargs: dict = {}
    options: dict = {}
    for k, v in data.items():
        o = origins.get(k, default)
        if k in option_keys:
            options[k] = v
        elif k == "local" and v is not None:
            kwargs[k] = _build_local(v, o)
        elif k == "hub" and v is not None:
            kwargs[k] = _build_hub(v, o)
        elif k == "submission" and v is not None:
            kwargs[k] = _build_submission(v, o)
        else:
            if k in ("label_names", "file_labels") and isinstance(v, list):
                if any(isinstance(x, bool) for x in v):
                    _fail(o, (k,), f"{k} {v}: YAML reads unquoted yes/no/on/off/true/false as booleans; "
                                   "quote the label names")
                v = [str(x) if isinstance(x, int) else x for x in v]  # file_labels: [0, 1] means "0", "1"
            try:
                kwargs[k] = coerce(v, hints[k], f"{o.at((k,))}: key {k!r}")
            except OptionError as e:
                raise TaskSpecError(str(e)) from None
    if kind.Options is not None:
        o = origins.get(next(iter(options), "kind"), default)
        try:
            kwargs["options"] = build_options(kind.Options, options, f"{o.at((next(iter(options), 'kind'),))}: "
                                                                      f"task kind {kind.name!r}")
        except OptionError as e:
            raise TaskSpecError(str(e)) from None
    spec = TaskSpec(**kwargs, source_file=source_file)
    _validate(spec, origins, default)
    return spec


def load_task_spec(path: str | Path) -> TaskSpec:
    """Load and validate a task YAML file (``include:`` applied). The task name defaults to the
    file name without ``.yaml``. Raises :class:`TaskSpecError` naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task file {str(path)!r} does not exist")
    data, origins = _collect(path)
    return spec_from_dict(data, origins=origins, source_file=str(path.resolve()), default_name=path.stem)

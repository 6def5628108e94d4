"""What every file-format reader shares: the registry entry, the report, and reading lines.

A reader is one function ``read(path, *, report=None, **options)`` returning a ``datasets``
object with fixed columns. Its options are a frozen dataclass, so an unknown or mistyped
option fails early with the closest valid name (:func:`posenc.options.build_options`).
Malformed input raises :class:`~posenc.tasks.files.TaskDataError` naming the file and the
1-based line. ``report`` (a :class:`ReadReport`) receives what the caller may want to show:
how many examples were read, whether the file carries labels, and what was fixed or skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from posenc.options import build_options
from posenc.registry import Registry, did_you_mean

from ..files import TaskDataError, decode_file


@dataclass
class ReadReport:
    """Counts a reader leaves for the caller (a task's report, a log line).

    ``labelled`` is False for files without gold labels (XTREME's token-only test sets, XNLI's
    two-column test files, BUCC test data without a ``.gold`` file). ``fixed``/``skipped`` count
    repaired and dropped items (SQuAD answers whose ``answer_start`` does not match the context);
    ``counts`` holds format-specific numbers (``squad_json``: answers, answers_mismatched,
    answers_fixed, answers_dropped, questions_dropped); ``messages`` says what happened, one
    line each.
    """

    path: str = ""
    format: str = ""
    examples: int = 0
    labelled: bool = True
    fixed: int = 0
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.messages.append(message)


@dataclass(frozen=True)
class FileFormat:
    """A registered file format: its reader, the reader's options, the columns it returns and an
    ``example`` file name in the expected layout (``path`` argument of ``read``)."""

    name: str
    read: Callable
    options: type
    columns: tuple[str, ...]
    summary: str
    example: str
    returns: str = "Dataset"  # or "DatasetDict" (bucc: source, target, gold)


FORMATS: Registry[FileFormat] = Registry("file format")


def opt(default, help: str):
    """A reader option with its help text (shown by ``posenc list formats``-style listings)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


def register_format(fmt: FileFormat) -> FileFormat:
    return FORMATS.register(fmt.name, fmt)


def parse_options(cls, options: dict, name: str):
    """Validated options dataclass of format ``name`` (unknown key → closest match + list)."""
    return build_options(cls, options, f"file format {name!r}")


def start_report(report: ReadReport | None, path, name: str) -> ReadReport:
    """``report`` reset for ``path`` (a fresh one when the caller passed none)."""
    report = report if report is not None else ReadReport()
    report.path, report.format = str(path), name
    report.examples, report.labelled, report.fixed, report.skipped = 0, True, 0, 0
    report.counts.clear()
    report.messages.clear()
    return report


def data_file(path) -> Path:
    """``path``, or its gzipped / plain twin (``dev-de.tsv`` ↔ ``dev-de.tsv.gz``) when only that
    exists: one task layout then serves copies compressed differently (the bundled slices are
    all gzip). Neither there → :class:`TaskDataError` naming both."""
    path = Path(path)
    twin = path.with_name(path.name[:-3]) if path.name.endswith(".gz") else path.with_name(path.name + ".gz")
    if path.exists() or not twin.exists():
        if not path.exists():
            raise TaskDataError(f"{path}: file not found (nor {twin.name})")
        return path
    return twin


def decode_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole file as text (gunzipped if ``.gz``); errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise TaskDataError(f"{path}: file not found")
    return decode_file(path, encoding, hint="pass the file's encoding (option encoding=...)")


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """Lines split on ``\\n`` only (never ``str.splitlines``, which also breaks on U+2028 and
    friends found inside real text), a trailing ``\\r`` removed, the final newline not counted
    as a line. An empty file (or one of blank lines only) is an error."""
    text = decode_text(path, encoding)
    if text.strip() == "":
        raise TaskDataError(f"{path}: file is empty")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def check_tag(tag: str, tag_set: frozenset[str] | None, tags_in_order, where: str) -> None:
    """An unknown tag is an error naming the closest known tag and the tag set."""
    if tag_set is not None and tag not in tag_set:
        raise TaskDataError(f"{where}: unknown tag {tag!r}.{did_you_mean(tag, list(tags_in_order))} "
                            f"Tag set: {', '.join(tags_in_order)}")


def tagging_features():
    import datasets

    return datasets.Features({"tokens": datasets.List(datasets.Value("string")),
                              "tags": datasets.List(datasets.Value("string")),
                              "idx": datasets.Value("int64")})


def tagging_dataset(tokens: list[list[str]], tags: list[list[str]], path, report: ReadReport, labelled: bool):
    """The tagging columns ``tokens``, ``tags`` (``[]`` per sentence when unlabelled), ``idx``."""
    import datasets

    if not tokens:
        raise TaskDataError(f"{path}: no sentences in the file")
    report.examples, report.labelled = len(tokens), labelled
    if not labelled:
        report.note(f"{path}: tokens only, no tags (unlabelled)")
    return datasets.Dataset.from_dict({"tokens": tokens, "tags": tags, "idx": list(range(len(tokens)))},
                                      features=tagging_features())

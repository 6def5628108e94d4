"""Reading task files row by row, keeping 1-based line numbers for error messages.

TSV is split on tabs with **no quote processing** (GLUE files contain unbalanced ``"``; a csv
reader with default quoting silently merges fields). Lines are split on ``\\n`` only, never with
``str.splitlines`` (which also breaks on U+2028, U+0085, form feeds... found inside real text).
CSV uses the standard csv dialect (quotes honoured); JSONL is one object per line. Empty lines
are errors, except at the end of a file. A ``.gz`` file is decompressed transparently
(``dev-de.tsv.gz`` reads as ``dev-de.tsv``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path


class TaskDataError(ValueError):
    """A malformed data file or a missing one; the message names the file (and line)."""


class TaskDataWarning(UserWarning):
    """A data problem that is counted and reported but does not stop a run (e.g. QA answers whose
    ``answer_start`` had to be repaired); the message names the file."""


@dataclass
class Table:
    """Rows of one file: ``rows`` holds ``(line_number, fields)``; fields is a list (tsv/csv) or
    a dict (jsonl). ``header`` is None for files without one (and for jsonl)."""

    path: Path
    header: list[str] | None
    rows: list[tuple[int, object]]
    header_line: int = 1


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``."""
    data = Path(path).read_bytes()
    if not str(path).endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as e:
        raise TaskDataError(f"{path}: not a valid gzip file ({e})") from None


def decode_file(path: Path, encoding: str, hint: str = "set local.encoding in the task file") -> str:
    """The file as text (gunzipped if ``.gz``); a decoding error names the file, the line and ``hint``."""
    data = read_bytes(path)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise TaskDataError(f"{path}:{line}: cannot decode as {encoding} ({e.reason} at byte {e.start}); "
                            f"{hint}") from None
    except LookupError:
        raise TaskDataError(f"{path}: unknown encoding {encoding!r}") from None


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    while lines and lines[-1].strip("\r") == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def read_tsv(path: Path, *, encoding: str = "utf-8", header: bool = True) -> Table:
    """Tab-separated, no quoting. Every row must have as many fields as the header (or, without
    a header, as the first row)."""
    lines = _lines(decode_file(path, encoding))
    head = lines[0].split("\t") if header and lines else None
    rows = []
    width = len(head) if head is not None else None
    for i, line in enumerate(lines[1:] if header else lines, start=2 if header else 1):
        if line == "":
            raise TaskDataError(f"{path}:{i}: empty line inside the file")
        fields = line.split("\t")
        if width is None:
            width = len(fields)
        if len(fields) != width:
            what = "the header" if head is not None else "the first row"
            raise TaskDataError(f"{path}:{i}: expected {width} tab-separated fields (as in {what}), found "
                                f"{len(fields)}: {line[:120]!r}")
        rows.append((i, fields))
    return Table(path, head, rows)


def read_csv(path: Path, *, encoding: str = "utf-8", header: bool = True) -> Table:
    """Comma-separated with standard csv quoting (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(decode_file(path, encoding), newline=""))
    head, rows, width, start = None, [], None, 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields:
                rows.append((line, None))  # empty line: an error unless only trailing ones follow
                continue
            if header and head is None:
                head, width = fields, len(fields)
                continue
            if width is None:
                width = len(fields)
            if len(fields) != width:
                raise TaskDataError(f"{path}:{line}: expected {width} comma-separated fields, found {len(fields)}")
            rows.append((line, fields))
    except csv.Error as e:
        raise TaskDataError(f"{path}:{reader.line_num}: {e}") from None
    while rows and rows[-1][1] is None:
        rows.pop()
    for line, fields in rows:
        if fields is None:
            raise TaskDataError(f"{path}:{line}: empty line inside the file")
    return Table(path, head, rows)


def read_jsonl(path: Path, *, encoding: str = "utf-8") -> Table:
    """One JSON object per line."""
    rows = []
    for i, line in enumerate(_lines(decode_file(path, encoding)), start=1):
        if line.strip() == "":
            raise TaskDataError(f"{path}:{i}: empty line inside the file")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise TaskDataError(f"{path}:{i}: invalid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(obj, dict):
            raise TaskDataError(f"{path}:{i}: expected a JSON object, got {type(obj).__name__}")
        rows.append((i, obj))
    return Table(path, None, rows)


def file_format(path: Path, declared: str | None) -> str:
    """``declared`` or the format implied by the extension (.tsv, .csv, .jsonl/.json)."""
    if declared:
        return declared
    suffix = (path.with_suffix("") if path.suffix.lower() == ".gz" else path).suffix.lower()
    fmt = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}.get(suffix)
    if fmt is None:
        raise TaskDataError(f"{path}: cannot tell the format from the extension {suffix!r}; set local.format "
                            "to tsv, csv or jsonl")
    return fmt


def read_table(path: Path, fmt: str, *, encoding: str, header: bool) -> Table:
    if not path.is_file():
        raise TaskDataError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise TaskDataError(f"{path}: the file is empty (0 bytes); a split needs its rows (was it cut by a failed copy?)")
    if fmt == "tsv":
        return read_tsv(path, encoding=encoding, header=header)
    if fmt == "csv":
        return read_csv(path, encoding=encoding, header=header)
    return read_jsonl(path, encoding=encoding)

"""``tatoeba``: line-aligned sentence pairs in the LASER layout → one row per pair.

``tatoeba.XXX-eng.XXX`` holds sentences in language XXX (ISO 639-3), ``tatoeba.XXX-eng.eng``
their English translations: line i of one translates line i of the other (Artetxe & Schwenk,
2019, the Tatoeba retrieval set used by XTREME). ``path`` is the non-English file; the English
file is found next to it (``target=`` names it explicitly for other layouts). Both may be gzip.
Columns: ``source`` (language XXX), ``target`` (English), ``idx`` (0-based line number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..files import TaskDataError
from .base import FileFormat, ReadReport, opt, parse_options, read_lines, register_format, start_report

NAME = "tatoeba"
_LASER = re.compile(r"(?P<stem>.+\.(?P<lang>[a-z]{3})-eng)\.(?P=lang)(?P<gz>\.gz)?")


@dataclass(frozen=True)
class TatoebaOptions:
    """Options of the ``tatoeba`` reader."""

    target: str | None = opt(None, "the English file (default: tatoeba.XXX-eng.eng next to the source file)")
    encoding: str = opt("utf-8", "text encoding of both files")


def english_file(path: Path) -> Path:
    """``tatoeba.XXX-eng.eng`` (gzip or not, whichever exists) next to ``tatoeba.XXX-eng.XXX``."""
    m = _LASER.fullmatch(path.name)
    if m is None:
        raise TaskDataError(f"{path}: not a LASER Tatoeba file name (tatoeba.XXX-eng.XXX); pass target= with the "
                            "path of the English file")
    candidates = [path.with_name(m["stem"] + ".eng" + suffix) for suffix in ((m["gz"] or ""), ".gz", "")]
    for c in candidates:
        if c.is_file():
            return c
    raise TaskDataError(f"{path}: its English side {candidates[0]} is missing (line i of both files form pair i)")


def _sentences(path: Path, encoding: str) -> list[str]:
    lines = read_lines(path, encoding)
    for n, line in enumerate(lines, start=1):
        if line.strip() == "":
            raise TaskDataError(f"{path}:{n}: empty line (every line is a sentence aligned with the other file)")
    return lines


def read(path, *, report: ReadReport | None = None, **options):
    """Aligned pairs → ``datasets.Dataset`` (source, target, idx)."""
    import datasets

    opts: TatoebaOptions = parse_options(TatoebaOptions, options, NAME)
    report = start_report(report, path, NAME)
    path = Path(path)
    source_lines = _sentences(path, opts.encoding)
    target = Path(opts.target) if opts.target else english_file(path)
    target_lines = _sentences(target, opts.encoding)
    if len(source_lines) != len(target_lines):
        raise TaskDataError(f"{path} has {len(source_lines)} lines but {target} has {len(target_lines)}; "
                            "line i of one must translate line i of the other")
    report.examples = len(source_lines)
    return datasets.Dataset.from_dict(
        {"source": source_lines, "target": target_lines, "idx": list(range(len(source_lines)))},
        features=datasets.Features({"source": datasets.Value("string"), "target": datasets.Value("string"),
                                    "idx": datasets.Value("int64")}))


register_format(FileFormat(NAME, read, TatoebaOptions, ("source", "target", "idx"),
                           "LASER Tatoeba pairs: tatoeba.XXX-eng.XXX + tatoeba.XXX-eng.eng, line i ↔ line i",
                           example="tatoeba/tatoeba.deu-eng.deu"))

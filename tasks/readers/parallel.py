"""``parallel``: line-aligned parallel text, one file per language side → one row per segment pair.

The layout of WMT test sets, Multi30k and most MT corpora: ``train.en`` and ``train.de`` (plain or
``.gz``), line i of one translating line i of the other. ``path`` is the source-side file; the
target side is found next to it by replacing the source language code with the target's in the
file name (``train.en.gz`` → ``train.de.gz``, ``newstest2018.en-de.en`` → ``newstest2018.en-de.de``),
or named with ``target=`` (a path relative to the source file's folder, e.g. OpenNMT's
``src-train.txt`` / ``tgt-train.txt``). Columns: ``source``, ``target``, ``idx`` (0-based line).

Checks: the two files must have the same number of lines (the error names both files and both
counts). A pair with an empty side is skipped and counted (``empty_lines: skip``, the default; the
report says how many and where the first was), kept (``keep``: an empty reference is a valid test
segment) or refused (``error``, with file and line).

:func:`wmt14` / :func:`wmt16` / :func:`wmt18` / :func:`wmt19` are the hub adapters of the WMT
releases (``wmt/wmtNN`` on the Hugging Face Hub, configs ``<xx>-en`` with a ``translation`` column
``{xx: ..., en: ...}``), returning the same columns for a direction such as ``en-de``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..files import TaskDataError
from .base import FileFormat, ReadReport, data_file, opt, parse_options, read_lines, register_format, start_report

NAME = "parallel"


@dataclass(frozen=True)
class ParallelOptions:
    """Options of the ``parallel`` reader."""

    source_language: str | None = opt(None, "language code of the source file (its name must contain .CODE)")
    target_language: str | None = opt(None, "language code of the target file, replacing the source's in the name")
    target: str | None = opt(None, "the target file (relative to the source file's folder); default: from the codes")
    empty_lines: Literal["skip", "keep", "error"] = opt(
        "skip", "a pair with an empty side: skip it (counted and reported), keep it, or stop with file:line")
    encoding: str = opt("utf-8", "text encoding of both files")


def target_file(path: Path, source_language: str | None, target_language: str | None) -> Path:
    """The target-side file next to ``path``: the last ``.<source code>`` name component replaced by
    ``.<target code>`` (gzip or not, whichever exists)."""
    if not source_language or not target_language:
        raise TaskDataError(f"{path}: cannot find the target side without source_language and target_language "
                            "(or name it with target=)")
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    pattern = re.compile(rf"\.{re.escape(source_language)}(?=\.|$)")
    hits = list(pattern.finditer(name))
    if not hits:
        raise TaskDataError(f"{path}: the file name has no '.{source_language}' component to swap for "
                            f"'.{target_language}'; name the target file with the reader option target=")
    m = hits[-1]
    stem = name[:m.start()] + f".{target_language}" + name[m.end():]
    target = path.with_name(stem + (".gz" if path.name.endswith(".gz") else ""))
    try:
        return data_file(target)
    except TaskDataError:
        raise TaskDataError(f"{path}: its target side {target} is missing (line i of both files form pair i)") from None


def read(path, *, report: ReadReport | None = None, **options):
    """Aligned pairs → ``datasets.Dataset`` (source, target, idx)."""
    import datasets

    opts: ParallelOptions = parse_options(ParallelOptions, options, NAME)
    report = start_report(report, path, NAME)
    path = data_file(path)
    source_lines = read_lines(path, opts.encoding)  # the source file's own faults first (empty, undecodable)
    target = data_file(path.parent / opts.target) if opts.target else target_file(path, opts.source_language,
                                                                                  opts.target_language)
    target_lines = read_lines(target, opts.encoding)
    if len(source_lines) != len(target_lines):
        raise TaskDataError(f"{path} has {len(source_lines)} lines but {target} has {len(target_lines)}; line i of "
                            "one must translate line i of the other (a missing or extra line shifts every pair after it)")
    keep, empty = [], []
    for i, (s, t) in enumerate(zip(source_lines, target_lines)):
        if s.strip() and t.strip():
            keep.append(i)
        else:
            empty.append(i)
    if empty:
        first = empty[0]
        side = path if not source_lines[first].strip() else target
        where = f"{side}:{first + 1}"
        if opts.empty_lines == "error":
            raise TaskDataError(f"{where}: empty line ({len(empty)} pairs of {path.name} / {target.name} have an empty "
                                "side); remove them, or read with empty_lines: skip (dropped, reported) or keep")
        if opts.empty_lines == "skip":
            report.skipped = len(empty)
            report.note(f"{path} / {target}: skipped {len(empty)} of {len(source_lines)} pairs with an empty side "
                        f"(first at {where}); empty_lines: keep keeps them")
        else:
            keep = list(range(len(source_lines)))
            report.note(f"{path} / {target}: kept {len(empty)} pairs with an empty side (first at {where})")
    if not keep:
        raise TaskDataError(f"{path} / {target}: every pair has an empty side")
    report.examples = len(keep)
    return pairs_dataset([source_lines[i] for i in keep], [target_lines[i] for i in keep], keep)


def pairs_dataset(source: list[str], target: list[str], idx: list[int]):
    """The reader's columns: ``source``, ``target`` (strings) and ``idx`` (int64)."""
    import datasets

    return datasets.Dataset.from_dict(
        {"source": source, "target": target, "idx": idx},
        features=datasets.Features({"source": datasets.Value("string"), "target": datasets.Value("string"),
                                    "idx": datasets.Value("int64")}))


register_format(FileFormat(NAME, read, ParallelOptions, ("source", "target", "idx"),
                           "parallel text: one file per language side (plain or .gz), line i ↔ line i",
                           example="multi30k/train.en.gz"))


# ---- hub adapters ---------------------------------------------------------------------------------

def wmt_config(direction: str) -> tuple[str, str, str]:
    """``"en-de"`` → (source ``en``, target ``de``, hub config ``de-en``): the WMT releases on the hub
    name each pair ``<xx>-en`` whichever way it is translated."""
    parts = direction.split("-")
    if len(parts) != 2 or not all(parts):
        raise TaskDataError(f"a translation direction looks like 'en-de' (source-target), got {direction!r}")
    src, tgt = parts
    return src, tgt, (f"{src}-{tgt}" if tgt == "en" else f"{tgt}-{src}")


def _wmt(repo: str, direction: str, split: str, cache_dir: str | None):
    from .hub import load_hub

    src, tgt, config = wmt_config(direction)
    ds = load_hub(repo, config, split, cache_dir)
    if "translation" not in ds.column_names:
        raise TaskDataError(f"{repo} ({config}, {split}): no 'translation' column; columns: {ds.column_names}")
    rows = ds["translation"]
    missing = [lang for lang in (src, tgt) if rows and lang not in rows[0]]
    if missing:
        raise TaskDataError(f"{repo} ({config}, {split}): the translation column has no {missing[0]!r} "
                            f"(has {sorted(rows[0])})")
    return pairs_dataset([r[src] for r in rows], [r[tgt] for r in rows], list(range(len(rows))))


def wmt14(direction: str, split: str, *, repo: str = "wmt/wmt14", cache_dir: str | None = None):
    """WMT14 (``wmt/wmt14``: cs, de, fr, hi, ru ↔ en; train / validation = newstest2013 / test = newstest2014)."""
    return _wmt(repo, direction, split, cache_dir)


def wmt16(direction: str, split: str, *, repo: str = "wmt/wmt16", cache_dir: str | None = None):
    """WMT16 (``wmt/wmt16``: cs, de, fi, ro, ru, tr ↔ en; validation = newstest2015, test = newstest2016)."""
    return _wmt(repo, direction, split, cache_dir)


def wmt18(direction: str, split: str, *, repo: str = "wmt/wmt18", cache_dir: str | None = None):
    """WMT18 (``wmt/wmt18``: cs, de, et, fi, kk, ru, tr, zh ↔ en; validation = newstest2017, test =
    newstest2018), the data of Chen et al. (2021), Table 4."""
    return _wmt(repo, direction, split, cache_dir)


def wmt19(direction: str, split: str, *, repo: str = "wmt/wmt19", cache_dir: str | None = None):
    """WMT19 (``wmt/wmt19``: cs, de, fi, gu, kk, lt, ru, zh ↔ en; validation = newstest2018)."""
    return _wmt(repo, direction, split, cache_dir)

"""``bucc``: the BUCC 2018 parallel-sentence-mining layout → a ``datasets.DatasetDict``.

Zweigenbaum et al. (2018) ship, per language pair and split, ``xx-en.<split>.xx`` and
``xx-en.<split>.en`` (``id<TAB>sentence`` lines, ids like ``de-000000001``) and, except for the
test split, ``xx-en.<split>.gold`` (``xx-id<TAB>en-id``: the sentence pairs that are
translations). The XTREME download script keeps this layout (``xx-en.dev.xx`` ...). ``path`` is
the common prefix (``bucc2018/de-en/de-en.training``) or any one of the three files.

Returns ``DatasetDict(source=(id, text), target=(id, text), gold=(source_id, target_id))``;
``gold`` is empty and ``report.labelled`` False when there is no ``.gold`` file. Ids are checked:
unique per file, and every gold id must exist in its side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..files import TaskDataError
from .base import FileFormat, ReadReport, opt, parse_options, read_lines, register_format, start_report

NAME = "bucc"
_PAIR = re.compile(r"(?P<src>[a-z]{2,3})-(?P<tgt>[a-z]{2,3})(\..+)?")


@dataclass(frozen=True)
class BuccOptions:
    """Options of the ``bucc`` reader."""

    labels: Literal["auto", "required"] = opt("auto", "auto: without a .gold file the gold pairs are empty; required: an error")
    encoding: str = opt("utf-8", "text encoding of the files")


def bucc_files(path) -> tuple[Path, Path, Path]:
    """(source, target, gold) paths from a prefix or one of the files; gzip versions are found too."""
    path = Path(path)
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    m = _PAIR.match(name)
    if m is None:
        raise TaskDataError(f"{path}: not a BUCC file name (xx-en.<split>[.xx|.en|.gold])")
    src, tgt = m["src"], m["tgt"]
    stem = name.rsplit(".", 1)[0] if name.rsplit(".", 1)[-1] in (src, tgt, "gold") and "." in name else name

    def find(ext: str) -> Path:
        plain = path.with_name(f"{stem}.{ext}")
        gz = path.with_name(f"{stem}.{ext}.gz")
        return gz if gz.is_file() and not plain.is_file() else plain

    return find(src), find(tgt), find("gold")


def _sentences(path: Path, encoding: str) -> tuple[list[str], list[str]]:
    ids, texts, seen = [], [], {}
    for n, line in enumerate(read_lines(path, encoding), start=1):
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0] or not fields[1].strip():
            raise TaskDataError(f"{path}:{n}: expected 'id<TAB>sentence', found {line[:120]!r}")
        if fields[0] in seen:
            raise TaskDataError(f"{path}:{n}: duplicate id {fields[0]!r} (first on line {seen[fields[0]]})")
        seen[fields[0]] = n
        ids.append(fields[0])
        texts.append(fields[1])
    return ids, texts


def read(path, *, report: ReadReport | None = None, **options):
    """BUCC source/target sentences and gold pairs → ``datasets.DatasetDict``."""
    import datasets

    opts: BuccOptions = parse_options(BuccOptions, options, NAME)
    report = start_report(report, path, NAME)
    source_path, target_path, gold_path = bucc_files(path)
    source_ids, source_texts = _sentences(source_path, opts.encoding)
    if not target_path.is_file():
        raise TaskDataError(f"{target_path}: file not found (BUCC needs both sides: {source_path.name}, "
                            f"{target_path.name})")
    target_ids, target_texts = _sentences(target_path, opts.encoding)
    gold_source, gold_target = [], []
    if gold_path.is_file():
        known_source, known_target = set(source_ids), set(target_ids)
        for n, line in enumerate(read_lines(gold_path, opts.encoding), start=1):
            fields = line.split("\t")
            if len(fields) != 2:
                raise TaskDataError(f"{gold_path}:{n}: expected 'source-id<TAB>target-id', found {line[:120]!r}")
            if fields[0] not in known_source:
                raise TaskDataError(f"{gold_path}:{n}: id {fields[0]!r} is not in {source_path.name}")
            if fields[1] not in known_target:
                raise TaskDataError(f"{gold_path}:{n}: id {fields[1]!r} is not in {target_path.name}")
            gold_source.append(fields[0])
            gold_target.append(fields[1])
    elif opts.labels == "required":
        raise TaskDataError(f"{gold_path}: file not found; BUCC test data has no gold pairs (use the training "
                            "or sample split), or read with labels='auto'")
    else:
        report.labelled = False
        report.note(f"{gold_path.name} not found: no gold pairs (unlabelled)")
    report.examples = len(source_ids)
    report.counts.update(source=len(source_ids), target=len(target_ids), gold=len(gold_source))
    text = datasets.Features({"id": datasets.Value("string"), "text": datasets.Value("string")})
    return datasets.DatasetDict({
        "source": datasets.Dataset.from_dict({"id": source_ids, "text": source_texts}, features=text),
        "target": datasets.Dataset.from_dict({"id": target_ids, "text": target_texts}, features=text),
        "gold": datasets.Dataset.from_dict(
            {"source_id": gold_source, "target_id": gold_target},
            features=datasets.Features({"source_id": datasets.Value("string"), "target_id": datasets.Value("string")})),
    })


register_format(FileFormat(NAME, read, BuccOptions, ("source", "target", "gold"),
                           "BUCC 2018 mining: xx-en.<split>.{xx,en} (id<TAB>sentence) + .gold pairs",
                           example="bucc2018/de-en/de-en.training.de", returns="DatasetDict"))

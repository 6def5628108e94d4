"""``pair_tsv``: sentence-pair classification files without a header (XNLI, PAWS-X in XTREME form).

XTREME writes ``dev-xx.tsv`` / ``test-xx.tsv`` as ``text_a<TAB>text_b<TAB>label`` lines, no header,
no quoting; its test files carry no label column (two fields). The files of one task are
line-aligned translations, so ``idx`` (the 0-based line number) identifies the same example in
every language — what an offline protocol needs to train on some English ids and evaluate
every language on the others. Columns: ``text_a``, ``text_b``, ``label`` (the label string,
``""`` in unlabelled files), ``idx``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..files import TaskDataError, read_tsv
from .base import FileFormat, ReadReport, check_tag, opt, parse_options, register_format, start_report

NAME = "pair_tsv"


@dataclass(frozen=True)
class PairTsvOptions:
    """Options of the ``pair_tsv`` reader."""

    label_set: list[str] | None = opt(None, "the valid labels (e.g. [entailment, neutral, contradiction]); others are an error")
    labels: Literal["auto", "required"] = opt("auto", "auto: two-column files read as unlabelled; required: an error")
    text_a: int = opt(0, "0-based column of the first text")
    text_b: int = opt(1, "0-based column of the second text")
    label: int = opt(2, "0-based column of the label (in labelled files)")
    encoding: str = opt("utf-8", "text encoding of the file")


def read(path, *, report: ReadReport | None = None, **options):
    """Pairs → ``datasets.Dataset`` (text_a, text_b, label, idx)."""
    import datasets

    opts: PairTsvOptions = parse_options(PairTsvOptions, options, NAME)
    report = start_report(report, path, NAME)
    path = Path(path)
    if not path.is_file():
        raise TaskDataError(f"{path}: file not found")
    table = read_tsv(path, encoding=opts.encoding, header=False)
    if not table.rows:
        raise TaskDataError(f"{path}: file is empty")
    width = len(table.rows[0][1])
    labelled = width > opts.label
    if width <= max(opts.text_a, opts.text_b):
        raise TaskDataError(f"{path}:{table.rows[0][0]}: {width} fields, but text columns {opts.text_a} and "
                            f"{opts.text_b} are needed")
    if not labelled and opts.labels == "required":
        raise TaskDataError(f"{path}:{table.rows[0][0]}: no label column ({width} fields; XTREME strips test labels); "
                            "evaluate on a labelled split, or read with labels='auto'")
    label_set = frozenset(opts.label_set) if opts.label_set is not None else None
    out: dict[str, list] = {"text_a": [], "text_b": [], "label": [], "idx": []}
    for i, (line, fields) in enumerate(table.rows):
        out["text_a"].append(fields[opts.text_a])
        out["text_b"].append(fields[opts.text_b])
        label = fields[opts.label] if labelled else ""
        if labelled:
            check_tag(label, label_set, opts.label_set or (), f"{path}:{line}")
        out["label"].append(label)
        out["idx"].append(i)
    report.examples = len(out["idx"])
    report.labelled = labelled
    if not labelled:
        report.note(f"{path}: no label column (unlabelled)")
    return datasets.Dataset.from_dict(out, features=datasets.Features({
        "text_a": datasets.Value("string"), "text_b": datasets.Value("string"),
        "label": datasets.Value("string"), "idx": datasets.Value("int64")}))


register_format(FileFormat(NAME, read, PairTsvOptions, ("text_a", "text_b", "label", "idx"),
                           "XTREME XNLI / PAWS-X pair files: text_a<TAB>text_b[<TAB>label], no header; idx aligns languages",
                           example="xnli/dev-de.tsv.gz"))

"""``conllu``: Universal Dependencies CoNLL-U files → one row per sentence.

Each word line has 10 tab-separated fields (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS
MISC). The reader keeps FORM and one tag field (UPOS by default), and skips comment lines
(``#``), multi-word token ranges (``1-2``: their words follow as separate lines) and empty
nodes (``1.1``), as UD-POS in XTREME does. A sentence whose tag field is ``_`` throughout reads
as unlabelled. Columns: ``tokens``, ``tags``, ``idx`` (0-based sentence number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..files import TaskDataError
from .base import (FileFormat, ReadReport, check_tag, opt, parse_options, read_lines, register_format, start_report,
                   tagging_dataset)

NAME = "conllu"
FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
_WORD = re.compile(r"[1-9][0-9]*")
_RANGE = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
_EMPTY = re.compile(r"[0-9]+\.[1-9][0-9]*")


@dataclass(frozen=True)
class ConlluOptions:
    """Options of the ``conllu`` reader."""

    tag_field: Literal["upos", "xpos", "deprel", "lemma", "feats"] = opt("upos", "the CoNLL-U field read as the tag")
    tag_set: list[str] | None = opt(None, "the valid tags; any other tag is an error with file and line (null: any)")
    labels: Literal["auto", "required"] = opt("auto", "auto: files whose tag field is '_' read as unlabelled; required: an error")
    encoding: str = opt("utf-8", "text encoding of the file")


def read(path, *, report: ReadReport | None = None, **options):
    """Sentences of a CoNLL-U file → ``datasets.Dataset`` (tokens, tags, idx)."""
    opts: ConlluOptions = parse_options(ConlluOptions, options, NAME)
    report = start_report(report, path, NAME)
    column = FIELDS.index(opts.tag_field)
    tag_set = frozenset(opts.tag_set) if opts.tag_set is not None else None
    sentences: list[list[str]] = []
    sentence_tags: list[list[str]] = []
    tokens: list[str] = []
    tags: list[str] = []
    labelled: bool | None = None  # decided by the file's first word

    def end_sentence():
        nonlocal tokens, tags
        if tokens:
            sentences.append(tokens)
            sentence_tags.append(tags if labelled else [])
        tokens, tags = [], []

    for n, line in enumerate(read_lines(path, opts.encoding), start=1):
        where = f"{path}:{n}"
        if line.strip() == "":
            end_sentence()
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise TaskDataError(f"{where}: a CoNLL-U word line has 10 tab-separated fields, found {len(fields)}: "
                                f"{line[:120]!r}")
        word_id = fields[0]
        if _RANGE.fullmatch(word_id) or _EMPTY.fullmatch(word_id):
            continue
        if not _WORD.fullmatch(word_id):
            raise TaskDataError(f"{where}: bad word ID {word_id!r} (expected 1, 2, ..., a range 1-2 or an empty node 1.1)")
        if int(word_id) != len(tokens) + 1:
            raise TaskDataError(f"{where}: word ID {word_id} follows word {len(tokens)}; a blank line must end "
                                "each sentence")
        tag = fields[column]
        if labelled is None:
            labelled = tag != "_"
            if not labelled and opts.labels == "required":
                raise TaskDataError(f"{where}: the {opts.tag_field.upper()} field is '_' (no labels); evaluate on "
                                    "a labelled file, or read it with labels='auto'")
        if labelled:
            if tag == "_":
                raise TaskDataError(f"{where}: {opts.tag_field.upper()} is '_' although earlier words are tagged")
            check_tag(tag, tag_set, opts.tag_set or (), where)
            tags.append(tag)
        elif tag != "_":
            raise TaskDataError(f"{where}: {opts.tag_field.upper()} is {tag!r} although earlier words are untagged ('_')")
        tokens.append(fields[1])
    end_sentence()
    return tagging_dataset(sentences, sentence_tags, path, report, labelled=bool(labelled))


register_format(FileFormat(NAME, read, ConlluOptions, ("tokens", "tags", "idx"),
                           "Universal Dependencies CoNLL-U (FORM + UPOS; ranges, empty nodes, comments skipped)",
                           example="de_pud-ud-test.conllu.gz"))

"""``conll``: one token per line with its tag, a blank line between sentences.

The XTREME benchmark's own files (PAN-X ``panx/{train,dev,test}-xx.tsv``, UD-POS
``udpos/{train,dev,test}-xx.tsv``) are ``token<TAB>tag`` lines. XTREME ships some test files
with the tags stripped (``token`` lines only): those read as unlabelled (``tags == []`` in
every row, ``report.labelled is False``), or fail with ``labels="required"``. The raw WikiANN
release prefixes every token with its language (``en:Sioux``): ``lang_prefix="en"`` strips it
(and insists on it). Columns: ``tokens``, ``tags``, ``idx`` (0-based sentence number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..files import TaskDataError
from .base import (FileFormat, ReadReport, check_tag, opt, parse_options, read_lines, register_format, start_report,
                   tagging_dataset)

NAME = "conll"


@dataclass(frozen=True)
class ConllOptions:
    """Options of the ``conll`` reader."""

    tag_set: list[str] | None = opt(None, "the valid tags; any other tag is an error with file and line (null: any)")
    labels: Literal["auto", "required"] = opt("auto", "auto: token-only files read as unlabelled; required: they are an error")
    lang_prefix: str | None = opt(None, "strip '<lang_prefix>:' from every token (raw WikiANN files); a token without it is an error")
    delimiter: str = opt("\t", "field separator (' ' for CoNLL-2003-style files)")
    tag_column: int = opt(-1, "the field holding the tag (-1: the last)")
    encoding: str = opt("utf-8", "text encoding of the file")

    def validate(self):
        if not self.delimiter:
            raise ValueError("delimiter must be a non-empty string")
        if self.tag_column == 0:
            raise ValueError("tag_column 0 is the token; tags are in another column (default -1: the last)")


def read(path, *, report: ReadReport | None = None, **options):
    """Sentences of a CoNLL-style file → ``datasets.Dataset`` (tokens, tags, idx)."""
    opts: ConllOptions = parse_options(ConllOptions, options, NAME)
    report = start_report(report, path, NAME)
    tag_set = frozenset(opts.tag_set) if opts.tag_set is not None else None
    prefix = f"{opts.lang_prefix}:" if opts.lang_prefix else None
    sentences: list[list[str]] = []
    sentence_tags: list[list[str]] = []
    tokens: list[str] = []
    tags: list[str] = []
    width, first = None, 0

    for n, line in enumerate(read_lines(path, opts.encoding), start=1):
        where = f"{path}:{n}"
        if line.strip() == "":
            if tokens:
                sentences.append(tokens)
                sentence_tags.append(tags)
                tokens, tags = [], []
            continue
        fields = line.split(opts.delimiter)
        if width is None:
            width, first = len(fields), n
            if width == 1 and opts.labels == "required":
                raise TaskDataError(f"{where}: the file has tokens but no tags (XTREME strips the labels of "
                                    "some test sets); evaluate on a labelled split, or read it with labels='auto'")
            if width > 1 and not -width <= opts.tag_column < width:
                raise TaskDataError(f"{where}: tag_column {opts.tag_column} does not exist; lines have {width} fields")
        if len(fields) != width:
            raise TaskDataError(f"{where}: expected {width} fields separated by {opts.delimiter!r} (as on line "
                                f"{first}), found {len(fields)}: {line[:120]!r}")
        token = fields[0]
        if prefix is not None:
            if not token.startswith(prefix):
                raise TaskDataError(f"{where}: token {token!r} lacks the language prefix {prefix!r} "
                                    "(lang_prefix); drop the option for files without prefixes")
            token = token[len(prefix):]
        if token == "":
            raise TaskDataError(f"{where}: empty token")
        tokens.append(token)
        if width > 1:
            tag = fields[opts.tag_column]
            check_tag(tag, tag_set, opts.tag_set or (), where)
            tags.append(tag)
    if tokens:
        sentences.append(tokens)
        sentence_tags.append(tags)
    return tagging_dataset(sentences, sentence_tags, path, report, labelled=width is not None and width > 1)


register_format(FileFormat(NAME, read, ConllOptions, ("tokens", "tags", "idx"),
                           "token<TAB>tag lines, blank line between sentences (XTREME PAN-X / UD-POS .tsv)",
                           example="panx/dev-de.tsv.gz"))

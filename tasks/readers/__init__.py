"""File-format readers for XTREME-style data: a registry of formats, one module each.

    from posenc.tasks.readers import ReadReport, read
    report = ReadReport()
    ds = read("conll", "panx/dev-de.tsv.gz", tag_set=["O", "B-PER", ...], report=report)
    ds.column_names        # ['tokens', 'tags', 'idx'];  report.labelled, report.examples

=============  ==========================================  =========================================
format         files                                        columns
=============  ==========================================  =========================================
``conll``      ``token<TAB>tag`` lines (PAN-X, UD-POS .tsv)  tokens, tags, idx
``conllu``     Universal Dependencies CoNLL-U               tokens, tags, idx
``squad_json`` SQuAD v1.1 JSON (XQuAD, MLQA, TyDiQA-GoldP)   id, title, context, question, answers
``tatoeba``    LASER ``tatoeba.XXX-eng.{XXX,eng}``           source, target, idx
``bucc``       BUCC 2018 ``xx-en.<split>.{xx,en,gold}``      DatasetDict: source, target, gold
``pair_tsv``   XNLI / PAWS-X ``dev-xx.tsv``                  text_a, text_b, label, idx
``parallel``   MT text, a file per side (``train.en.gz``)     source, target, idx
=============  ==========================================  =========================================

Every reader reads ``.gz`` transparently (:func:`data_file` finds ``x.tsv`` given ``x.tsv.gz`` and the
reverse) and raises :class:`posenc.tasks.TaskDataError` naming
the file and line of malformed input. :mod:`.hub` maps the same data on the Hugging Face Hub
(``google/xtreme``, MNLI, SQuAD) to the same columns; :mod:`.languages` holds the XTREME
language codes of each source.
"""

from . import bucc, conll, conllu, pair_tsv, parallel, squad_json, tatoeba  # noqa: F401  (registration)
from .base import FORMATS, FileFormat, ReadReport, data_file, register_format
from .languages import XTREME_LANGUAGES, Language, language


def get_format(name: str) -> FileFormat:
    """The registered format ``name`` (unknown → closest match and the list)."""
    return FORMATS.get(name)


def list_formats(pattern: str = "*") -> list[str]:
    return FORMATS.list(pattern)


def read(format: str, path, *, report: ReadReport | None = None, **options):
    """Read ``path`` with the registered ``format``; see each format's options dataclass."""
    return get_format(format).read(path, report=report, **options)


__all__ = ["FORMATS", "FileFormat", "ReadReport", "register_format", "get_format", "list_formats", "read", "data_file",
           "XTREME_LANGUAGES", "Language", "language"]

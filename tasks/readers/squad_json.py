"""``squad_json``: SQuAD v1.1-format JSON (SQuAD, XQuAD, MLQA, TyDiQA-GoldP) → one row per question.

Layout: ``{"data": [{"title": ..., "paragraphs": [{"context": ..., "qas": [{"id", "question",
"answers": [{"text", "answer_start"}]}]}]}]}`` (TyDiQA-GoldP has no ``title``: read as ``""``).
Columns follow the Hugging Face ``squad`` schema: ``id``, ``title``, ``context``, ``question``,
``answers = {"text": [...], "answer_start": [...]}``.

Every answer is checked: ``context[answer_start : answer_start + len(text)] == text``. A
mismatch is fixed (``bad_answers="fix"``: the occurrence of the text nearest the given offset;
dropped when the text is absent), dropped (``"skip"``) or an error (``"error"``). Whatever the
mode, more than ``max_bad_fraction`` of mismatched answers is an error (a systematic problem,
e.g. byte offsets or the wrong file). The counts land in ``report.counts``.

XTREME strips the answers of its test sets by replacing them with ``{"text": "",
"answer_start": 0}`` (its TyDiQA-GoldP dev files are such). A file whose every answer is empty
reads as unlabelled (empty answer lists, ``report.labelled is False``; ``labels="required"``
makes it an error); an empty answer in an otherwise labelled file is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from ..files import TaskDataError
from .base import FileFormat, ReadReport, decode_text, opt, parse_options, register_format, start_report

NAME = "squad_json"
_SHOWN = 5  # mismatches quoted in report.messages


@dataclass(frozen=True)
class SquadOptions:
    """Options of the ``squad_json`` reader."""

    bad_answers: Literal["fix", "skip", "error"] = opt(
        "fix", "an answer whose answer_start does not match the context: fix (nearest occurrence of its text), "
               "skip (drop it, counted) or error")
    max_bad_fraction: float = opt(0.01, "more mismatched answers than this fraction is an error in every mode")
    allow_unanswerable: bool = opt(False, "keep questions without answers (SQuAD 2.0) instead of an error")
    duplicate_ids: Literal["rename", "error"] = opt(
        "rename", "a question id seen before (XTREME's TyDiQA-GoldP train files reuse ids): rename it "
                  "'<id>~<n>' (counted) or error")
    labels: Literal["auto", "required"] = opt("auto", "auto: a file whose answers are all empty (XTREME test form) "
                                                      "reads as unlabelled; required: an error")
    encoding: str = opt("utf-8", "text encoding of the file")

    def validate(self):
        if not 0.0 <= self.max_bad_fraction <= 1.0:
            raise ValueError(f"max_bad_fraction must be in [0, 1], got {self.max_bad_fraction}")


def squad_features():
    import datasets

    return datasets.Features({
        "id": datasets.Value("string"), "title": datasets.Value("string"), "context": datasets.Value("string"),
        "question": datasets.Value("string"),
        "answers": {"text": datasets.List(datasets.Value("string")),
                    "answer_start": datasets.List(datasets.Value("int32"))},
    })


def nearest_occurrence(context: str, text: str, start: int) -> int | None:
    """Offset of the occurrence of ``text`` in ``context`` nearest ``start`` (None if absent)."""
    best, pos = None, context.find(text)
    while pos != -1:
        if best is None or abs(pos - start) < abs(best - start):
            best = pos
        pos = context.find(text, pos + 1)
    return best


def _line_of(raw: str, qid: str) -> int:
    """1-based line of a question id in the raw JSON (for error messages; 1 in one-line files)."""
    pos = raw.find(json.dumps(qid, ensure_ascii=False))
    if pos == -1:
        pos = raw.find(json.dumps(qid))
    return raw.count("\n", 0, max(pos, 0)) + 1


def _need(obj, key: str, kind, where):
    """``obj[key]`` checked to be a ``kind``; ``where`` (a string or a function giving one, built
    only on error: finding a question's line is a search through the file) locates it."""
    if not isinstance(obj, dict) or key not in obj:
        have = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise TaskDataError(f"{where() if callable(where) else where}: missing key {key!r} (has {have})")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TaskDataError(f"{where() if callable(where) else where}: {key!r} must be "
                            f"{getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def _answers_stripped(articles) -> bool:
    """True when the file has answers and every one is ``{"text": ""}`` (XTREME's unlabelled form)."""
    texts = [ans.get("text") for art in articles if isinstance(art, dict)
             for para in art.get("paragraphs", []) if isinstance(para, dict)
             for qa in para.get("qas", []) if isinstance(qa, dict)
             for ans in qa.get("answers", []) if isinstance(ans, dict)]
    return bool(texts) and all(t == "" for t in texts)


def read(path, *, report: ReadReport | None = None, **options):
    """Questions of a SQuAD-format JSON file → ``datasets.Dataset`` (squad schema)."""
    import datasets

    opts: SquadOptions = parse_options(SquadOptions, options, NAME)
    report = start_report(report, path, NAME)
    raw = decode_text(path, opts.encoding)
    if raw.strip() == "":
        raise TaskDataError(f"{path}: file is empty")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        raise TaskDataError(f"{path}:{e.lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
    articles = _need(doc, "data", list, f"{path}: top level")
    if _answers_stripped(articles):
        if opts.labels == "required":
            raise TaskDataError(f"{path}: every answer is empty (XTREME strips the answers of test sets this way); "
                                "evaluate on a labelled file, or read with labels='auto'")
        report.labelled = False
        report.note(f"{path}: every answer is empty (answers stripped): unlabelled")

    rows: dict[str, list] = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    seen: dict[str, str] = {}
    n_answers = mismatched = fixed = dropped = questions_dropped = renamed = 0
    for a, article in enumerate(articles):
        title = article.get("title", "") if isinstance(article, dict) else ""
        for p, para in enumerate(_need(article, "paragraphs", list, f"{path}: data[{a}]")):
            at = f"{path}: data[{a}].paragraphs[{p}]"
            context = _need(para, "context", str, at)
            for q, qa in enumerate(_need(para, "qas", list, at)):
                qid = _need(qa, "id", str, f"{at}.qas[{q}]")

                def where(qid=qid, q=q, a=a, p=p) -> str:
                    return f"{path}:{_line_of(raw, qid)}: question {qid!r} (data[{a}].paragraphs[{p}].qas[{q}])"

                if qid in seen:
                    if opts.duplicate_ids == "error":
                        raise TaskDataError(f"{where()}: duplicate id (also in {seen[qid]}); read with "
                                            "duplicate_ids='rename' to number the repeats")
                    n = 1
                    while f"{qid}~{n}" in seen:
                        n += 1
                    qid, renamed = f"{qid}~{n}", renamed + 1
                seen[qid] = f"data[{a}].paragraphs[{p}]"
                question = _need(qa, "question", str, where)
                texts, starts = [], []
                answers = _need(qa, "answers", list, where)
                for k, ans in enumerate(answers):
                    text = _need(ans, "text", str, lambda: f"{where()}, answer {k}")
                    start = _need(ans, "answer_start", int, lambda: f"{where()}, answer {k}")
                    if not report.labelled:
                        continue
                    if text == "":
                        raise TaskDataError(f"{where()}, answer {k}: empty answer text")
                    n_answers += 1
                    if context[start:start + len(text)] != text or start < 0:
                        mismatched += 1
                        problem = (f"{where()}, answer {k}: answer_start {start} does not point at {text[:60]!r} "
                                   f"(context has {context[max(start, 0):max(start, 0) + len(text)][:60]!r} there)")
                        if opts.bad_answers == "error":
                            raise TaskDataError(problem + "; read with bad_answers='fix' or 'skip' to repair or drop it")
                        found = nearest_occurrence(context, text, start) if opts.bad_answers == "fix" and text else None
                        if found is None:
                            dropped += 1
                            if mismatched <= _SHOWN:
                                report.note(problem + " — dropped")
                            continue
                        fixed += 1
                        if mismatched <= _SHOWN:
                            report.note(problem + f" — moved to {found}")
                        start = found
                    texts.append(text)
                    starts.append(start)
                if not texts and report.labelled:
                    if answers:  # every answer was dropped: the question cannot be scored
                        questions_dropped += 1
                        continue
                    if not opts.allow_unanswerable:
                        raise TaskDataError(f"{where()}: no answers (SQuAD 2.0 unanswerable?); SQuAD v1.1 format needs "
                                            "at least one; read with allow_unanswerable=True to keep it")
                rows["id"].append(qid)
                rows["title"].append(title if isinstance(title, str) else str(title))
                rows["context"].append(context)
                rows["question"].append(question)
                rows["answers"].append({"text": texts, "answer_start": starts})

    if mismatched and mismatched > opts.max_bad_fraction * n_answers:
        raise TaskDataError(f"{path}: {mismatched} of {n_answers} answers ({mismatched / n_answers:.1%}) have an "
                            f"answer_start that does not match the context, more than max_bad_fraction="
                            f"{opts.max_bad_fraction}: wrong file or offsets counted in bytes? First: "
                            f"{report.messages[0] if report.messages else ''}")
    if not rows["id"]:
        raise TaskDataError(f"{path}: no questions in the file")
    report.examples = len(rows["id"])
    report.fixed, report.skipped = fixed, dropped
    report.counts.update(answers=n_answers, answers_mismatched=mismatched, answers_fixed=fixed,
                         answers_dropped=dropped, questions_dropped=questions_dropped, ids_renamed=renamed)
    if renamed:
        report.note(f"{path}: {renamed} repeated question ids renamed '<id>~<n>'")
    if mismatched:
        report.note(f"{path}: {mismatched} of {n_answers} answers had a wrong answer_start: {fixed} fixed, "
                    f"{dropped} dropped, {questions_dropped} questions dropped")
    return datasets.Dataset.from_dict(rows, features=squad_features())


register_format(FileFormat(NAME, read, SquadOptions, ("id", "title", "context", "question", "answers"),
                           "SQuAD v1.1 JSON (SQuAD, XQuAD, MLQA, TyDiQA-GoldP); answer offsets checked",
                           example="xquad/xquad.de.json.gz"))

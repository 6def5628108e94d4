"""File-format readers (posenc.tasks.readers): columns and values on real excerpts, every malformed
case named by file and line, the bundled XTREME slices, and the full local XTREME layout.

The local-layout tests read ``shared/data/xtreme`` next to the checkout (or
``$POSENC_SHARED_DATA/xtreme``) and skip when it is absent."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from posenc.options import OptionError
from posenc.tasks import TaskDataError
from posenc.tasks.files import file_format, read_table
from posenc.tasks.readers import FORMATS, ReadReport, get_format, language, read

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "posenc" / "resources" / "xtreme"
# $POSENC_SHARED_DATA/xtreme, else shared/data/xtreme beside the checkout (or beside its parent, for worktrees)
SHARED = next((p for p in ([Path(os.environ["POSENC_SHARED_DATA"]) / "xtreme"] if os.environ.get("POSENC_SHARED_DATA")
                           else [q / "shared" / "data" / "xtreme" for q in REPO.parents[:2]]) if p.is_dir()),
              REPO.parent / "shared" / "data" / "xtreme")
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no XTREME data at {SHARED} (set POSENC_SHARED_DATA "
                                                              "to the folder holding xtreme/)")
PANX_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
        "SCONJ", "SYM", "VERB", "X"]

# the first two sentences of PAN-X en dev (XTREME panx/dev-en.tsv)
PANX_EN = ("Sioux\tB-ORG\nFalls\tI-ORG\nArena\tI-ORG\n(\tO\nSioux\tB-LOC\nFalls\tI-LOC\n,\tI-LOC\nSouth\tI-LOC\n"
           "Dakota\tI-LOC\n)\tO\n\nGeorge\tB-PER\nRandolph\tI-PER\nHearst\tI-PER\n,\tI-PER\nJr\tI-PER\n.\tI-PER\n\n")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


# ---- the registry ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FORMATS.names())
def test_every_format_rejects_missing_empty_and_unknown_options(name, tmp_path):
    fmt = get_format(name)
    path = tmp_path / fmt.example
    with pytest.raises(TaskDataError, match="file not found"):
        fmt.read(path)
    write(path, "")
    with pytest.raises(TaskDataError, match=f"{path.name}: file is empty"):
        fmt.read(path)
    with pytest.raises(OptionError, match=f"unknown option 'encodng' for file format '{name}'. Did you mean 'encoding'"):
        fmt.read(path, encodng="latin-1")
    write(path, b"caf\xe9\n")
    with pytest.raises(TaskDataError, match=rf"{path.name}:1: cannot decode as utf-8"):
        fmt.read(path)


def test_data_file_finds_the_gzip_twin(tmp_path):
    from posenc.tasks.readers import data_file

    write(tmp_path / "dev-de.tsv.gz", XNLI_DE)
    assert data_file(tmp_path / "dev-de.tsv") == tmp_path / "dev-de.tsv.gz"
    assert data_file(tmp_path / "dev-de.tsv.gz") == tmp_path / "dev-de.tsv.gz"
    with pytest.raises(TaskDataError, match=r"dev-fr\.tsv: file not found \(nor dev-fr\.tsv\.gz\)"):
        data_file(tmp_path / "dev-fr.tsv")


def test_unknown_format_names_the_closest():
    with pytest.raises(KeyError, match=r"unknown file format 'conl'. Did you mean 'conll'"):
        read("conl", "x.tsv")


# ---- conll ---------------------------------------------------------------------------------------

def test_conll_reads_panx_excerpt_plain_and_gzip(tmp_path):
    report = ReadReport()
    plain = read("conll", write(tmp_path / "dev-en.tsv", PANX_EN), tag_set=PANX_TAGS, report=report)
    assert plain.column_names == ["tokens", "tags", "idx"] and report.labelled and report.examples == 2
    assert plain[0]["tokens"] == ["Sioux", "Falls", "Arena", "(", "Sioux", "Falls", ",", "South", "Dakota", ")"]
    assert plain[0]["tags"] == ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "I-LOC", "I-LOC", "I-LOC", "I-LOC", "O"]
    assert plain[1] == {"tokens": ["George", "Randolph", "Hearst", ",", "Jr", "."],
                        "tags": ["B-PER"] + ["I-PER"] * 5, "idx": 1}
    gz = read("conll", write(tmp_path / "dev-en.tsv.gz", PANX_EN.replace("\n", "\r\n")))
    assert gz.to_dict() == plain.to_dict()


def test_conll_errors_name_file_and_line(tmp_path):
    bad_tag = write(tmp_path / "a.tsv", PANX_EN.replace("Jr\tI-PER", "Jr\tI-PRE"))
    with pytest.raises(TaskDataError, match=r"a\.tsv:16: unknown tag 'I-PRE'\. Did you mean 'I-PER'"):
        read("conll", bad_tag, tag_set=PANX_TAGS)
    assert read("conll", bad_tag)[1]["tags"][4] == "I-PRE"  # no tag set: any tag
    fields = write(tmp_path / "b.tsv", PANX_EN.replace("Hearst\tI-PER", "Hearst\tI-PER\textra"))
    with pytest.raises(TaskDataError, match=r"b\.tsv:14: expected 2 fields .* \(as on line 1\), found 3"):
        read("conll", fields)


def test_conll_token_only_test_files_are_unlabelled(tmp_path):
    # XTREME's German UD-POS test file ships without tags: first tokens of udpos/test-de.tsv
    path = write(tmp_path / "test-de.tsv.gz", "Der\nHauptgang\nwar\nin\nOrdnung\n\nAber\n")
    report = ReadReport()
    ds = read("conll", path, report=report)
    assert not report.labelled and ds["tags"] == [[], []] and ds[0]["tokens"][:2] == ["Der", "Hauptgang"]
    with pytest.raises(TaskDataError, match=r"test-de\.tsv\.gz:1: the file has tokens but no tags"):
        read("conll", path, labels="required")
    mixed = write(tmp_path / "mixed.tsv", "Der\tDET\nHauptgang\n")
    with pytest.raises(TaskDataError, match=r"mixed\.tsv:2: expected 2 fields"):
        read("conll", mixed)


def test_conll_language_prefix_of_raw_wikiann(tmp_path):
    path = write(tmp_path / "raw.tsv", "en:Sioux\tB-ORG\nen:Falls\tI-ORG\n")
    assert read("conll", path, lang_prefix="en")[0]["tokens"] == ["Sioux", "Falls"]
    # without the option the prefix is part of the token (real tokens contain ':', e.g. 'xml:base')
    assert read("conll", path)[0]["tokens"] == ["en:Sioux", "en:Falls"]
    with pytest.raises(TaskDataError, match=r"raw\.tsv:1: token 'en:Sioux' lacks the language prefix 'de:'"):
        read("conll", path, lang_prefix="de")


# ---- conllu --------------------------------------------------------------------------------------

# UD_English-EWT dev, sentence weblog-...-0005 (fields shown space-separated; tabs in the file)
EWT = """# sent_id = weblog-blogspot.com_marketview_20050210075500_ENG_20050210_075500-0005
# text = Read the entire article; there's a punchline, too.
1 Read read VERB VB Mood=Imp|VerbForm=Fin 0 root 0:root _
2 the the DET DT Definite=Def|PronType=Art 4 det 4:det _
3 entire entire ADJ JJ Degree=Pos 4 amod 4:amod _
4 article article NOUN NN Number=Sing 1 obj 1:obj SpaceAfter=No
5 ; ; PUNCT , _ 7 punct 7:punct _
6-7 there's _ _ _ _ _ _ _ _
6 there there PRON EX _ 7 expl 7:expl _
7 's be VERB VBZ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 1 parataxis 1:parataxis _
7.1 _ _ _ _ _ _ _ _ _
8 a a DET DT Definite=Ind|PronType=Art 9 det 9:det _
9 punchline punchline NOUN NN Number=Sing 7 nsubj 7:nsubj SpaceAfter=No
10 , , PUNCT , _ 11 punct 11:punct _
11 too too ADV RB _ 7 advmod 7:advmod SpaceAfter=No
12 . . PUNCT . _ 1 punct 1:punct _

"""


def conllu(text: str) -> str:
    return "\n".join(ln if ln.startswith("#") else ln.replace(" ", "\t") for ln in text.split("\n"))


def test_conllu_skips_comments_ranges_and_empty_nodes(tmp_path):
    path = write(tmp_path / "en_ewt-ud-dev.conllu.gz", conllu(EWT + EWT))
    report = ReadReport()
    ds = read("conllu", path, tag_set=UPOS, report=report)
    assert len(ds) == 2 and report.labelled and ds["idx"] == [0, 1]
    assert ds[0]["tokens"] == ["Read", "the", "entire", "article", ";", "there", "'s", "a", "punchline", ",", "too", "."]
    assert ds[0]["tags"] == ["VERB", "DET", "ADJ", "NOUN", "PUNCT", "PRON", "VERB", "DET", "NOUN", "PUNCT", "ADV",
                             "PUNCT"]
    assert read("conllu", path, tag_field="xpos")[0]["tags"][:4] == ["VB", "DT", "JJ", "NN"]


def test_conllu_errors_name_file_and_line(tmp_path):
    nine = write(tmp_path / "a.conllu", conllu(EWT.replace("3 entire entire ADJ JJ Degree=Pos 4 amod 4:amod _",
                                                           "3 entire entire ADJ JJ Degree=Pos 4 amod 4:amod")))
    with pytest.raises(TaskDataError, match=r"a\.conllu:5: a CoNLL-U word line has 10 tab-separated fields, found 9"):
        read("conllu", nine)
    no_blank = write(tmp_path / "b.conllu", conllu(EWT.rstrip("\n") + "\n" + EWT.split("\n", 2)[2]))
    with pytest.raises(TaskDataError, match=r"b\.conllu:17: word ID 1 follows word 12; a blank line must end"):
        read("conllu", no_blank)
    bad_tag = write(tmp_path / "c.conllu", conllu(EWT.replace("NOUN NN Number=Sing 1", "NUON NN Number=Sing 1")))
    with pytest.raises(TaskDataError, match=r"c\.conllu:6: unknown tag 'NUON'\. Did you mean 'NOUN'"):
        read("conllu", bad_tag, tag_set=UPOS)
    bad_id = write(tmp_path / "d.conllu", conllu(EWT.replace("\n8 a a", "\n8a a a")))
    with pytest.raises(TaskDataError, match=r"d\.conllu:12: bad word ID '8a'"):
        read("conllu", bad_id)


# ---- squad_json ----------------------------------------------------------------------------------

# XQuAD en, article Super_Bowl_50, first sentence of the first paragraph and its first question
CONTEXT = ("The Panthers defense gave up just 308 points, ranking sixth in the league, while also leading the NFL "
           "in interceptions with 24 and boasting four Pro Bowl selections.")


def squad_file(path: Path, qas: list[dict], indent: int | None = 1, title: str | None = "Super_Bowl_50") -> Path:
    article = {"paragraphs": [{"context": CONTEXT, "qas": qas}]}
    if title is not None:
        article["title"] = title
    return write(path, json.dumps({"version": "1.1", "data": [article]}, indent=indent))


def qa(qid: str, *answers: tuple[int, str], question="How many points did the Panthers defense surrender?"):
    return {"id": qid, "question": question, "answers": [{"answer_start": s, "text": t} for s, t in answers]}


def test_squad_json_reads_the_hf_squad_schema(tmp_path):
    path = squad_file(tmp_path / "xquad.en.json.gz", [qa("56beb4343aeaaa14008c925b", (34, "308")),
                                                       qa("q2", (34, "308"), (34, "308 points"))], title=None)
    report = ReadReport()
    ds = read("squad_json", path, report=report)
    assert ds.column_names == ["id", "title", "context", "question", "answers"]
    assert ds[0] == {"id": "56beb4343aeaaa14008c925b", "title": "", "context": CONTEXT,
                     "question": "How many points did the Panthers defense surrender?",
                     "answers": {"text": ["308"], "answer_start": [34]}}
    assert ds[1]["answers"] == {"text": ["308", "308 points"], "answer_start": [34, 34]}
    assert report.counts == {"answers": 3, "answers_mismatched": 0, "answers_fixed": 0, "answers_dropped": 0,
                             "questions_dropped": 0, "ids_renamed": 0} and report.labelled


def test_squad_json_bad_answer_start_fix_skip_error(tmp_path):
    # "24" is at 124 and "the league" at 63; q3's text is not in the context at all
    qas = [qa("q1", (34, "308")), qa("q2", (120, "24")), qa("q3", (0, "Broncos")), qa("q4", (60, "the league"))]
    path = squad_file(tmp_path / "dev.json", qas)
    report = ReadReport()
    fixed = read("squad_json", path, max_bad_fraction=1.0, report=report)
    assert fixed["id"] == ["q1", "q2", "q4"] and fixed[1]["answers"]["answer_start"] == [124]
    assert fixed[2]["answers"]["answer_start"] == [63]
    assert report.counts["answers_mismatched"] == 3 and report.fixed == 2 and report.skipped == 1
    assert report.counts["questions_dropped"] == 1
    assert any("question 'q2'" in m and "answer_start 120 does not point at '24'" in m and "moved to 124" in m
               for m in report.messages)
    skipped = read("squad_json", path, bad_answers="skip", max_bad_fraction=1.0, report=report)
    assert skipped["id"] == ["q1"] and report.skipped == 3 and report.counts["questions_dropped"] == 3
    # error mode names the file, the line of the question in the JSON, and the question id
    with pytest.raises(TaskDataError, match=r"dev\.json:\d+: question 'q2' .*answer_start 120 does not point at '24'"):
        read("squad_json", path, bad_answers="error")
    line = next(i for i, ln in enumerate(path.read_text().split("\n"), 1) if '"q2"' in ln)
    with pytest.raises(TaskDataError, match=rf"dev\.json:{line}: question 'q2'"):
        read("squad_json", path, bad_answers="error")
    # above the threshold (default 1%) every mode stops
    with pytest.raises(TaskDataError, match=r"3 of 4 answers \(75\.0%\) have an answer_start that does not match"):
        read("squad_json", path)


def test_squad_json_stripped_answers_duplicates_and_malformed(tmp_path):
    stripped = squad_file(tmp_path / "tydiqa.goldp.en.dev.json", [qa("english-1", (0, "")), qa("english-2", (0, ""))])
    report = ReadReport()
    ds = read("squad_json", stripped, report=report)
    assert not report.labelled and ds["answers"] == [{"text": [], "answer_start": []}] * 2
    with pytest.raises(TaskDataError, match="every answer is empty"):
        read("squad_json", stripped, labels="required")
    dup = squad_file(tmp_path / "train.json", [qa("0", (34, "308")), qa("0", (34, "308")), qa("0", (34, "308"))])
    assert read("squad_json", dup, report=report)["id"] == ["0", "0~1", "0~2"] and report.counts["ids_renamed"] == 2
    with pytest.raises(TaskDataError, match=r"train\.json:\d+: question '0' .*duplicate id"):
        read("squad_json", dup, duplicate_ids="error")
    broken = write(tmp_path / "broken.json", '{"data": [\n{"paragraphs": [}\n]}')
    with pytest.raises(TaskDataError, match=r"broken\.json:2: invalid JSON"):
        read("squad_json", broken)
    no_question = squad_file(tmp_path / "noq.json", [{"id": "q9", "answers": []}])
    with pytest.raises(TaskDataError, match=r"noq\.json:\d+: question 'q9' .*missing key 'question'"):
        read("squad_json", no_question)
    unanswerable = squad_file(tmp_path / "v2.json", [qa("q1", (34, "308")), qa("q2")])
    with pytest.raises(TaskDataError, match="question 'q2' .*no answers"):
        read("squad_json", unanswerable)
    assert read("squad_json", unanswerable, allow_unanswerable=True)[1]["answers"]["text"] == []


# ---- tatoeba -------------------------------------------------------------------------------------

DEU = "Maria sagte, sie wisse nicht, wo Tom sei.\nWie lange sollen Tom und ich hierbleiben?\n"
ENG = "Mary said she didn't know where Tom was.\nHow long are Tom and I supposed to stay here?\n"


def test_tatoeba_pairs_line_by_line(tmp_path):
    src = write(tmp_path / "tatoeba.deu-eng.deu.gz", DEU)
    write(tmp_path / "tatoeba.deu-eng.eng.gz", ENG)
    ds = read("tatoeba", src)
    assert ds.column_names == ["source", "target", "idx"] and ds["idx"] == [0, 1]
    assert ds[1] == {"source": "Wie lange sollen Tom und ich hierbleiben?",
                     "target": "How long are Tom and I supposed to stay here?", "idx": 1}
    other = write(tmp_path / "de.txt", DEU)
    assert read("tatoeba", other, target=str(tmp_path / "tatoeba.deu-eng.eng.gz"))["source"] == ds["source"]
    with pytest.raises(TaskDataError, match="not a LASER Tatoeba file name"):
        read("tatoeba", other)


def test_tatoeba_errors(tmp_path):
    src = write(tmp_path / "tatoeba.deu-eng.deu", DEU)
    with pytest.raises(TaskDataError, match=r"English side .*tatoeba\.deu-eng\.eng is missing"):
        read("tatoeba", src)
    write(tmp_path / "tatoeba.deu-eng.eng", ENG + "One more.\n")
    with pytest.raises(TaskDataError, match=r"tatoeba\.deu-eng\.deu has 2 lines but .*tatoeba\.deu-eng\.eng has 3"):
        read("tatoeba", src)
    write(tmp_path / "tatoeba.deu-eng.eng", ENG.replace("\n", "\n\n", 1))
    with pytest.raises(TaskDataError, match=r"tatoeba\.deu-eng\.eng:2: empty line"):
        read("tatoeba", src)


# ---- bucc ----------------------------------------------------------------------------------------

def bucc_split(folder: Path, split: str, gold: str | None) -> Path:
    write(folder / f"de-en.{split}.de", "de-000000001\tDas Haus ist klein.\nde-000000002\tEr liest ein Buch.\n"
                                        "de-000000003\tDie Sonne scheint heute.\n")
    write(folder / f"de-en.{split}.en.gz", "en-000000001\tThe weather is cold.\nen-000000002\tThe house is small.\n")
    if gold is not None:
        write(folder / f"de-en.{split}.gold", gold)
    return folder / f"de-en.{split}"


def test_bucc_reads_sides_and_gold(tmp_path):
    prefix = bucc_split(tmp_path, "training", "de-000000001\ten-000000002\n")
    report = ReadReport()
    dd = read("bucc", prefix, report=report)
    assert sorted(dd) == ["gold", "source", "target"] and report.labelled
    assert dd["source"][1] == {"id": "de-000000002", "text": "Er liest ein Buch."}
    assert dd["target"]["id"] == ["en-000000001", "en-000000002"]
    assert dd["gold"].to_dict() == {"source_id": ["de-000000001"], "target_id": ["en-000000002"]}
    assert report.counts == {"source": 3, "target": 2, "gold": 1}
    assert read("bucc", tmp_path / "de-en.training.gold")["gold"].num_rows == 1   # any of the files names the set
    test = bucc_split(tmp_path, "test", None)
    assert read("bucc", test, report=report)["gold"].num_rows == 0 and not report.labelled
    with pytest.raises(TaskDataError, match=r"de-en\.test\.gold: file not found"):
        read("bucc", test, labels="required")


def test_bucc_errors(tmp_path):
    with pytest.raises(TaskDataError, match=r"de-en\.sample\.gold:2: id 'en-000000009' is not in de-en\.sample\.en"):
        read("bucc", bucc_split(tmp_path, "sample", "de-000000001\ten-000000002\nde-000000003\ten-000000009\n"))
    write(tmp_path / "de-en.dup.de", "de-1\tEins.\nde-1\tZwei.\n")
    write(tmp_path / "de-en.dup.en", "en-1\tOne.\n")
    with pytest.raises(TaskDataError, match=r"de-en\.dup\.de:2: duplicate id 'de-1' \(first on line 1\)"):
        read("bucc", tmp_path / "de-en.dup")
    write(tmp_path / "de-en.bad.de", "de-1 Eins.\n")
    with pytest.raises(TaskDataError, match=r"de-en\.bad\.de:1: expected 'id<TAB>sentence'"):
        read("bucc", tmp_path / "de-en.bad")


# ---- pair_tsv and the task tsv machinery ---------------------------------------------------------

XNLI_DE = ("und er hat gesagt, Mama ich bin daheim.\tEr rief seine Mutter an, sobald er aus dem Schulbus stieg.\tneutral\n"
           "und er hat gesagt, Mama ich bin daheim.\tEr sagte kein Wort.\tcontradiction\n")
NLI = ["entailment", "neutral", "contradiction"]


def test_pair_tsv_labelled_and_unlabelled(tmp_path):
    ds = read("pair_tsv", write(tmp_path / "dev-de.tsv.gz", XNLI_DE), label_set=NLI)
    assert ds.column_names == ["text_a", "text_b", "label", "idx"]
    assert ds[1] == {"text_a": "und er hat gesagt, Mama ich bin daheim.", "text_b": "Er sagte kein Wort.",
                     "label": "contradiction", "idx": 1}
    report = ReadReport()
    test = read("pair_tsv", write(tmp_path / "test-de.tsv", "".join(ln.rsplit("\t", 1)[0] + "\n"
                                                                    for ln in XNLI_DE.splitlines())), report=report)
    assert test["label"] == ["", ""] and not report.labelled
    with pytest.raises(TaskDataError, match=r"test-de\.tsv:1: no label column"):
        read("pair_tsv", tmp_path / "test-de.tsv", labels="required")
    with pytest.raises(TaskDataError, match=r"bad\.tsv:2: unknown tag 'contradictory'\. Did you mean 'contradiction'"):
        read("pair_tsv", write(tmp_path / "bad.tsv", XNLI_DE.replace("\tcontradiction", "\tcontradictory")),
             label_set=NLI)
    with pytest.raises(TaskDataError, match=r"short\.tsv:2: expected 3 tab-separated fields"):
        read("pair_tsv", write(tmp_path / "short.tsv", XNLI_DE.replace("\tcontradiction", "")))


def test_task_tsv_machinery_reads_gzip(tmp_path):
    path = write(tmp_path / "dev-de.tsv.gz", XNLI_DE)
    assert file_format(path, None) == "tsv"
    table = read_table(path, "tsv", encoding="utf-8", header=False)
    assert [fields[2] for _, fields in table.rows] == ["neutral", "contradiction"]
    write(tmp_path / "broken.tsv.gz", b"")
    (tmp_path / "broken.tsv.gz").write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(TaskDataError, match=r"broken\.tsv\.gz: not a valid gzip file"):
        read_table(tmp_path / "broken.tsv.gz", "tsv", encoding="utf-8", header=False)


# ---- the bundled slices (posenc/resources/xtreme) ------------------------------------------------

SLICE_LANGS = ["en", "de", "es", "ru", "zh", "ar"]


def test_bundled_slices_sizes_and_alignment():
    size = sum(f.stat().st_size for f in BUNDLED.rglob("*") if f.is_file())
    assert size < 5_000_000, size
    xnli = {lang: read("pair_tsv", BUNDLED / f"xnli/dev-{lang}.tsv.gz", label_set=NLI, labels="required")
            for lang in SLICE_LANGS}
    assert all(len(ds) == 2490 for ds in xnli.values())
    assert all(ds["label"] == xnli["en"]["label"] for ds in xnli.values())   # translations of the same examples
    assert xnli["en"]["label"].count("neutral") == 830
    ids = {lang: read("squad_json", BUNDLED / f"xquad/xquad.{lang}.json.gz", labels="required")["id"]
           for lang in SLICE_LANGS}
    assert all(v == ids["en"] for v in ids.values()) and len(ids["en"]) == 271
    for lang in SLICE_LANGS:
        for split in ("dev", "test"):
            assert len(read("conll", BUNDLED / f"panx/{split}-{lang}.tsv.gz", tag_set=PANX_TAGS, labels="required")) == 1000
        assert len(read("conll", BUNDLED / f"udpos_xtreme/dev-{lang}.tsv.gz", tag_set=UPOS, labels="required")) == 500
        if lang != "en":
            assert len(read("tatoeba", BUNDLED / f"tatoeba/tatoeba.{language(lang).tatoeba}-eng.{language(lang).tatoeba}.gz")) == 1000
    assert len(read("conll", BUNDLED / "panx/train-en.tsv.gz", tag_set=PANX_TAGS)) == 5000
    assert len(read("conll", BUNDLED / "udpos_xtreme/train-en.tsv.gz", tag_set=UPOS)) == 3000
    train = read("squad_json", BUNDLED / "tydiqa/tydiqa.goldp.en.train.json.gz", labels="required")
    assert len(train) == 1000 and len(set(train["id"])) == 1000
    mlqa = {lang: len(read("squad_json", BUNDLED / f"mlqa/dev-context-{lang}-question-{lang}.json.gz"))
            for lang in ["en", "de", "es", "zh", "ar"]}
    assert mlqa == {"en": 262, "de": 254, "es": 250, "zh": 250, "ar": 250}


# ---- the full local XTREME layout (skipped without the data) -------------------------------------

# layout -> (format, file, reader options, rows, labelled): sizes published with each dataset
# (XTREME's Table 5; UD Marathi-UFAL dev 46 / test 47; Tatoeba has 390 Swahili pairs), in the
# layout of the XTREME download script
LOCAL_LAYOUTS = {
    "panx": [("conll", "panx/dev-en.tsv.gz", {"tag_set": PANX_TAGS}, 10000, True),
             ("conll", "panx/train-sw.tsv.gz", {"tag_set": PANX_TAGS}, 1000, True),
             ("conll", "panx/test-hi.tsv.gz", {"tag_set": PANX_TAGS}, 1000, True)],
    "udpos_xtreme": [("conll", "udpos_xtreme/test-en.tsv.gz", {"tag_set": UPOS}, 5440, True),
                     ("conll", "udpos_xtreme/test-mr.tsv.gz", {}, 47, False),   # XTREME strips these labels
                     ("conll", "udpos_xtreme/dev-mr.tsv.gz", {"tag_set": UPOS}, 46, True)],
    "udpos": [("conllu", "udpos/en_ewt-ud-dev.conllu.gz", {"tag_set": UPOS}, 2001, True),
              ("conllu", "udpos/de_pud-ud-test.conllu.gz", {"tag_set": UPOS}, 1000, True)],
    "xnli": [("pair_tsv", "xnli/dev-sw.tsv.gz", {"label_set": NLI}, 2490, True),
             ("pair_tsv", "xnli/test-th.tsv.gz", {}, 5010, False)],
    "pawsx": [("pair_tsv", "pawsx/dev-ko.tsv", {"label_set": ["0", "1"]}, 2000, True),
              ("pair_tsv", "pawsx/test-ja.tsv", {}, 2000, False)],
    "xquad": [("squad_json", "xquad/xquad.th.json.gz", {}, 1190, True),
              ("squad_json", "xquad/xquad.ar.json.gz", {}, 1190, True)],
    "mlqa": [("squad_json", "mlqa/dev-context-en-question-en.json.gz", {}, 1148, True),
             ("squad_json", "mlqa/dev-context-hi-question-hi.json.gz", {}, 507, True)],
    "tydiqa": [("squad_json", "tydiqa/tydiqa.goldp.en.dev.json.gz", {}, 440, False),   # answers stripped by XTREME
               ("squad_json", "tydiqa/tydiqa.goldp.bn.dev.json.gz", {}, 113, False),
               ("squad_json", "tydiqa/tydiqa.goldp.en.train.json.gz", {}, 3696, True)],
    "tatoeba": [("tatoeba", "tatoeba/tatoeba.cmn-eng.cmn", {}, 1000, True),
                ("tatoeba", "tatoeba/tatoeba.swh-eng.swh", {}, 390, True)],
}


@needs_shared
@pytest.mark.parametrize("layout", sorted(LOCAL_LAYOUTS))
def test_local_xtreme_layout_published_sizes(layout):
    for fmt, rel, options, rows, labelled in LOCAL_LAYOUTS[layout]:
        report = ReadReport()
        assert len(read(fmt, SHARED / rel, report=report, **options)) == rows, rel
        assert report.labelled is labelled, rel


# ---- hub adapters, offline on local copies in the hub's parquet layout ---------------------------

def fake_hub_repo(root: Path, configs: dict[str, dict[str, object]]) -> str:
    """A dataset repository as on the hub: <config>/<split>-00000-of-00001.parquet + README configs."""
    card = ["---", "configs:"]
    for config, splits in configs.items():
        card += [f"- config_name: {config}", "  data_files:"]
        for split, ds in splits.items():
            ds.to_parquet(str(root / config / f"{split}-00000-of-00001.parquet"))
            card += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    (root / "README.md").write_text("\n".join(card + ["---", ""]))
    return str(root)


@pytest.fixture(scope="module")
def hub_copies(tmp_path_factory):
    """google/xtreme, nyu-mll/glue and rajpurkar/squad configs built from the bundled slices with the
    hub's features (ClassLabel tags, string labels, XNLI's language column, tatoeba/bucc sentence pairs)."""
    import datasets as hf

    tmp = tmp_path_factory.mktemp("hub")
    string, strings = hf.Value("string"), hf.List(hf.Value("string"))
    panx = read("conll", BUNDLED / "panx/dev-de.tsv.gz").select(range(20))
    ud = read("conll", BUNDLED / "udpos_xtreme/dev-de.tsv.gz").select(range(20))
    xnli = {lang: read("pair_tsv", BUNDLED / f"xnli/dev-{lang}.tsv.gz").select(range(12)) for lang in ("de", "en")}
    paws = read("pair_tsv", BUNDLED / "pawsx/dev-de.tsv.gz").select(range(12))
    xquad = read("squad_json", BUNDLED / "xquad/xquad.de.json.gz").select(range(15))
    mlqa = read("squad_json", BUNDLED / "mlqa/dev-context-de-question-de.json.gz").select(range(15))
    tydi = read("squad_json", BUNDLED / "tydiqa/tydiqa.goldp.en.train.json.gz").select(range(10))
    tydi = tydi.map(lambda row, i: {"id": f"{'english' if i % 2 else 'swahili'}-{i}", "title": ""}, with_indices=True)
    tato = read("tatoeba", BUNDLED / "tatoeba/tatoeba.deu-eng.deu.gz").select(range(10))
    squad_feats = hf.Features({"id": string, "title": string, "context": string, "question": string,
                               "answers": {"text": strings, "answer_start": hf.List(hf.Value("int32"))}})

    def tagged(ds, column, names):
        return hf.Dataset.from_dict({"tokens": ds["tokens"], column: [[names.index(t) for t in r] for r in ds["tags"]]},
                                    features=hf.Features({"tokens": strings, column: hf.List(hf.ClassLabel(names=names))}))

    def pairs(ds):
        return {"source_sentence": ds["source"], "target_sentence": ds["target"],
                "source_lang": ["de"] * len(ds), "target_lang": ["en"] * len(ds)}

    xtreme = fake_hub_repo(tmp / "xtreme", {
        "PAN-X.de": {"validation": tagged(panx, "ner_tags", PANX_TAGS).add_column("langs", [["de"] * len(r) for r in panx["tokens"]])},
        "udpos.German": {"validation": tagged(ud, "pos_tags", UPOS)},
        "XNLI": {"validation": hf.Dataset.from_dict({
            "language": ["de"] * 12 + ["en"] * 12, "sentence1": [*xnli["de"]["text_a"], *xnli["en"]["text_a"]],
            "sentence2": [*xnli["de"]["text_b"], *xnli["en"]["text_b"]],
            "gold_label": [*xnli["de"]["label"], *xnli["en"]["label"]]})},
        "PAWS-X.de": {"validation": hf.Dataset.from_dict({"sentence1": paws["text_a"], "sentence2": paws["text_b"],
                                                         "label": paws["label"]})},
        "XQuAD.de": {"validation": xquad.remove_columns("title")},
        "MLQA.de.de": {"validation": mlqa.cast(squad_feats)},
        "tydiqa": {"train": tydi.cast(squad_feats)},
        "tatoeba.deu": {"validation": hf.Dataset.from_dict(pairs(tato))},
        "bucc18.de": {"validation": hf.Dataset.from_dict(pairs(tato.select(range(4))))},
    })
    glue = fake_hub_repo(tmp / "glue", {"mnli": {"validation_matched": hf.Dataset.from_dict(
        {"premise": xnli["en"]["text_a"], "hypothesis": xnli["en"]["text_b"],
         "label": [NLI.index(x) for x in xnli["en"]["label"]], "idx": list(range(100, 112))},
        features=hf.Features({"premise": string, "hypothesis": string, "label": hf.ClassLabel(names=NLI),
                              "idx": hf.Value("int32")}))}})
    squad = fake_hub_repo(tmp / "squad", {"plain_text": {"validation": xquad.cast(squad_feats)}})
    return {"xtreme": xtreme, "glue": glue, "squad": squad, "panx": panx, "ud": ud, "xnli": xnli, "paws": paws,
            "xquad": xquad, "mlqa": mlqa, "tydi": tydi, "tato": tato, "cache": str(tmp / "cache")}


def test_hub_adapters_give_the_readers_columns(hub_copies):
    from posenc.tasks.readers import hub

    h = hub_copies
    kw = {"repo": h["xtreme"], "cache_dir": h["cache"]}
    assert hub.panx("de", "validation", **kw).to_dict() == h["panx"].to_dict()
    assert hub.udpos("de", "validation", **kw).to_dict() == h["ud"].to_dict()          # ISO code → udpos.German
    assert hub.xnli("en", "validation", **kw).to_dict() == h["xnli"]["en"].to_dict()   # language = a row filter
    assert hub.pawsx("de", "validation", **kw).to_dict() == h["paws"].to_dict()
    assert hub.xquad("de", **kw).to_dict() == h["xquad"].map(lambda r: {"title": ""}).to_dict()  # no title on the hub
    assert hub.mlqa("de", **kw).to_dict() == h["mlqa"].to_dict()
    english = hub.tydiqa("en", "train", **kw)
    assert english["id"] == [f"english-{i}" for i in range(1, 10, 2)]
    assert english["question"] == list(h["tydi"]["question"])[1::2]
    assert hub.tatoeba("de", **kw).to_dict() == h["tato"].to_dict()                    # ISO 639-1 → tatoeba.deu
    bucc = hub.bucc("de", "validation", **kw)
    assert bucc["source"]["text"] == list(h["tato"]["source"])[:4] and bucc["gold"]["source_id"] == bucc["source"]["id"]
    mnli = hub.mnli("validation_matched", repo=h["glue"], cache_dir=h["cache"])
    assert mnli["label"] == h["xnli"]["en"]["label"] and mnli["idx"] == list(range(100, 112))
    assert mnli.column_names == ["text_a", "text_b", "label", "idx"]
    assert hub.squad("validation", repo=h["squad"], cache_dir=h["cache"]).to_dict() == h["xquad"].to_dict()


def test_hub_errors_say_what_failed(hub_copies):
    from posenc.tasks.readers import hub

    with pytest.raises(TaskDataError, match=r"cannot load .* \(config 'PAN-X.xx', split 'validation'\).*not found"):
        hub.panx("xx", "validation", repo=hub_copies["xtreme"], cache_dir=hub_copies["cache"])
    with pytest.raises(TaskDataError, match=r"cannot load 'google/xtreme' \(config 'XQuAD.de'.*offline mode is on"):
        hub.xquad("de")
    with pytest.raises(TaskDataError, match="TyDiQA-GoldP has no language 'de'"):
        hub.tydiqa("de", "validation")

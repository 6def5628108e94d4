"""Trained tokenizers save next to models and reload with AutoTokenizer, pairs get segment ids."""

import pytest
from transformers import AutoTokenizer

from posenc.training.config import CorpusSection
from posenc.training.corpus import iter_texts, load_text
from posenc.training.tokenizer import build_tokenizer, check_for_mlm, load_tokenizer


@pytest.fixture(scope="module")
def texts():
    return list(iter_texts(load_text(CorpusSection(files=["posenc:corpus/inaugural.txt.gz"]))))


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_train_save_reload(kind, texts, tmp_path):
    tok = build_tokenizer(kind, texts, 1500, True, save_model_to=tmp_path)
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    a = tok("Fellow citizens of the Senate", "and of the House")
    b = again("Fellow citizens of the Senate", "and of the House")
    assert a == b
    assert b["input_ids"][0] == again.cls_token_id and b["input_ids"][-1] == again.sep_token_id
    assert set(b["token_type_ids"]) == {0, 1}
    assert again.unk_token_id not in b["input_ids"]
    assert len(again) <= 1500 and again.mask_token == "[MASK]" and again.pad_token_id == 0
    check_for_mlm(again, "tokenizer")
    if kind == "sentencepiece":
        assert (tmp_path / "spiece.model").exists()


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(OSError, match="cannot load tokenizer"):
        load_tokenizer(str(tmp_path / "missing"))


def test_corpus_reader_blank_lines_end_documents(tmp_path):
    import gzip

    from posenc.training.corpus import pack_blocks

    f = tmp_path / "c.txt.gz"
    with gzip.open(f, "wt") as g:
        g.write("one two three four five\n\nsix seven eight nine ten\n")
    ds = load_text(CorpusSection(files=[str(f)]))
    tok = build_tokenizer("wordpiece", list(iter_texts(ds)), 100, True)
    blocks = pack_blocks(ds, tok, 8)
    tokens = [tok.convert_ids_to_tokens(b) for b in blocks["input_ids"]]
    assert all(len(b) == 8 and b[0] == "[CLS]" and b[-1] == "[SEP]" for b in tokens)
    assert tokens[0][:7] == ["[CLS]", "one", "two", "three", "four", "five", "[SEP]"]   # boundary [SEP]
    with pytest.raises(FileNotFoundError, match="matches nothing"):
        load_text(CorpusSection(files=[str(tmp_path / "nope*.txt")]))
    with pytest.raises(FileNotFoundError, match="bundled corpora: posenc:corpus/inaugural.txt.gz"):
        load_text(CorpusSection(files=["posenc:corpus/nope.txt.gz"]))

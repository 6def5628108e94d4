"""posenc.tasks: tokenize_task with a real WordPiece tokenizer trained here on bundled GLUE text,
compute_metrics on real labels, and GLUE leaderboard submission files."""

import numpy as np
import pytest

from posenc.tasks import compute_metrics, load_task, majority_baseline, tokenize_task, write_glue_submission


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    texts = []
    for name in ["rte", "sst2"]:
        for ds in load_task(name).values():
            texts += list(ds["text_a"]) + (list(ds["text_b"]) if "text_b" in ds.column_names else [])
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=3000, special_tokens=special))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]")


def test_pairs_get_two_segments(tokenizer):
    dsd = load_task("rte", splits=["validation"])
    enc = tokenize_task("rte", dsd, tokenizer)["validation"]
    assert enc.column_names == ["input_ids", "token_type_ids", "attention_mask", "labels"]
    assert len(enc) == 277 and list(enc["labels"]) == list(dsd["validation"]["label"])
    ex = enc[0]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    ids, types = ex["input_ids"], ex["token_type_ids"]
    first_sep = ids.index(sep)
    assert ids[0] == cls and ids[-1] == sep and ids.count(sep) == 2
    assert types == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)  # [CLS] a [SEP] | b [SEP]
    assert ex["attention_mask"] == [1] * len(ids)
    a = tokenizer(dsd["validation"][0]["text_a"], add_special_tokens=False)["input_ids"]
    assert ids[1:first_sep] == a


def test_truncation_longest_first(tokenizer):
    dsd = load_task("rte", splits=["train"])
    enc = tokenize_task("rte", dsd, tokenizer, max_length=32)["train"]
    lengths = [len(x) for x in enc["input_ids"]]
    assert max(lengths) == 32
    long = next(i for i, n in enumerate(lengths) if n == 32)
    ids, types = enc[long]["input_ids"], enc[long]["token_type_ids"]
    assert ids.count(tokenizer.sep_token_id) == 2 and 1 in types  # both segments survive truncation
    with pytest.raises(ValueError, match="max_length must be at least 8"):
        tokenize_task("rte", dsd, tokenizer, max_length=4)


def test_single_sentence_and_regression_labels(tokenizer):
    sst = tokenize_task("sst2", load_task("sst2", splits=["validation"]), tokenizer)["validation"]
    assert set(sst[0]["token_type_ids"]) == {0} and sst.features["labels"].dtype == "int64"
    stsb = tokenize_task("stsb", load_task("stsb", splits=["validation"]), tokenizer)["validation"]
    assert stsb.features["labels"].dtype == "float32" and stsb[0]["labels"] == 5.0


def test_tokenizer_without_segment_ids_is_refused():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    plain = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    with pytest.raises(ValueError, match="does not mark the two segments"):
        tokenize_task("rte", load_task("rte", splits=["validation"]), plain)


def test_compute_metrics_on_real_labels():
    ref = np.array(load_task("sst2", splits=["validation"])["validation"]["label"])  # 428 neg / 444 pos
    assert compute_metrics("sst2", np.ones_like(ref), ref) == pytest.approx({"accuracy": 444 / 872})
    logits = np.stack([ref == 0, ref == 1], axis=1).astype(float)  # perfect logits
    assert compute_metrics("sst2", logits, ref)["accuracy"] == 1.0
    mrpc = np.array(load_task("mrpc", splits=["validation"])["validation"]["label"])  # 279 of 408 positive
    m = compute_metrics("mrpc", np.ones_like(mrpc), mrpc)
    precision, recall = 279 / 408, 1.0  # majority "equivalent": every positive found
    assert m["accuracy"] == pytest.approx(279 / 408)
    assert m["f1"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert m["combined"] == pytest.approx((m["f1"] + m["accuracy"]) / 2)
    cola = np.array(load_task("cola", splits=["validation"])["validation"]["label"])
    assert compute_metrics("cola", np.ones_like(cola), cola) == {"mcc": 0.0}  # constant: no correlation
    stsb = np.array(load_task("stsb", splits=["validation"])["validation"]["label"])
    out = compute_metrics("stsb", stsb[:, None], stsb)  # regression outputs [n, 1]
    assert out == pytest.approx({"pearson": 1.0, "spearman": 1.0, "combined": 1.0})


def test_majority_baseline():
    sst = load_task("sst2")  # train slice: 4471 negative / 5529 positive -> predict positive
    assert majority_baseline("sst2", sst["train"]["label"], sst["validation"]["label"]) == pytest.approx(
        {"accuracy": 444 / 872})
    stsb = load_task("stsb")
    assert majority_baseline("stsb", stsb["train"]["label"], stsb["validation"]["label"])["pearson"] == 0.0


def test_compute_metrics_errors():
    with pytest.raises(ValueError, match="has 3 classes but the logits have 2"):
        compute_metrics("mnli", np.zeros((4, 2)), [0, 1, 2, 0])
    with pytest.raises(ValueError, match="unlabelled"):
        compute_metrics("rte", [0, 1], [-1, -1])
    with pytest.raises(ValueError, match="must be class ids"):
        compute_metrics("rte", [0.5, 1.0], [0, 1])


def test_glue_submission_files(tmp_path):
    [cola] = write_glue_submission("cola", np.array([1, 0] * 531 + [1]), tmp_path)
    lines = cola.read_text().splitlines()
    assert cola.name == "CoLA.tsv" and lines[:3] == ["index\tprediction", "0\t1", "1\t0"] and len(lines) == 1064
    mnli = write_glue_submission("mnli", {"test_matched": np.zeros(9796, int),
                                          "test_mismatched": np.full(9847, 2)}, tmp_path)
    assert [p.name for p in mnli] == ["MNLI-m.tsv", "MNLI-mm.tsv"]
    assert mnli[1].read_text().splitlines()[1] == "0\tcontradiction"
    [ax] = write_glue_submission("ax", np.eye(3)[np.arange(1104) % 3], tmp_path)  # logits are argmaxed
    assert ax.name == "AX.tsv" and ax.read_text().splitlines()[1:4] == ["0\tentailment", "1\tneutral",
                                                                         "2\tcontradiction"]
    [sts] = write_glue_submission("stsb", np.linspace(-1, 6, 1379), tmp_path)
    rows = sts.read_text().splitlines()
    assert rows[1] == "0\t0.000" and rows[-1] == "1378\t5.000"  # clipped to the 0..5 scale
    [rte] = write_glue_submission("rte", [1, 0], tmp_path, index=[7, 9], check_rows=False)
    assert rte.read_text() == "index\tprediction\n7\tnot_entailment\n9\tentailment\n"


def test_glue_submission_checks(tmp_path):
    with pytest.raises(ValueError, match=r"RTE.tsv: 2 predictions, but the GLUE test set rte/test has 3000 rows"):
        write_glue_submission("rte", [0, 1], tmp_path)
    with pytest.raises(ValueError, match=r"several test splits \['test_matched', 'test_mismatched'\]; pass split="):
        write_glue_submission("mnli", [0], tmp_path)
    with pytest.raises(ValueError, match="class ids 0..1"):
        write_glue_submission("rte", [0, 2], tmp_path, check_rows=False)

"""posenc.metrics: each metric against hand arithmetic, and the GLUE / DIET-paper aggregates."""

import math

import pytest

from posenc import metrics
from posenc.registry import UnknownNameError

# five binary examples used below:     idx: 0  1  2  3  4
PRED = [1, 0, 1, 1, 0]
REF = [1, 0, 0, 1, 1]
# tp = {0, 3} = 2, tn = {1} = 1, fp = {2} = 1, fn = {4} = 1


def test_registry_lists_the_glue_metrics():
    assert {"accuracy", "f1", "mcc", "pearson", "spearman"} <= set(metrics.list_metrics())
    assert metrics.get_metric("pearson").kind == "regression"
    with pytest.raises(UnknownNameError, match=r"unknown metric 'acuracy'\. Did you mean 'accuracy'\?.*Known:"):
        metrics.get_metric("acuracy")


def test_accuracy_by_hand():
    assert metrics.accuracy(PRED, REF) == pytest.approx(3 / 5)  # matches at 0, 1, 3


def test_f1_is_binary_f1_of_class_1():
    precision, recall = 2 / (2 + 1), 2 / (2 + 1)  # tp / (tp + fp), tp / (tp + fn)
    assert metrics.f1(PRED, REF) == pytest.approx(2 * precision * recall / (precision + recall))  # 2/3
    with pytest.raises(ValueError, match="macro_f1"):
        metrics.f1([0, 1, 2], [0, 1, 2])


def test_matthews_by_hand():
    tp, tn, fp, fn = 2, 1, 1, 1
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))  # 1/6
    assert metrics.mcc(PRED, REF) == pytest.approx(expected)
    assert metrics.mcc(PRED, REF) == pytest.approx(1 / 6)


def test_pearson_by_hand():
    # p = 1,2,3,4 (mean 2.5), r = 1,2,3,5 (mean 2.75)
    # deviations: p -1.5 -.5 .5 1.5; r -1.75 -.75 .25 2.25
    cov = 2.625 + 0.375 + 0.125 + 3.375  # 6.5
    var_p = 2.25 + 0.25 + 0.25 + 2.25  # 5
    var_r = 3.0625 + 0.5625 + 0.0625 + 5.0625  # 8.75
    assert metrics.pearson([1, 2, 3, 4], [1, 2, 3, 5]) == pytest.approx(cov / math.sqrt(var_p * var_r))  # 0.98271


def test_spearman_by_hand():
    # ranks of r = 10,30,20,40 are 1,3,2,4; d = 0,-1,1,0; rho = 1 - 6*sum(d^2)/(n(n^2-1)) = 1 - 12/60
    assert metrics.spearman([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8)


def test_correlation_of_a_constant_is_zero_not_nan():
    assert metrics.pearson([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert metrics.spearman([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]) == 0.0


def test_compute_adds_combined_mean():
    out = metrics.compute(["f1", "accuracy"], PRED, REF)
    assert out == pytest.approx({"f1": 2 / 3, "accuracy": 0.6, "combined": (2 / 3 + 0.6) / 2})
    assert set(metrics.compute(["accuracy"], PRED, REF)) == {"accuracy"}
    with pytest.raises(ValueError, match="same length"):
        metrics.compute(["accuracy"], [1, 0], [1, 0, 1])


def test_as_percent():
    assert metrics.as_percent(0.84765) == 84.8


# DIET paper (Chen et al. 2021) Table 2: MNLI-m, MNLI-mm, QQP, QNLI, SST-2, CoLA, STS-B -> printed Avg
TABLE2 = [
    ((85.8, 85.9, 91.1, 89.9, 93.2, 58.7, 89.0), 84.8),  # Devlin et al. (BERT)
    ((86.3, 86.0, 91.2, 90.5, 93.2, 59.8, 89.3), 85.2),  # Shaw et al.
    ((86.4, 86.2, 91.2, 90.1, 93.0, 59.6, 90.1), 85.2),  # Raffel et al.
    ((86.1, 86.2, 91.2, 90.3, 93.1, 59.6, 89.6), 85.2),  # Ke et al.
    ((86.0, 86.1, 91.0, 89.8, 92.8, 59.6, 89.0), 84.9),  # DIET-REL, input segment
    ((86.3, 86.3, 91.0, 90.5, 92.9, 60.3, 89.3), 85.2),  # DIET-REL
    ((86.4, 86.4, 90.8, 89.5, 93.0, 59.8, 90.2), 85.2),  # DIET-ABS (d_p=128, share)
    ((82.3, 82.6, 90.2, 86.3, 91.4, 53.9, 87.6), 82.0),  # Linformer
    ((83.0, 83.1, 90.6, 86.7, 92.0, 55.7, 87.6), 82.7),  # DIET-ABS^LIN
]


def test_paper_average_reproduces_table2_bert_row():
    row = dict(zip(["MNLI-m", "MNLI-mm", "QQP", "QNLI", "SST-2", "CoLA", "STS-B"], TABLE2[0][0]))
    # (85.8 + 85.9 + 91.1 + 89.9 + 93.2 + 58.7 + 89.0) / 7 = 593.6 / 7
    assert metrics.paper_average(row) == pytest.approx(593.6 / 7)
    assert round(metrics.paper_average(row), 1) == 84.8


@pytest.mark.parametrize("numbers,avg", TABLE2)
def test_paper_average_matches_every_table2_row(numbers, avg):
    row = dict(zip(["mnli_matched", "mnli_mismatched", "qqp", "qnli", "sst2", "cola", "stsb"], numbers))
    assert round(metrics.paper_average(row), 1) == avg


def test_paper_average_picks_the_documented_metric_from_metric_dicts():
    results = {
        "mnli_matched": {"accuracy": 0.80}, "mnli_mismatched": {"accuracy": 0.82},
        "qqp": {"accuracy": 0.90, "f1": 0.70, "combined": 0.80},
        "qnli": {"accuracy": 0.88}, "sst2": {"accuracy": 0.92}, "cola": {"mcc": 0.50},
        "stsb": {"pearson": 0.86, "spearman": 0.85},
        "rte": {"accuracy": 0.10},  # not part of the paper's average: ignored
    }
    assert metrics.paper_average(results) == pytest.approx((0.80 + 0.82 + 0.90 + 0.88 + 0.92 + 0.50 + 0.85) / 7)
    assert metrics.paper_average(results, qqp_metric="f1", stsb_metric="pearson") == pytest.approx(
        (0.80 + 0.82 + 0.70 + 0.88 + 0.92 + 0.50 + 0.86) / 7)
    with pytest.raises(KeyError, match="missing.*cola"):
        metrics.paper_average({k: v for k, v in results.items() if k != "cola"})


def test_glue_score_is_the_leaderboard_mean_of_nine_task_numbers():
    results = {
        "CoLA": {"mcc": 0.605}, "SST-2": {"accuracy": 0.949},
        "MRPC": {"f1": 0.893, "accuracy": 0.854}, "STS-B": {"pearson": 0.876, "spearman": 0.865},
        "QQP": {"f1": 0.721, "accuracy": 0.893},
        "MNLI-m": {"accuracy": 0.867}, "MNLI-mm": {"accuracy": 0.859},
        "QNLI": {"accuracy": 0.927}, "RTE": {"accuracy": 0.701}, "WNLI": {"accuracy": 0.651},
    }
    per_task = [0.605, 0.949, (0.893 + 0.854) / 2, (0.876 + 0.865) / 2, (0.721 + 0.893) / 2,
                (0.867 + 0.859) / 2, 0.927, 0.701, 0.651]  # MNLI: mean of matched and mismatched
    assert metrics.glue_score(results) == pytest.approx(sum(per_task) / 9)  # 7.247 / 9 = 0.8052
    assert round(100 * metrics.glue_score(results), 1) == 80.5
    # one number per task works too (any scale)
    flat = dict(zip(["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"], per_task))
    assert metrics.glue_score(flat) == pytest.approx(sum(per_task) / 9)


def test_glue_score_errors_name_the_problem():
    with pytest.raises(KeyError, match=r"missing \['wnli'\]"):
        metrics.glue_score({t: 0.5 for t in ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte"]})
    with pytest.raises(KeyError, match="mnli_mismatched"):
        metrics.glue_score({"mnli_matched": 0.5})
    with pytest.raises(UnknownNameError, match="unknown GLUE task 'colaa'. Did you mean 'cola'"):
        metrics.glue_score({"colaa": 0.5})
    with pytest.raises(KeyError, match=r"needs metric\(s\) \['spearman'\]"):
        metrics.glue_score({"stsb": {"pearson": 0.9}, **{t: 0.5 for t in
                                                          ["cola", "sst2", "mrpc", "qqp", "mnli", "qnli", "rte", "wnli"]}})


# ---- XTREME metrics: tagging, extractive QA, retrieval ---------------------------------------

def test_entity_f1_by_hand():
    refs = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]  # gold: PER 0-1, LOC 3, ORG 0
    # predicted: PER 0-1 and ORG 0 are right, LOC missed → P = 2/2, R = 2/3, F1 = 0.8
    assert metrics.entity_f1([["B-PER", "I-PER", "O", "O"], ["B-ORG", "O"]], refs) == pytest.approx(0.8)
    # a wrong boundary is a wrong entity: PER 0 (not 0-1), LOC 3 right, ORG 0-1 (not 0) → P = R = 1/3
    assert metrics.entity_f1([["B-PER", "O", "O", "B-LOC"], ["B-ORG", "I-ORG"]], refs) == pytest.approx(1 / 3)
    # conlleval: a stray I- starts an entity, so I-PER I-PER is the entity PER 0-1
    assert metrics.entity_f1([["I-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]], refs) == 1.0
    with pytest.raises(ValueError, match="sentence 1: 1 predicted tags for 2 words"):
        metrics.entity_f1([["O"] * 4, ["O"]], refs)


def test_squad_f1_and_exact_match_by_hand():
    preds = ["the Eiffel Tower!", "in Paris, France"]
    golds = [["Eiffel tower", "Paris"], ["Paris"]]
    # 1: "eiffel tower" == "eiffel tower" (article and punctuation dropped): EM 1, F1 1
    # 2: "in paris france" vs "paris": 1 common token, P = 1/3, R = 1, F1 = 0.5, EM 0
    assert metrics.squad_f1(preds, golds) == pytest.approx((1 + 0.5) / 2)
    assert metrics.squad_exact_match(preds, golds) == pytest.approx(0.5)
    assert metrics.compute(["squad_f1", "squad_exact_match"], preds, golds)["combined"] == pytest.approx(0.625)


@pytest.mark.parametrize("lang,pred,gold,squad_em,squad_f1,mlqa_em,mlqa_f1", [
    # German articles are MLQA's, not SQuAD's: "die hauptstadt" vs "hauptstadt", F1 = 2·(1/2·1)/(3/2)
    ("de", "Die Hauptstadt", "Hauptstadt", 0.0, 2 / 3, 1.0, 1.0),
    # Chinese is segmented into characters: 北 京 市 vs 北 京 → P = 2/3, R = 1, F1 = 0.8
    ("zh", "北京市", "北京", 0.0, 0.0, 0.0, 0.8),
    # Unicode punctuation (¿) and Spanish articles: "¿el prado?" → "prado"; SQuAD keeps "¿el"
    ("es", "¿el Prado?", "Prado", 0.0, 2 / 3, 1.0, 1.0),
    # the Arabic article al- is removed: الكتاب → كتاب
    ("ar", "الكتاب", "كتاب", 0.0, 0.0, 1.0, 1.0),
    # English: the same rules as SQuAD
    ("en", "an apple", "apple", 1.0, 1.0, 1.0, 1.0),
])
def test_mlqa_normalisation_per_language(lang, pred, gold, squad_em, squad_f1, mlqa_em, mlqa_f1):
    assert metrics.squad_exact_match([pred], [[gold]]) == pytest.approx(squad_em)
    assert metrics.squad_f1([pred], [[gold]]) == pytest.approx(squad_f1)
    assert metrics.mlqa_exact_match([pred], [[gold]], language=lang) == pytest.approx(mlqa_em)
    assert metrics.mlqa_f1([pred], [[gold]], language=lang) == pytest.approx(mlqa_f1)


def test_mlqa_metric_needs_a_known_language():
    with pytest.raises(ValueError, match="needs language"):
        metrics.compute(["mlqa_f1"], ["a"], [["a"]])
    with pytest.raises(ValueError, match="defined for en es hi vi de ar zh|defined for en, es"):
        metrics.mlqa_f1(["a"], [["a"]], language="fr")


def test_precision_at_1_by_hand():
    scores = [[0.9, 0.1, 0.0], [0.2, 0.1, 0.8], [0.3, 0.6, 0.1], [0.5, 0.4, 0.0]]
    gold = [0, 1, 1, -1]  # nearest: 0 ✓, 2 ✗, 1 ✓; the last source has no translation (not counted)
    assert metrics.precision_at_1(scores, gold) == pytest.approx(2 / 3)


def test_bucc_margin_mining_by_hand():
    s = [[0.9, 0.3], [0.4, 0.6]]
    # k = 2 (all): mean_x = [0.6, 0.5], mean_y = [0.65, 0.45]
    # margin(0,0) = 0.9 / ((0.6 + 0.65) / 2) = 1.44;  margin(1,1) = 0.6 / ((0.5 + 0.45) / 2) = 1.2632
    # margin(0,1) = 0.3 / 0.525 = 0.571; margin(1,0) = 0.4 / 0.575 = 0.696 → pairs (0,0) and (1,1)
    cands = metrics.margin_candidates(s, k=2)
    assert [(i, j) for i, j, _ in cands] == [(0, 0), (1, 1)]
    assert [c[2] for c in cands] == pytest.approx([0.9 / 0.625, 0.6 / 0.475])
    # both gold: F1 is best (1.0) keeping both, so the threshold is the last kept score
    assert metrics.bucc_threshold(s, [0, 1], k=2) == pytest.approx(0.6 / 0.475)
    assert metrics.bucc_f1(s, [0, 1], threshold=None) == 1.0
    # a threshold between the two keeps only (0,0): P = 1, R = 1/2, F1 = 2/3
    assert metrics.bucc_f1(s, [0, 1], threshold=1.3) == pytest.approx(2 / 3)

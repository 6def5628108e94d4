"""posenc.tasks: GLUE specs, spec-file errors, loading the bundled real GLUE slices, malformed rows,
the generic (user file) adapter and the hub source offline. Runs offline from posenc/resources."""

import shutil
import textwrap
import time
from pathlib import Path

import pytest

from posenc.registry import UnknownNameError
from posenc.tasks import (TaskDataError, TaskSpec, TaskSpecError, bundled_dir, bundled_tasks, get_task, list_tasks,
                          load_task, load_task_spec, register_task, task_path, validate_task_files)
from posenc.tasks.kinds import TASK_KINDS
from posenc.tasks.registry import TASKS

GLUE = ["ax", "cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst2", "stsb", "wnli"]

# class names and order of the nyu-mll/glue ClassLabel features (hub class ids must equal ours)
HUB_LABELS = {
    "cola": ["unacceptable", "acceptable"], "sst2": ["negative", "positive"],
    "mrpc": ["not_equivalent", "equivalent"], "qqp": ["not_duplicate", "duplicate"],
    "mnli": ["entailment", "neutral", "contradiction"], "ax": ["entailment", "neutral", "contradiction"],
    "qnli": ["entailment", "not_entailment"], "rte": ["entailment", "not_entailment"],
    "wnli": ["not_entailment", "entailment"],
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# ---- the GLUE specs --------------------------------------------------------------------------

def test_all_glue_tasks_are_registered():
    assert set(GLUE) <= set(list_tasks())
    assert {"mlqa", "mnli", "mrpc"} <= set(list_tasks("m*"))  # MLQA: tasks/xtreme/
    assert all(n.startswith("m") for n in list_tasks("m*"))


@pytest.mark.parametrize("name", list_tasks())
def test_every_registered_spec_is_valid(name):
    spec = get_task(name)
    assert isinstance(spec, TaskSpec) and spec.name == name
    assert spec.main_metric in spec.metrics + ["combined"]
    if spec.task_kind.generates:  # examples made from the spec (the length suite): no data files
        assert spec.local is None and spec.hub is None
    else:
        assert spec.local is not None and set(spec.local.splits) == set(spec.splits)
    if name in GLUE:
        assert spec.hub.path == "nyu-mll/glue" and spec.hub.name == name
        assert set(spec.submission) == set(spec.test_splits)


@pytest.mark.parametrize("name", TASK_KINDS.names())
def test_every_kind_with_a_trivial_baseline_names_it(name):
    """Reports quote ``baseline_name`` beside the baseline's numbers ("vs majority class 33.3"),
    so a kind that computes a baseline must say what it predicts, in its own words."""
    from posenc.tasks.kinds.base import TaskKind

    kind = TASK_KINDS.get(name)
    if type(kind).baseline is not TaskKind.baseline:
        assert kind.baseline_name != TaskKind.baseline_name and kind.baseline_name.strip() == kind.baseline_name
    others = {TASK_KINDS.get(n).baseline_name for n in TASK_KINDS.names() if n != name}
    assert kind.baseline_name not in others - {TaskKind.baseline_name}, "two kinds share a baseline name"


def test_glue_label_orders_and_metrics():
    for name, labels in HUB_LABELS.items():
        assert get_task(name).label_names == labels, name
    assert get_task("stsb").kind == "regression" and get_task("stsb").num_labels == 1
    assert get_task("stsb").label_names is None
    assert get_task("cola").metrics == ["mcc"]
    assert get_task("mrpc").metrics == ["f1", "accuracy"] and get_task("qqp").metrics == ["f1", "accuracy"]
    assert get_task("stsb").metrics == ["pearson", "spearman"]
    for name in ["sst2", "mnli", "qnli", "rte", "wnli"]:
        assert get_task(name).metrics == ["accuracy"]
    mnli = get_task("mnli")
    assert mnli.eval_splits == ["validation_matched", "validation_mismatched"]
    assert mnli.num_labels == 3 and mnli.is_pair and not get_task("sst2").is_pair


def test_ax_is_an_evaluation_only_mnli_variant():
    ax, mnli = get_task("ax"), get_task("mnli")
    assert ax.train_split is None and ax.eval_splits == [] and ax.test_splits == ["test"]
    assert ax.predict_with == "mnli" and ax.label_names == mnli.label_names
    assert ax.submission["test"].file == "AX.tsv"


def test_get_task_accepts_spelling_variants_and_paths():
    assert get_task("SST-2") is get_task("sst2")
    assert get_task("STS-B").name == "stsb" and get_task("MNLI").name == "mnli"
    assert get_task(str(task_path("rte"))).name == "rte"


def test_unknown_task_gives_close_match_and_list():
    with pytest.raises(UnknownNameError) as e:
        get_task("rtee")
    msg = str(e.value)
    assert "unknown task 'rtee'. Did you mean 'rte'?" in msg
    assert "Known: " + ", ".join(list_tasks()) in msg and "ax, bucc" in msg


# ---- spec files: include and errors ----------------------------------------------------------

def test_include_makes_a_variant_in_a_few_lines(tmp_path):
    rte = task_path("rte")
    path = write(tmp_path / "rte_long.yaml", f"""
        include: {rte}
        max_length: 256
        """)
    spec = load_task_spec(path)
    assert spec.name == "rte_long" and spec.max_length == 256
    assert spec.label_names == get_task("rte").label_names and spec.local == get_task("rte").local
    by_name = load_task_spec(write(tmp_path / "rte2.yaml", "include: rte\nmetrics: [accuracy, f1]\n"))
    assert by_name.metrics == ["accuracy", "f1"] and by_name.main_metric == "accuracy"


def test_unknown_key_names_file_line_and_closest_key(tmp_path):
    path = write(tmp_path / "bad.yaml", """
        include: rte
        max_length: 64
        metric: [accuracy]
        """)
    with pytest.raises(TaskSpecError) as e:
        load_task_spec(path)
    assert f"{path.resolve()}:3: unknown key 'metric' in task spec. Did you mean 'metrics'" in str(e.value)
    assert "Valid keys:" in str(e.value)


def test_nested_unknown_key_and_type_errors_have_lines(tmp_path):
    path = write(tmp_path / "bad.yaml", """
        kind: classification
        text_fields: [a]
        label_names: [x, y]
        metrics: [accuracy]
        main_metric: accuracy
        local:
          splits: {train: t.tsv, validation: d.tsv}
          encodng: utf-8
        """)
    with pytest.raises(TaskSpecError, match=r"bad\.yaml:8: unknown key 'encodng' in local\. Did you mean 'encoding'"):
        load_task_spec(path)
    path.write_text(path.read_text().replace("encodng", "encoding").replace("text_fields: [a]", "text_fields: a"))
    with pytest.raises(TaskSpecError, match=r"bad\.yaml:2: key 'text_fields': expected a list"):
        load_task_spec(path)


@pytest.mark.parametrize("body,line,message", [
    ("metrics: [acc]\n", 2, "unknown metric 'acc'. Did you mean 'mcc' or 'accuracy'?"),
    ("main_metric: f1\n", 2, "main_metric 'f1' is not one of ['accuracy']"),
    ("metrics: [pearson]\nmain_metric: pearson\n", 2, "metric 'pearson' is for regression tasks"),
    ("kind: regresion\n", 2, f"'regresion' is not one of {TASK_KINDS.names()}. Did you mean 'regression'"),
    ("eval_splits: [dev]\n", 3, "split 'dev' has no file in local.splits"),
    ("label_names: [a]\n", 2, "needs label_names with at least 2 classes"),
    ("label_names: [yes, no]\n", 2, "YAML reads unquoted yes/no/on/off/true/false as booleans"),
])
def test_inconsistent_specs_are_rejected_with_file_and_line(tmp_path, body, line, message):
    path = write(tmp_path / "t.yaml", "include: rte\n" + body)
    with pytest.raises(TaskSpecError) as e:
        load_task_spec(path)
    text = str(e.value)
    assert message in text
    # the line is in the file that holds the offending key (here the variant, or rte.yaml for local)
    assert f"t.yaml:{line}:" in text or "rte.yaml:" in text


def test_include_cycle_and_missing_include(tmp_path):
    write(tmp_path / "a.yaml", "include: b.yaml\n")
    write(tmp_path / "b.yaml", "include: a.yaml\n")
    with pytest.raises(TaskSpecError, match="include cycle"):
        load_task_spec(tmp_path / "a.yaml")
    with pytest.raises(TaskSpecError, match=r"c\.yaml:1: included file .*nope\.yaml' does not exist"):
        load_task_spec(write(tmp_path / "c.yaml", "include: nope.yaml\n"))


def test_validate_task_files_collects_every_error(tmp_path):
    n, errors = validate_task_files()
    assert n >= 10 and errors == []
    write(tmp_path / "ok.yaml", "include: rte\n")
    write(tmp_path / "sub" / "bad1.yaml", "include: rte\nmax_lenght: 3\n")
    write(tmp_path / "sub" / "bad2.yaml", "include: rte\nmain_metric: f1\n")
    write(tmp_path / "_base.yaml", "not: a task\n")  # include-only base: skipped
    n, errors = validate_task_files([tmp_path])
    assert n == 3 and len(errors) == 2
    assert "bad1.yaml:2: unknown key 'max_lenght'" in errors[0] and "bad2.yaml:2: main_metric" in errors[1]


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path / "t.yaml", "name: x\nkind: [unclosed\n")
    with pytest.raises(TaskSpecError, match=r"t\.yaml:\d+: invalid YAML"):
        load_task_spec(path)


# ---- bundled real GLUE data ------------------------------------------------------------------

OFFICIAL = {  # rows per split of the bundled slices (full GLUE sizes except SST-2 train)
    "cola": {"train": 8551, "validation": 1043}, "sst2": {"train": 10000, "validation": 872},
    "mrpc": {"train": 3668, "validation": 408}, "stsb": {"train": 5749, "validation": 1500},
    "rte": {"train": 2490, "validation": 277}, "wnli": {"train": 635, "validation": 71},
}


def test_bundled_tasks_and_sizes():
    assert [t for t in bundled_tasks() if t in GLUE] == sorted(OFFICIAL)
    total = sum(p.stat().st_size for p in bundled_dir().rglob("*") if p.is_file())
    assert total < 5_000_000
    for name, sizes in OFFICIAL.items():
        dsd = load_task(name)
        assert {s: len(d) for s, d in dsd.items()} == sizes, name
        cols = ["text_a", "text_b", "label", "idx"] if get_task(name).is_pair else ["text_a", "label", "idx"]
        assert dsd["train"].column_names == cols


def test_cola_without_header_and_label_counts():
    dsd = load_task("cola")
    first = dsd["train"][0]
    assert first["text_a"] == "Our friends won't buy this analysis, let alone the next one we propose."
    assert first["label"] == 1 and first["idx"] == 0  # "1" = acceptable = class 1
    labels = list(dsd["train"]["label"])
    assert labels.count(1) == 6023 and labels.count(0) == 2528
    assert dsd["validation"][-1]["idx"] == 1042  # dev.tsv has no final newline: last row still read


def test_mrpc_bom_and_unbalanced_quotes_kept_literally():
    dev = load_task("mrpc", splits=["validation"])["validation"]
    assert dev[0]["text_b"] == '"The foodservice pie business does not fit our long-term growth strategy.'
    assert dev[0]["label"] == 1
    assert 'was "100 percent behind George Bush"' in dev[1]["text_b"]
    assert list(dev["label"]).count(1) == 279


def test_glue_string_labels_and_regression_scores():
    rte = load_task("rte", splits=["validation"])["validation"]
    assert rte[0]["label"] == 1  # not_entailment
    assert rte.features["label"].names == ["entailment", "not_entailment"]
    assert list(rte["label"]).count(0) == 146
    stsb = load_task("stsb", splits=["validation"])["validation"]
    assert stsb[0]["label"] == 5.0 and stsb.features["label"].dtype == "float32"
    assert stsb[0]["text_a"] == "A man with a hard hat is dancing."


def test_tasks_not_bundled_say_how_to_get_them():
    with pytest.raises(TaskDataError) as e:
        load_task("mnli")
    msg = str(e.value)
    assert "not bundled with posenc" in msg and "source='local', data_dir=" in msg and "source='hub'" in msg
    with pytest.raises(ValueError, match="source='local' needs data_dir"):
        load_task("rte", source="local")
    with pytest.raises(ValueError, match="unknown source 'bundle'. Did you mean 'bundled'"):
        load_task("rte", source="bundle")
    with pytest.raises(ValueError, match="has no split 'dev'. Did you mean 'validation'"):
        load_task("rte", splits=["dev"])


# ---- a local glue_data folder: test splits and malformed rows -------------------------------

@pytest.fixture
def glue_dir(tmp_path):
    """A glue_data/ copy of the bundled RTE, CoLA, STS-B and MRPC, plus test.tsv files built from dev."""
    root = tmp_path / "glue_data"
    for task in ["RTE", "CoLA", "STS-B", "MRPC"]:
        shutil.copytree(bundled_dir() / task, root / task)
    dev = (root / "RTE" / "dev.tsv").read_text().split("\n")
    rows = [line.split("\t")[:3] for line in dev if line]
    (root / "RTE" / "test.tsv").write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return root


def test_local_dir_with_unlabelled_test_split(glue_dir):
    dsd = load_task("rte", source="local", data_dir=glue_dir, splits=["train", "test"])
    assert len(dsd["train"]) == 2490 and len(dsd["test"]) == 277
    assert set(dsd["test"]["label"]) == {-1}
    assert dsd["test"][3]["idx"] == 3 and dsd["test"][3]["text_b"]


def _corrupt(path: Path, line_no: int, new_line: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line_no - 1] = new_line
    path.write_text("\n".join(lines), encoding="utf-8")


def test_row_with_missing_field_names_file_and_line(glue_dir):
    path = glue_dir / "RTE" / "dev.tsv"
    _corrupt(path, 10, "8\tonly a premise\tentailment")
    with pytest.raises(TaskDataError) as e:
        load_task("rte", source="local", data_dir=glue_dir)
    assert f"{path}:10: expected 4 tab-separated fields (as in the header), found 3" in str(e.value)


def test_unknown_label_names_file_line_and_choices(glue_dir):
    path = glue_dir / "RTE" / "train.tsv"
    line = path.read_text().split("\n")[41].rsplit("\t", 1)[0] + "\tentailed"
    _corrupt(path, 42, line)
    with pytest.raises(TaskDataError) as e:
        load_task("rte", source="local", data_dir=glue_dir)
    assert (f"{path}:42: unknown label 'entailed' in column 'label'; "
            "expected one of ['entailment', 'not_entailment']") in str(e.value)


def test_unparsable_score_and_headerless_row(glue_dir):
    path = glue_dir / "STS-B" / "dev.tsv"
    fields = path.read_text().split("\n")[4].split("\t")
    _corrupt(path, 5, "\t".join(fields[:-1] + ["high"]))
    with pytest.raises(TaskDataError, match=rf"{path}:5: label 'high' in column 'score' is not a number"):
        load_task("stsb", source="local", data_dir=glue_dir)
    cola = glue_dir / "CoLA" / "train.tsv"
    _corrupt(cola, 7, "gj04\t1\t\tA sentence\twith a stray tab.")
    with pytest.raises(TaskDataError, match=rf"{cola}:7: expected 4 tab-separated fields \(as in the first row\)"):
        load_task("cola", source="local", data_dir=glue_dir)


def test_bom_hint_when_encoding_is_wrong(glue_dir, tmp_path):
    spec = load_task_spec(write(tmp_path / "mrpc_plain.yaml", "include: mrpc\nlocal:\n  dir: MRPC\n"
                                "  columns: {text_a: '#1 String', text_b: '#2 String', label: Quality}\n"
                                "  splits: {train: train.tsv, validation: dev.tsv, test: test.tsv}\n"))
    with pytest.raises(TaskDataError, match="byte-order mark: use encoding utf-8-sig"):
        load_task(spec, source="local", data_dir=glue_dir)


# ---- the generic adapter: a user's own files -------------------------------------------------

def test_user_task_with_jsonl_and_csv(tmp_path):
    write(tmp_path / "data" / "train.jsonl", """
        {"premise": "A cat sat.", "hypothesis": "An animal sat.", "gold": "yes"}
        {"premise": "NA", "hypothesis": "null", "gold": 0}
        """)
    write(tmp_path / "data" / "dev.csv", '''
        premise,hypothesis,gold
        "He said ""hi"", then left.",Someone spoke.,yes
        NA,"multi
        line",no
        ''')
    write(tmp_path / "data" / "test.csv", "premise,hypothesis\nx,y\n")
    path = write(tmp_path / "my_nli.yaml", """
        description: my yes/no entailment
        kind: classification
        text_fields: [premise, hypothesis]
        label_field: gold
        label_names: ["yes", "no"]
        metrics: [accuracy, macro_f1]
        main_metric: macro_f1
        test_splits: [test]
        local:
          dir: data
          splits: {train: train.jsonl, validation: dev.csv, test: test.csv}
        """)
    spec = load_task_spec(path)
    assert spec.name == "my_nli" and spec.num_labels == 2
    dsd = load_task(spec, source="local", splits=["train", "validation", "test"])  # data_dir: the YAML's folder
    assert list(dsd["train"]["label"]) == [0, 0]  # "yes" by name, 0 as a class id
    assert dsd["train"][1]["text_a"] == "NA" and dsd["train"][1]["text_b"] == "null"  # never turned into None
    assert dsd["validation"][0]["text_a"] == 'He said "hi", then left.'
    assert dsd["validation"][1]["text_b"] == "multi\nline" and dsd["validation"][1]["label"] == 1
    assert list(dsd["test"]["label"]) == [-1]
    register_task(spec)
    try:
        assert get_task("my_nli") is spec
    finally:
        TASKS.unregister("my_nli")


def test_user_task_bad_jsonl_line(tmp_path):
    write(tmp_path / "train.jsonl", '{"text": "ok", "label": 1.5}\n{"text": "broken"\n')
    write(tmp_path / "dev.jsonl", '{"text": "fine", "label": 2.0}\n')
    path = write(tmp_path / "reg.yaml", """
        kind: regression
        text_fields: [text]
        metrics: [pearson]
        main_metric: pearson
        local: {splits: {train: train.jsonl, validation: dev.jsonl}}
        """)
    with pytest.raises(TaskDataError, match=r"train\.jsonl:2: invalid JSON"):
        load_task(load_task_spec(path), source="local")


# ---- hub source, offline ---------------------------------------------------------------------

def test_hub_offline_fails_fast_and_points_to_local(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.time()
    with pytest.raises(TaskDataError) as e:
        load_task("rte", source="hub", splits=["validation"])
    assert time.time() - start < 10
    msg = str(e.value)
    assert "'nyu-mll/glue' (config 'rte', split 'validation')" in msg and "offline mode is on" in msg
    assert "source='local', data_dir='path/to/glue_data'" in msg and "RTE/" in msg

"""Experiment configs: errors name file, line, key and the closest valid key; overrides are typed."""

from pathlib import Path

import pytest

from posenc.training import ConfigError, FinetuneConfig, PretrainConfig, check_config, load_config

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_repo_configs_load():
    assert isinstance(load_config(REPO / "configs/pretrain/tiny.yaml"), PretrainConfig)
    assert isinstance(load_config(REPO / "configs/finetune/sst2.yaml"), FinetuneConfig)


def test_unknown_key_has_file_line_key_and_close_match(tmp_path):
    p = _write(tmp_path, "kind: pretrain\ntokenizer: {train: wordpiece}\ncorpus: {files: [a.txt]}\n"
                         "train:\n  max_steps: 10\n  warmup_ration: 0.1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"{p}:6: train.warmup_ration: unknown key 'warmup_ration'. Did you mean 'warmup_ratio'" in str(e.value)
    assert "Did you mean" in str(e.value) and "Valid keys:" in str(e.value)


def test_all_errors_are_collected(tmp_path):
    p = _write(tmp_path, "kind: pretrain\nmodel: {hiden_size: 3}\ntokenizer: {train: wordpeace}\n"
                         "corpus: {files: [a.txt]}\ntrain: {max_steps: ten, mixed_precision: fp32}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msgs = [str(x) for x in e.value.problems]
    assert len(msgs) == 4, msgs
    assert any(":2: model.hiden_size" in m and "'hidden_size'" in m for m in msgs)
    assert any(":3: tokenizer.train" in m and "'wordpiece'" in m for m in msgs)
    assert any(":5: train.max_steps: expected" in m for m in msgs)
    assert any(":5: train.mixed_precision" in m for m in msgs)


def test_overrides_are_typed_and_checked(tmp_path):
    base = REPO / "configs/pretrain/tiny.yaml"
    cfg = load_config(base, ["train.lr=3e-4", "model.position={name: t5, num_buckets: 16}", "seed=7"])
    assert cfg.train.lr == 3e-4 and cfg.seed == 7 and cfg.model.position == {"name": "t5", "num_buckets": 16}
    cfg = load_config(base, ["model.position.name=diet_rel"])           # a string slot becomes a mapping
    assert cfg.model.position == {"name": "diet_rel"}
    with pytest.raises(ConfigError, match=r"command line \(train\.batch_sise=8\): train\.batch_sise: unknown key"):
        load_config(base, ["train.batch_sise=8"])
    with pytest.raises(ConfigError, match="must look like key.sub=value"):
        load_config(base, ["train.lr"])


def test_range_and_consistency_errors(tmp_path):
    base = REPO / "configs/finetune/sst2.yaml"
    with pytest.raises(ConfigError, match="exactly one of max_steps / num_epochs"):
        load_config(base, ["train.num_epochs=null"])
    with pytest.raises(ConfigError, match=r"model.preset: cannot be set together with model.from"):
        load_config(base, ["model.preset=tiny"])
    with pytest.raises(ConfigError, match="eval_fraction: must be in"):
        load_config(REPO / "configs/pretrain/tiny.yaml", ["corpus.eval_fraction=0.7"])


def test_duplicate_yaml_key_is_an_error(tmp_path):
    p = _write(tmp_path, "kind: finetune\ntask: rte\ntask: sst2\n")
    with pytest.raises(ConfigError, match=r":3: task: duplicate key"):
        load_config(p)


def test_deep_check_names_encoding_options_and_tasks(tmp_path):
    p = _write(tmp_path, "kind: finetune\ntask: sst3\nmodel:\n  preset: tiny\n  position: {name: t5, num_bukets: 8}\n"
                         "  segment: diett\ntokenizer: {train: wordpiece}\ntrain: {max_steps: 3}\n")
    msgs = [str(x) for x in check_config(p)]
    assert any(":2: task:" in m and "sst2" in m for m in msgs), msgs
    assert any(":5: model.position:" in m and "num_buckets" in m for m in msgs), msgs
    assert any(":6: model.segment:" in m and "diet" in m for m in msgs), msgs

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


def test_loaded_lengths_agree_with_the_model_for_every_encoding():
    """For every registered position encoding, load_config refuses mlm.seq_len exactly when a model
    built from that config cannot run a sequence of that length (absolute tables do not stretch,
    relative encodings do): the check and the model never disagree."""
    import posenc
    import torch
    from posenc.encodings import list_encodings
    from posenc.training.models import build_config

    size = ["model.preset=tiny", "model.hidden_size=32", "model.num_attention_heads=4", "model.intermediate_size=64",
            "model.num_hidden_layers=1", "model.max_position_embeddings=16"]
    refused = []
    for name in list_encodings():
        over = size + [f"model.position={name}", "mlm.seq_len=24"]
        problems = check_config(REPO / "configs/pretrain/tiny.yaml", over)
        assert all(p.key == "mlm.seq_len" for p in problems), problems
        cfg = load_config(REPO / "configs/pretrain/tiny.yaml", [o for o in over if "seq_len" not in o] + ["mlm.seq_len=8"])
        tok = type("Tok", (), {"pad_token_id": 0, "__len__": lambda self: 50})()
        model = posenc.PosencModel(build_config(cfg.model, tok)).eval()
        try:
            model(input_ids=torch.ones(1, 24, dtype=torch.long))
            runs = True
        except ValueError:
            runs = False
        assert runs == (not problems), (name, problems)
        refused += [name] if problems else []
    assert "absolute" in refused and "t5" not in refused


def test_max_length_zero_is_not_read_as_the_default():
    with pytest.raises(ConfigError, match=r"train.max_length: must be ≥ 8 tokens, got 0"):
        load_config(REPO / "configs/finetune/sst2.yaml", ["train.max_length=0"])


def test_inputs_are_checked_when_asked(tmp_path):
    base = REPO / "configs/finetune/sst2.yaml"
    load_config(base)  # model.from names a run trained first: fine for a plan (and `posenc validate`)
    # "no such directory" when a runs/ folder exists here (a path), "no such local directory" otherwise (a hub id)
    with pytest.raises(ConfigError, match=r"model.from: '?runs/tiny-absolute'?: no such (local )?directory"):
        load_config(base, inputs=True)
    with pytest.raises(ConfigError, match=r"data.dir: .*nothere: no such directory"):
        load_config(base, ["data.source=local", f"data.dir={tmp_path}/nothere", "model.from=null",
                           "model.preset=tiny", "tokenizer.train=wordpiece"], inputs=True)

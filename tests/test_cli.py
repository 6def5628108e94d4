"""The `posenc` command: every subcommand's --help, validate over the repo, clear error exits."""

import subprocess
import sys
from pathlib import Path

import pytest

from posenc.cli import COMMANDS, build_parser, main

REPO = Path(__file__).resolve().parents[1]


def test_every_subcommand_has_useful_help(capsys):
    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)
    assert names == set(COMMANDS)
    for name in names:
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: posenc {name}" in out and len(out) > 300, name
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    out = capsys.readouterr().out
    assert "train.mixed_precision" in out and "--resume" in out and "torchrun" in out


def test_a_broken_command_module_is_an_error_not_a_missing_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "posenc.commands.probe", None)   # import fails as if the file were gone
    with pytest.raises(ImportError, match="posenc.commands.probe"):
        build_parser()


def test_validate_every_yaml_in_the_repo(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    files = [p for d in ("configs", "tasks") for p in (REPO / d).rglob("*.y*ml")]
    assert main(["validate", "configs", "tasks"]) == 0
    out = capsys.readouterr().out
    assert f"checked {len(files)} files: {len(files)} ok, 0 problems" in out
    assert len(files) >= 12            # floor: configs never disappear silently


def test_validate_reports_all_problems_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: pretrain\nmodel: {position: {name: t5, num_bukets: 8}}\n"
                   "tokenizer: {train: wordpiece}\ncorpus: {files: [x.txt]}\ntrain: {max_step: 3}\n")
    other = tmp_path / "not_posenc.yaml"
    other.write_text("foo: 1\n")
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:5: train.max_step: unknown key 'max_step'. Did you mean 'max_steps'" in out
    assert "train.max_steps" in out or "max_steps" in out
    assert str(other) in out
    assert "problems in 2 files" in out


def test_list_shows_encodings_options_tasks_presets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("absolute", "diet_abs", "rank", "segment encodings", "sst2", "rte", "base", "hidden_size=768"):
        assert word in out, word


def test_pretrain_bad_override_exits_2_with_location():
    p = subprocess.run([sys.executable, "-m", "posenc", "pretrain", str(REPO / "configs/pretrain/tiny.yaml"),
                        "train.lrr=1"], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 2
    assert "command line (train.lrr=1): train.lrr: unknown key 'lrr'. Did you mean 'lr'" in p.stderr


def test_wrong_kind_and_fp16_on_cpu_are_refused(tmp_path):
    p = subprocess.run([sys.executable, "-m", "posenc", "finetune", str(REPO / "configs/pretrain/tiny.yaml")],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 2 and "run it with `posenc pretrain`" in p.stderr
    p = subprocess.run([sys.executable, "-m", "posenc", "pretrain", str(REPO / "configs/pretrain/tiny.yaml"),
                        "train.mixed_precision=fp16", f"output_dir={tmp_path}"],
                       capture_output=True, text=True, cwd=REPO, env={**__import__("os").environ,
                                                                      "CUDA_VISIBLE_DEVICES": ""})
    assert p.returncode == 1 and "fp16 needs a CUDA GPU" in p.stderr


def test_lock_stops_a_second_writer(tmp_path):
    from posenc.training.rundir import RunLock, RunLockedError

    with RunLock(tmp_path):
        # flock is per open file: a second process (or a second open here) cannot take it
        p = subprocess.run([sys.executable, "-c", "from posenc.training.rundir import RunLock; "
                            f"RunLock({str(tmp_path)!r}).acquire()"], capture_output=True, text=True)
        assert p.returncode != 0 and "RunLockedError" in p.stderr and "in use by pid" in p.stderr
        with pytest.raises(RunLockedError):
            RunLock(tmp_path).acquire()
    RunLock(tmp_path).acquire().release()          # released → free again


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import json
    import os

    from posenc.training.rundir import atomic_write_json

    target = tmp_path / "results.json"
    atomic_write_json(target, {"a": 1})

    def boom(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]

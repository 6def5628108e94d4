"""Checks of an experiment config that need posenc's registries, the task registry or the disk.

They run when a config is loaded (:func:`posenc.training.load_config`), in ``posenc validate``,
and again when a run opens its directory, so nothing is written for a config that cannot run:

- encodings and their options, ``model.config`` keys, the task name;
- corpus files, a local data directory, ``tokenizer.load`` / ``model.from`` paths (a path that
  does not exist, or a hub id that the offline cache does not hold, is an error now rather than a
  "cannot connect to huggingface.co" later), and the weights of a ``model.from`` directory;
- lengths: ``mlm.seq_len`` / ``train.max_length`` against the longest sequence the model accepts
  (an absolute table's rows, a Linformer projection's columns), read from the built modules'
  ``max_length``, so a new encoding with a table is covered without being named here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .yaml_errors import Problem

Report = Callable[[str, str], None]


def locator(locations: dict[str, str] | None, problems: list[Problem]) -> Report:
    """``at(key, message)`` appending a Problem located at ``key`` or its nearest located parent."""
    locations = locations or {"": "config"}

    def at(key: str, message: str) -> None:
        k = key
        while k and k not in locations:
            k = k.rpartition(".")[0]
        problems.append(Problem(locations.get(k, locations.get("", "config")), key, message))

    return at


def config_problems(cfg, locations: dict[str, str] | None = None, inputs: bool = True) -> list[Problem]:
    """Every problem of a schema-valid experiment config that only the registries or disk reveal.
    ``inputs=False`` skips what must exist on this machine (``model.from``, ``tokenizer.load``,
    local corpus and data files): ``posenc validate`` checks a file, a sweep plans runs whose
    ``model.from`` is trained first; a run checks everything."""
    from .config import FinetuneConfig

    problems: list[Problem] = []
    at = locator(locations, problems)
    own = getattr(cfg, "config_problems", None)
    if own is not None:  # an experiment kind with its own model section (translate)
        own(at, inputs)
        return problems
    model_ok = _encodings(cfg.model, at)
    _model_config_keys(cfg.model, at)
    from_dir = None
    if inputs:
        _local_source(cfg.tokenizer.load, "tokenizer.load", "tokenizer_config.json", at)
        from_dir = _local_source(cfg.model.from_, "model.from", "config.json", at)
        if from_dir is not None:
            model_ok &= _weights_intact(from_dir, at)
    if isinstance(cfg, FinetuneConfig):
        _task(cfg, at, inputs)
    else:
        _corpus(cfg, at, inputs)
    if model_ok and not problems:
        _lengths(cfg, from_dir, at)
    return problems


def _encodings(model, at: Report) -> bool:
    from ..encodings import parse_spec

    ok = True
    for slot in ("position", "segment"):
        spec = getattr(model, slot)
        if spec is not None:
            try:
                parse_spec(slot, spec)
            except (ValueError, KeyError) as e:
                at(f"model.{slot}", str(e))
                ok = False
    return ok


def _model_config_keys(model, at: Report) -> None:
    from ..registry import did_you_mean
    from .models import config_fields

    valid = config_fields()
    for k in model.config:
        if k not in valid:
            at(f"model.config.{k}", f"not a PosencConfig field.{did_you_mean(k, valid)}")


def _task(cfg, at: Report, inputs: bool) -> None:
    from posenc.tasks import get_task

    try:
        get_task(cfg.task)
    except (ValueError, KeyError, OSError) as e:
        at("task", str(e))
    if inputs and cfg.data.source == "local" and cfg.data.dir and not Path(cfg.data.dir).is_dir():
        at("data.dir", f"{cfg.data.dir}: no such directory (relative paths are taken from {Path.cwd()})")


def _corpus(cfg, at: Report, inputs: bool) -> None:
    from .corpus import BUNDLED_PREFIX, language_files, resolve_files

    groups = [("corpus.files", cfg.corpus.files), ("tokenizer.files", cfg.tokenizer.files)] + [
        (f"corpus.languages.{lang}", language_files(pats)) for lang, pats in cfg.corpus.languages.items()]
    for key, files in groups:
        for f in files:
            if inputs or f.startswith(BUNDLED_PREFIX):  # bundled files are part of posenc: always there
                try:
                    resolve_files([f])
                except FileNotFoundError as e:
                    at(key, str(e))


def looks_like_path(value: str) -> bool:
    """A path rather than a hub id (``org/name`` or ``name``): absolute, ``./``, ``~``, two or more
    slashes, or a first component that exists here."""
    if value.startswith(("/", ".", "~")) or value.count("/") >= 2 or value.endswith("/"):
        return True
    return "/" in value and Path(value.split("/")[0]).is_dir()


def _local_source(value: str | None, key: str, marker: str, at: Report) -> Path | None:
    """The local directory ``value`` names (None for a hub id); reports a missing path, and a hub
    id that offline mode cannot reach."""
    if not value:
        return None
    p = Path(value).expanduser()
    if p.is_dir():
        return p
    if p.exists():
        at(key, f"{value} is a file; give the directory that holds {marker}")
        return None
    if looks_like_path(value):
        at(key, f"{value}: no such directory (relative paths are taken from {Path.cwd()})")
        return None
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(value, marker)
        if not isinstance(cached, str):
            at(key, f"{value!r}: no such local directory, and no hub model of that name in the cache "
                    "(HF_HUB_OFFLINE is set); give an existing path, or download it once online")
    return None


def _weights_intact(src: Path, at: Report) -> bool:
    """Every ``*.safetensors`` of a ``model.from`` model reads (a truncated file names itself)."""
    from .models import resolve_pretrained

    try:
        model_dir = Path(resolve_pretrained(str(src)))
    except FileNotFoundError:
        at("model.from", f"{src}: neither it nor {src / 'best'} holds a saved model (config.json); did that "
                         "pre-training finish?")
        return False
    bad = damaged_files(model_dir)
    for path, why in bad:
        at("model.from", f"{path} is damaged ({why}); re-save the model or use another checkpoint")
    return not bad


def damaged_files(directory: Path) -> list[tuple[Path, str]]:
    """``(file, reason)`` for each ``*.safetensors`` in ``directory`` whose header or size is wrong."""
    from safetensors import SafetensorError, safe_open

    out = []
    for f in sorted(Path(directory).glob("*.safetensors")):
        try:
            with safe_open(str(f), "pt"):
                pass
        except (SafetensorError, OSError) as e:
            out.append((f, str(e)))
    return out


def _lengths(cfg, from_dir: Path | None, at: Report) -> None:
    from .config import FinetuneConfig
    from .models import length_limit, model_config_for_checks

    key, length = ("train.max_length", cfg.train.max_length) if isinstance(cfg, FinetuneConfig) \
        else ("mlm.seq_len", cfg.mlm.seq_len)
    if cfg.model.from_ and from_dir is None:
        return  # a hub id or a run not trained yet (a sweep checks it against the planned model)
    model_cfg = model_config_for_checks(cfg.model, from_dir)
    if model_cfg is None:
        return
    limit = length_limit(model_cfg)
    if limit is not None and length > limit[0]:
        n, what = limit
        fix = (f"lower {key} to ≤ {n} (the checkpoint in {cfg.model.from_} fixes the table)" if cfg.model.from_
               else f"lower {key} to ≤ {n} or raise model.max_position_embeddings (or the encoding's max_length option)")
        at(key, f"{length} tokens exceed {what}, which holds {n} positions; {fix}")

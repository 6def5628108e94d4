"""Checks of an expanded sweep, before anything runs (``posenc sweep``, ``--dry-run`` and
``posenc validate`` all refuse the same plans):

- every task name resolves;
- no two runs share a name: two entries with the same encodings (e.g. differing only in
  ``from:``), or a seed / learning rate / task listed twice, would share a run directory and one
  of them would silently never run (entries that differ only in ``finetune_segment`` share their
  pre-training on purpose: it is planned once);
- each planned pre-training fits its model (``mlm.seq_len`` against position tables), and each
  fine-tune's ``train.max_length`` fits the model it starts from;
- a shared tokenizer left in OUTPUT_DIR/tokenizer by an earlier sweep was trained with the same
  settings as the ones now planned.
"""

from __future__ import annotations

import json
from collections import Counter

from ..training.checks import config_problems
from ..training.yaml_errors import ConfigError, Problem
from .config import SweepConfig


def _where(sweep: SweepConfig, key: str) -> str:
    k = key
    while k and k not in sweep.locations:
        k = k.rpartition(".")[0]
    return sweep.locations.get(k, sweep.locations.get("", sweep.source or "sweep"))


def check_tasks(sweep: SweepConfig) -> None:
    from posenc.tasks import get_task

    problems = []
    for i, task in enumerate(sweep.tasks):
        try:
            get_task(task)
        except (ValueError, KeyError, OSError) as e:
            problems.append(Problem(_where(sweep, "tasks"), f"tasks.{i}", str(e)))
    if problems:
        raise ConfigError(problems)


def _repeated(values) -> list:
    return [v for v, n in Counter(values).items() if n > 1]


def check_plan(plan) -> None:
    sweep = plan.sweep
    problems: list[Problem] = []
    for key, values in (("seeds", sweep.seeds), ("learning_rates", [f"{lr:g}" for lr in sweep.learning_rates]),
                        ("tasks", sweep.tasks)):
        for v in _repeated(values):
            problems.append(Problem(_where(sweep, key), key, f"{v} is listed twice; the runs would share names "
                                                             "and directories, so remove the repeat"))
    if not problems:
        problems += _duplicate_entries(plan)
    problems += _runs(plan)
    problems += _stale_tokenizer(plan)
    if problems:
        raise ConfigError(problems)


def _duplicate_entries(plan) -> list[Problem]:
    first: dict[str, int] = {}
    clashes: dict[tuple[int, int], str] = {}
    for run in plan.runs:
        other = first.setdefault(run.name, run.entry)
        if other != run.entry:
            clashes.setdefault((other, run.entry), run.name)
    sweep, out = plan.sweep, []
    for (i, j), name in clashes.items():
        out.append(Problem(_where(sweep, f"encodings.{j}"), f"encodings.{j}",
                           f"plans the same run names as encodings.{i} (e.g. {name}): runs are named by their "
                           "encodings, so these two entries would share run directories and one would never run. "
                           "Remove one, or compare them in separate sweeps (another output_dir)"))
    return out


def _runs(plan) -> list[Problem]:
    """Each pre-training and one fine-tune per (entry, task) through the experiment checks (the
    bases were parsed without them: each entry replaces their encodings); fine-tunes of a planned
    model against its table."""
    from ..training.models import length_limit, model_config_for_checks

    sweep, out, models, limits, seen = plan.sweep, [], {}, {}, set()
    for run in plan.runs:
        key = f"encodings.{run.entry}"
        what = "pre-training" if run.kind == "pretrain" else "fine-tune"
        task = getattr(run.config, "task", None)
        if run.kind == "pretrain" or (run.entry, task) not in seen:
            seen.add((run.entry, task))
            for p in config_problems(run.config, inputs=False):
                out.append(Problem(_where(sweep, key), key, f"{what} {run.name}: {p.key}: {p.message}"))
        if run.kind == "pretrain":
            models[run.name] = run.config.model
            continue
        if run.depends_on not in models:
            continue  # `from:` an existing model: checked when the run starts
        sig = (run.depends_on, repr(run.config.model.segment))
        if sig not in limits:
            model_cfg = model_config_for_checks(models[run.depends_on], None)
            if run.config.model.segment is not None:
                model_cfg.segment = run.config.model.segment
            limits[sig] = length_limit(model_cfg)
        limit, n = limits[sig], run.config.train.max_length
        if limit is not None and n > limit[0] and not any(p.key == key for p in out):
            out.append(Problem(_where(sweep, key), key,
                               f"fine-tune {run.name}: train.max_length {n} exceeds {limit[1]} of its pre-trained "
                               f"model, which holds {limit[0]} positions; set train.max_length ≤ {limit[0]} in "
                               "finetune_overrides (or a larger table in pretrain_overrides)"))
    return out


def _stale_tokenizer(plan) -> list[Problem]:
    from .plan import TOKENIZER_RECIPE, tokenizer_settings

    if plan.shared_tokenizer is None:
        return []
    recorded = plan.shared_tokenizer / TOKENIZER_RECIPE
    if not recorded.exists():
        return []
    was, now = json.loads(recorded.read_text()), tokenizer_settings(plan.tokenizer_recipe)
    if was == now:
        return []
    diff = [f"{sec}.{k}: {was.get(sec, {}).get(k)!r} → {v!r}" for sec, d in now.items() for k, v in d.items()
            if was.get(sec, {}).get(k) != v]
    return [Problem(_where(plan.sweep, "output_dir"), "output_dir",
                    f"{plan.shared_tokenizer} was trained with other settings ({'; '.join(diff)}); its runs "
                    "would mix vocabularies. Use another output_dir for the new settings, or delete that "
                    "directory (and the runs trained with it)")]

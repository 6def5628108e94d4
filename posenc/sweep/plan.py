"""Expand a sweep into runs with stable names (the same sweep file always gives the same plan).

    OUTPUT_DIR/pretrain/<encoding>/                         one per encoding
    OUTPUT_DIR/finetune/<encoding>/<task>/lr<lr>-seed<s>/   encodings × tasks × lrs × seeds
    OUTPUT_DIR/translate/<encoding>/<task>/lr<lr>-seed<s>/  a translation sweep (``translate:``) instead
    OUTPUT_DIR/report/                                      the comparison report

``<encoding>`` is the encoding label made filesystem-safe: ``diet_abs(rank=32)+diet`` →
``diet_abs-rank32+diet``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..encodings import encoding_label
from ..training.config import FinetuneConfig, PretrainConfig, config_from_dict, config_to_dict, parse_config
from .config import EncodingEntry, SweepConfig

SCRATCH = "scratch"  # `from: scratch`: no pre-trained model, the fine-tune config builds one


@dataclass
class PlannedRun:
    kind: str  # "pretrain" | "finetune" | "translate"
    name: str  # stable, relative to the sweep's output_dir
    run_dir: Path
    config: PretrainConfig | FinetuneConfig
    encoding: str
    depends_on: str | None = None  # name of the pre-train run a fine-tune starts from
    entry: int = 0  # index of the sweep's encodings entry that planned it

    def state(self) -> str:
        """``done`` (results.json written), ``partial`` (checkpoints to resume) or ``todo``."""
        from ..training.rundir import latest_checkpoint

        if (self.run_dir / "results.json").exists():
            return "done"
        if latest_checkpoint(self.run_dir) is not None:
            return "partial"
        return "todo"


@dataclass
class Plan:
    sweep: SweepConfig
    output_dir: Path
    runs: list[PlannedRun] = field(default_factory=list)
    # one tokenizer for every comparand (trained once, before the first run): the encodings then
    # differ in nothing but their encodings — WordPiece training breaks count ties in hash order
    shared_tokenizer: Path | None = None
    tokenizer_recipe: dict | None = None  # the base config's `tokenizer` and `corpus` sections

    @property
    def pretrain_runs(self) -> list[PlannedRun]:
        return [r for r in self.runs if r.kind == "pretrain"]

    @property
    def finetune_runs(self) -> list[PlannedRun]:
        return [r for r in self.runs if r.kind == "finetune"]

    def describe(self) -> str:
        """The ``--dry-run`` text: every run, its state, and what it starts from."""
        lines = [f"sweep {self.sweep.name!r}: {len(self.pretrain_runs)} pre-train + {len(self.finetune_runs)} fine-tune runs "
                 f"in {self.output_dir}"]
        for r in self.runs:
            src = f"  <- {r.depends_on}" if r.depends_on else ""
            lines.append(f"  [{r.state():7}] {r.name}{src}")
        counts = {s: sum(r.state() == s for r in self.runs) for s in ("done", "partial", "todo")}
        lines.append(f"{counts['done']} done, {counts['partial']} to resume, {counts['todo']} to run")
        return "\n".join(lines)


TOKENIZER_RECIPE = "posenc_tokenizer_recipe.json"  # what a sweep's shared tokenizer was trained with


def tokenizer_settings(recipe: dict) -> dict:
    """The settings that decide a trained tokenizer (not caches or evaluation splits)."""
    t, c = recipe["tokenizer"], recipe["corpus"]
    return {"tokenizer": {k: t.get(k) for k in ("train", "vocab_size", "lowercase", "files", "max_lines")},
            "corpus": {k: c.get(k) for k in ("files", "hub", "hub_config", "split", "text_field", "max_lines")}}


def slug(label: str) -> str:
    """Filesystem-safe, readable form of an encoding label."""
    s = label.replace("(", "-").replace(")", "").replace("=", "").replace(",", "-").replace("/", "_")
    return re.sub(r"[^A-Za-z0-9_.+\-]", "_", s)


def _lr_tag(lr: float) -> str:
    return f"{lr:g}".replace("+", "")


def _with(cfg_dict: dict, **sets) -> dict:
    d = copy.deepcopy(cfg_dict)
    for dotted, value in sets.items():
        node = d
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {}) or {}
        node[last] = value
    return d


def task_file(task: str, base_dir: Path) -> str:
    """A task YAML path in a sweep file is relative to the sweep file; a task name stays a name."""
    if task.endswith((".yaml", ".yml")) and not Path(task).is_absolute() and (base_dir / task).is_file():
        return str((base_dir / task).resolve())
    return task


def _trains(task: str) -> bool:
    from posenc.tasks import get_task

    return get_task(task).task_kind.trains


def expand(sweep: SweepConfig) -> Plan:
    """The full, ordered run list: each encoding's pre-training, then its fine-tunes. Raises
    ConfigError (file:line, naming the entries) for unknown tasks, two entries that would share run
    directories, lengths that do not fit a planned model, or a stale shared tokenizer."""
    from ..training.yaml_errors import ConfigError, Problem
    from .checks import _where, check_plan, check_tasks

    check_tasks(sweep)
    base_dir = Path(sweep.source).parent if sweep.source else Path(".")
    out = Path(sweep.output_dir)
    plan = Plan(sweep=sweep, output_dir=out)
    if sweep.translate:
        plan.runs = _translation_runs(sweep, config_to_dict(parse_config(base_dir / sweep.translate,
                                                                         sweep.translate_overrides)), out)
        check_plan(plan)
        return plan
    needs_pretrain = any(e.from_ is None for e in sweep.encodings)

    def base(path, overrides):  # each planned run is checked below, with the encodings it really uses
        return config_to_dict(parse_config(base_dir / path, overrides))

    pre_base = base(sweep.pretrain, sweep.pretrain_overrides) if needs_pretrain else None
    ft_base = base(sweep.finetune, sweep.finetune_overrides) if sweep.tasks else None
    ft_task_base = {task: base(sweep.finetune, [*sweep.finetune_overrides, *sweep.task_overrides[task]])
                    for task in sweep.tasks if sweep.task_overrides.get(task)}
    if pre_base is not None and pre_base["tokenizer"].get("train"):
        plan.shared_tokenizer = out / "tokenizer"
        plan.tokenizer_recipe = {"tokenizer": pre_base["tokenizer"], "corpus": pre_base["corpus"]}
        # the runs load the shared tokenizer (trained once from tokenizer_recipe): training-only keys
        # (a SentencePiece model_type) go back to their defaults, as a `load:` config must have them
        pre_base = _with(pre_base, tokenizer__train=None, tokenizer__model_type="unigram",
                         tokenizer__load=str(plan.shared_tokenizer))
    for index, entry in enumerate(sweep.encodings):
        pre_label = encoding_label(entry.position, entry.segment)
        scratch = entry.from_ == SCRATCH  # task runs from random weights (the length suite)
        if entry.from_:  # an existing model, or none: nothing to pre-train
            pre_name, pre_dir = None, None if scratch else entry.from_
        else:
            pre_name = f"pretrain/{slug(pre_label)}"
            pre_dir = out / pre_name
            entry_base = pre_base
            if entry.pretrain_overrides:
                entry_base = _with(base(sweep.pretrain, [*sweep.pretrain_overrides, *entry.pretrain_overrides]),
                                   tokenizer=pre_base["tokenizer"])
            pre_cfg = config_from_dict(_with(entry_base, model__position=entry.position, model__segment=entry.segment,
                                             name=slug(pre_label), output_dir=str(out / "pretrain"),
                                             seed=sweep.pretrain_seed))
            shared = [r for r in plan.pretrain_runs if r.name == pre_name]
            if not shared:
                plan.runs.append(PlannedRun("pretrain", pre_name, pre_dir, pre_cfg, pre_label, entry=index))
            elif config_to_dict(shared[0].config) != config_to_dict(pre_cfg):
                raise ConfigError([Problem(_where(sweep, f"encodings.{index}"), f"encodings.{index}",
                                           f"pre-trains {pre_label} like encodings.{shared[0].entry} but with other "
                                           "pretrain_overrides: both would use one run directory. Give them the same "
                                           "overrides, or compare them in separate sweeps (another output_dir)")])
        ft_segment = entry.finetune_segment if entry.finetune_segment is not None else entry.segment
        ft_label = encoding_label(entry.position, ft_segment)
        for task in sweep.tasks:
            task_tag = _task_tag(task)
            task_base = ft_task_base.get(task, ft_base)
            lrs = sweep.learning_rates or [task_base["train"]["lr"]]  # empty grid: the task's own lr
            seeds = sweep.seeds
            if not _trains(task_file(task, base_dir)):  # evaluated as pre-trained (retrieval): one run is all
                lrs, seeds = lrs[:1], seeds[:1]
            for lr in lrs:
                for seed in seeds:
                    name = f"finetune/{slug(ft_label)}/{task_tag}/lr{_lr_tag(lr)}-seed{seed}"
                    cfg = config_from_dict(_with(
                        task_base, task=task_file(task, base_dir), seed=seed, train__lr=lr, name=name.replace("/", "_"),
                        output_dir=str(out / "finetune"), model__from=None if scratch else str(pre_dir),
                        model__segment=ft_segment, model__position=entry.position if scratch else None))
                    plan.runs.append(PlannedRun("finetune", name, out / name, cfg, ft_label, depends_on=pre_name,
                                                entry=index))
    check_plan(plan)
    return plan


def _task_tag(task: str) -> str:
    return slug(Path(task).stem if task.endswith((".yaml", ".yml")) else task)


def _translation_runs(sweep: SweepConfig, base: dict, out: Path) -> list[PlannedRun]:
    """One encoder-decoder per encoding × task × lr × seed, trained from scratch."""
    from ..training.translate import encoding_name

    runs = []
    for index, entry in enumerate(sweep.encodings):
        label = encoding_name(entry.position, base["model"]["cross_attention_position"])
        for task in sweep.tasks:
            for lr in sweep.learning_rates or [base["train"]["lr"]]:
                for seed in sweep.seeds:
                    name = f"translate/{slug(label)}/{_task_tag(task)}/lr{_lr_tag(lr)}-seed{seed}"
                    cfg = config_from_dict(_with(base, task=task, seed=seed, train__lr=lr, name=name.replace("/", "_"),
                                                 output_dir=str(out / "translate"), model__position=entry.position))
                    runs.append(PlannedRun("translate", name, out / name, cfg, label, entry=index))
    return runs

"""The sweep file: which encodings, which base pre-train/fine-tune configs, which grid.

    kind: sweep
    name: quickstart
    output_dir: runs/quickstart
    pretrain: pretrain/tiny.yaml            # base configs, relative to this file
    finetune: finetune/tiny.yaml
    pretrain_overrides: [train.max_steps=300]
    # or, for translation: `translate: wmt/tiny.yaml` (kind: translate), tasks: [multi30k_en_de];
    # each encoding then trains one encoder-decoder per task × lr × seed, nothing is pre-trained
    encodings:
      - {position: absolute, segment: input}
      - {position: {name: diet_abs, rank: 32}, segment: none, finetune_segment: diet}
    tasks: [sst2, rte]
    seeds: [1, 2]
    learning_rates: [1e-4, 2e-4]
    report: {baseline: absolute+input, bench: ../bench-small/bench.csv}   # costs from `posenc bench`

Validated like every posenc config: unknown keys and bad values are reported with file, line
and the closest valid key; encoding names and options are checked against the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from ..training.schema import FieldProblem, build
from ..training.yaml_errors import ConfigError, Problem, apply_override, load_yaml


def _f(default, help: str):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class EncodingEntry:
    """One comparand: a position encoding and the segment encodings used to pre-train and fine-tune."""

    position: Union[str, dict] = _f("absolute", "position encoding: name or {name: ..., **options}")
    segment: Union[str, dict] = _f("none", "segment encoding during pre-training (the paper: none, no NSP)")
    finetune_segment: Union[str, dict, None] = _f(None, "segment encoding added at fine-tuning (null = same as segment)")
    from_: str | None = _f(None, "fine-tune an existing pre-trained model (run dir, model dir or hub id) instead of pre-training, "
                                 "or `scratch`: train every task run from random weights with this encoding (written `from:`)")
    pretrain_overrides: list[str] = _f([], "key=value overrides of this entry's pre-training, after the sweep's "
                                           "(e.g. [train.encoding_lr_scale=30]); the shared tokenizer cannot change")

    def validate(self):
        for o in self.pretrain_overrides:
            if not isinstance(o, str) or "=" not in o:
                raise FieldProblem("pretrain_overrides", f"give key=value strings, e.g. [train.encoding_lr_scale=30], got {o!r}")
            if o.split("=", 1)[0].strip().startswith(("tokenizer.", "model.position", "model.segment")):
                raise FieldProblem("pretrain_overrides", f"{o!r}: every entry shares the sweep's tokenizer, and the "
                                                         "entry's own position/segment keys set its encodings")
        if self.pretrain_overrides and self.from_:
            raise FieldProblem("pretrain_overrides", "this entry pre-trains nothing (it has `from:`)")
        from ..encodings import parse_spec
        from ..options import OptionError
        from ..registry import UnknownNameError

        for key, kind in (("position", "position"), ("segment", "segment"), ("finetune_segment", "segment")):
            value = getattr(self, key)
            if value is None:
                continue
            try:
                parse_spec(kind, value)
            except (OptionError, UnknownNameError) as e:
                raise FieldProblem(key, str(e)) from None


@dataclass
class ReportSection:
    formats: list[str] = _f(["md", "csv", "latex", "html"], "report formats written to OUTPUT_DIR/report")
    baseline: str | None = _f(None, "baseline encoding label for comparisons (null = absolute+input if present)")
    enabled: bool = _f(True, "write the report when the sweep finishes")
    bench: str | None = _f(None, "a `posenc bench` CSV (path relative to this file): the report states costs from its "
                                 "interleaved timings instead of the sweep's uncontrolled ones (like `posenc report --bench`)")


@dataclass
class ProbeSection:
    multiples: list[float] = _f([1.0, 2.0, 4.0], "evaluate MLM loss at these multiples of the pre-training length")
    max_blocks: int = _f(32, "held-out blocks per length")
    enabled: bool = _f(True, "run the length-generalisation probe after each pre-training")


@dataclass
class SlurmSection:
    partition: str | None = _f(None, "SLURM partition")
    time_min: int = _f(240, "time limit per job in minutes")
    gpus_per_node: int = _f(1, "GPUs per job")
    cpus_per_task: int = _f(8, "CPUs per job")
    mem_gb: int = _f(64, "memory per job")
    additional: dict = _f({}, "extra sbatch parameters (submitit slurm_additional_parameters)")


@dataclass
class LauncherSection:
    kind: Literal["local", "accelerate", "slurm"] = _f("local", "local: in this process; accelerate: each run via `accelerate launch`; slurm: submitit jobs")
    accelerate_args: list[str] = _f([], "arguments for `accelerate launch`, e.g. [--multi_gpu, --num_processes, '8']")
    jobs: int = _f(1, "local launcher: runs at once, each in its own process with an equal share of the CPU threads "
                      "(1 = every run in this process). Small models on a CPU machine train faster as N one-thread "
                      "processes than as one N-thread process; a fine-tune starts once its pre-training is done")
    slurm: SlurmSection = field(default_factory=SlurmSection)

    def validate(self):
        if self.jobs < 1:
            raise FieldProblem("jobs", f"must be ≥ 1, got {self.jobs}")
        if self.jobs > 1 and self.kind != "local":
            raise FieldProblem("jobs", f"runs at once are for the local launcher; {self.kind} schedules its own runs")


@dataclass
class SweepConfig:
    """A grid of encodings × tasks × seeds × learning rates over one pre-train and one fine-tune recipe."""

    kind: Literal["sweep"]
    name: str = _f("sweep", "sweep name")
    description: str = _f("", "free text")
    output_dir: str = _f("runs/sweep", "where all runs and the report live (relative to the working directory)")
    pretrain: str = _f("", "base pre-train config (path relative to this file)")
    finetune: str = _f("", "base fine-tune config (path relative to this file)")
    translate: str = _f("", "base translation config (kind: translate; path relative to this file): each encoding trains an encoder-decoder from scratch per task × lr × seed, instead of pretrain + finetune")
    pretrain_overrides: list[str] = _f([], "key=value overrides applied to every pre-train run")
    finetune_overrides: list[str] = _f([], "key=value overrides applied to every fine-tune run")
    translate_overrides: list[str] = _f([], "key=value overrides applied to every translation run")
    task_overrides: dict = _f({}, "per-task key=value fine-tune overrides applied after finetune_overrides, e.g. {cola: [train.num_epochs=3]}")
    encodings: list[EncodingEntry] = _f([], "the comparands")
    tasks: list[str] = _f([], "fine-tuning tasks (names or task YAML paths)")
    seeds: list[int] = _f([1], "fine-tuning seeds (the paper: 5)")
    learning_rates: list[float] = _f([], "fine-tuning learning rates (empty = the base config's train.lr, after task_overrides)")
    pretrain_seed: int = _f(1, "seed of every pre-training run")
    report: ReportSection = field(default_factory=ReportSection)
    probe: ProbeSection = field(default_factory=ProbeSection)
    launcher: LauncherSection = field(default_factory=LauncherSection)
    source: str = field(default="", init=False, metadata={"help": "(set by the loader) the sweep file"})
    locations: dict = field(default_factory=dict, init=False, repr=False,
                            metadata={"help": "(set by the loader) file:line of each key"})

    def validate(self):
        if not str(self.output_dir).strip():
            raise FieldProblem("output_dir", "is empty: name a directory, e.g. runs/my-sweep (an empty value would "
                                             "scatter the runs over the working directory)")
        if self.tasks and not (self.finetune or self.translate):
            raise FieldProblem("finetune", "tasks are listed but no base fine-tune (or translate) config is named")
        if self.translate and (self.finetune or self.pretrain):
            raise FieldProblem("translate", "a translation sweep trains encoder-decoders from scratch: give `translate:` "
                                            "without `pretrain:` / `finetune:` (run those in another sweep)")
        if not self.seeds:
            raise FieldProblem("seeds", "list at least one seed")
        for task, extra in self.task_overrides.items():
            if task not in self.tasks:
                raise FieldProblem("task_overrides", f"{task!r} is not one of the sweep's tasks {self.tasks}")
            if not isinstance(extra, list) or not all(isinstance(o, str) and "=" in o for o in extra):
                raise FieldProblem("task_overrides", f"{task}: give a list of key=value strings, e.g. [train.num_epochs=3]")


def _build_entries(data: dict, locations: dict[str, str], problems: list[Problem]) -> list[EncodingEntry]:
    entries = []
    for i, item in enumerate(data.get("encodings") or []):
        if isinstance(item, str):
            item = {"position": item}
        obj, probs = build(EncodingEntry, item, locations, f"encodings.{i}")
        problems += probs
        if obj is not None:
            entries.append(obj)
    return entries


def _bench_problems(report: ReportSection, base: Path, where: str) -> list[Problem]:
    """Resolve ``report.bench`` against the sweep file's folder and read it now, so a missing or
    malformed CSV stops the sweep before any run (not after hours of training, at the report)."""
    from ..report.speed import load_bench

    path = Path(report.bench).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        load_bench(path)
    except FileNotFoundError:
        return [Problem(where, "report.bench", f"file not found: {path} (paths are relative to the sweep file; "
                                               "`posenc bench --out DIR` writes DIR/bench.csv)")]
    except ValueError as e:
        return [Problem(where, "report.bench", str(e).removeprefix("--bench "))]
    report.bench = str(path)
    return []


def load_sweep(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> SweepConfig:
    """Load and validate a sweep file; raises ConfigError listing every problem with file:line."""
    data, locations, problems = load_yaml(path)
    for o in overrides:
        p = apply_override(data, locations, o)
        if p:
            problems.append(p)
    encodings_raw = data.pop("encodings", None)
    entries = _build_entries({"encodings": encodings_raw}, locations, problems)
    obj, probs = build(SweepConfig, {**data, "encodings": []}, locations)
    problems += [p for p in probs if p.key != "encodings"]
    if not encodings_raw:
        problems.append(Problem(locations.get("encodings", locations.get("", str(path))), "encodings",
                                "list at least one encoding, e.g. - {position: absolute, segment: input}"))
    base = Path(path).parent
    for key in ("pretrain", "finetune", "translate"):
        rel = data.get(key)
        if rel and not (base / rel).exists():
            problems.append(Problem(locations.get(key, str(path)), key, f"file not found: {base / rel}"))
    if obj is not None and obj.report.bench:
        problems += _bench_problems(obj.report, base, locations.get("report.bench", locations.get("report", str(path))))
    if obj is not None and obj.translate:
        for i, e in enumerate(entries):
            if e.from_ or e.finetune_segment is not None:
                problems.append(Problem(locations.get(f"encodings.{i}", str(path)), f"encodings.{i}",
                                        "a translation sweep trains from scratch: `from:` and `finetune_segment:` do not apply"))
    elif obj is not None and not obj.pretrain and any(e.from_ is None for e in entries):
        problems.append(Problem(locations.get("", str(path)), "pretrain",
                                "name the base pre-train config (e.g. pretrain/tiny.yaml) or give every encoding a `from:` model"))
    if problems:
        raise ConfigError(problems)
    obj.encodings = entries
    obj.source = str(path)
    obj.locations = locations
    return obj


def check_sweep_file(path: str | Path) -> list[Problem]:
    """Every problem of a sweep file for ``posenc validate``: its own keys, the base configs with
    their overrides, the task names, and each planned run (unique names, lengths that fit the
    pre-trained model) — what ``posenc sweep`` refuses before it runs anything."""
    from .plan import expand

    try:
        expand(load_sweep(path))
    except ConfigError as e:
        return list(e.problems)
    except (FileNotFoundError, ValueError) as e:
        return [Problem(f"{path}:1", "", str(e))]
    return []

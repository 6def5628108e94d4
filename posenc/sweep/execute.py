"""Run a sweep plan: pre-train each encoding once, then its fine-tunes, then the report.

Safe to re-run: finished runs (results.json) are skipped, killed runs resume from their last
checkpoint, and a failed pre-training skips only its own fine-tunes. Three launchers:

- ``local``: every run in this process (one CPU or GPU), or with ``launcher.jobs: N`` (``--jobs N``)
  N runs at once in N worker processes, each with an equal share of the CPU threads, its output in
  OUTPUT_DIR/logs/RUN.log (pre-trainings first; a fine-tune starts once its pre-training and probe
  are done);
- ``accelerate``: every run as ``accelerate launch ARGS -m posenc KIND CONFIG --run-dir DIR``
  (multi-GPU / multi-node, whatever ``accelerate config`` says);
- ``slurm``: one submitit job per encoding (its pre-training, then its fine-tunes), then a report
  job that waits for them all (``afterany``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

from tqdm.auto import tqdm

from ..training.config import config_to_dict
from ..training.rundir import atomic_write_json, atomic_write_yaml
from .plan import Plan, PlannedRun


def _config_file(plan: Plan, run: PlannedRun) -> Path:
    """The resolved config of a run, as a YAML file a subprocess or cluster job can read."""
    path = plan.output_dir / ".plan" / (run.name.replace("/", "__") + ".yaml")
    atomic_write_yaml(path, config_to_dict(run.config))
    return path


def ensure_shared_tokenizer(plan: Plan) -> None:
    """Train the sweep's one tokenizer (OUTPUT_DIR/tokenizer) if it is not there yet."""
    if plan.shared_tokenizer is None or (plan.shared_tokenizer / "tokenizer_config.json").exists():
        return
    import shutil
    import tempfile

    from ..training.config import CorpusSection
    from ..training.corpus import iter_texts, load_text
    from ..training.tokenizer import build_tokenizer

    t, c = plan.tokenizer_recipe["tokenizer"], plan.tokenizer_recipe["corpus"]
    corpus = CorpusSection(**{k: v for k, v in c.items()}) if not t.get("files") else CorpusSection(files=t["files"])
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=plan.output_dir, prefix=".tokenizer."))
    tok = build_tokenizer(t["train"], iter_texts(load_text(corpus), t.get("max_lines")), t["vocab_size"],
                          t.get("lowercase", True), save_model_to=tmp, model_type=t.get("model_type", "unigram"))
    tok.save_pretrained(tmp)
    from .plan import TOKENIZER_RECIPE, tokenizer_settings

    atomic_write_json(tmp / TOKENIZER_RECIPE, tokenizer_settings(plan.tokenizer_recipe))  # checked on reuse
    if (plan.shared_tokenizer / "tokenizer_config.json").exists():  # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)
        return
    os.replace(tmp, plan.shared_tokenizer)


def run_one(plan: Plan, run: PlannedRun, launcher: str = "local", accelerate_args: list[str] | None = None) -> str:
    """Run (or resume, or skip) one planned run; returns ``"skipped"``, ``"resumed"`` or ``"ran"``."""
    state = run.state()
    if state == "done":
        return "skipped"
    resume = state == "partial"
    if launcher == "accelerate":
        cmd = [sys.executable, "-m", "accelerate.commands.launch", *(accelerate_args or []), "-m", "posenc",
               run.kind, str(_config_file(plan, run)), "--run-dir", str(run.run_dir)]
        if resume:
            cmd.append("--resume")
        proc = subprocess.run(cmd)
        if proc.returncode != 0:
            raise RuntimeError(f"{run.name}: `{' '.join(cmd)}` exited with {proc.returncode}")
    else:
        import posenc.training

        getattr(posenc.training, f"run_{run.kind}")(run.config, run_dir=run.run_dir, resume=resume)
    return "resumed" if resume else "ran"


def log_file(plan: Plan, run: PlannedRun) -> Path:
    """Where a run started in its own process by ``jobs > 1`` writes its output."""
    return plan.output_dir / "logs" / (run.name.replace("/", "__") + ".log")


def _tail(path: Path, lines: int = 12) -> str:
    """The last non-empty lines of a log (progress bars' carriage returns read as line ends)."""
    try:
        text = path.read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return ""
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


def usable_cores() -> int:
    """CPU cores this process may use: its affinity mask, capped by a cgroup v2 CPU quota
    (``cpu.max``, as containers set it), so that workers do not oversubscribe a 2-core container
    on a 64-core host."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _start_worker(threads: int) -> None:
    """A worker process of ``jobs > 1``: its share of the cores, torch imported once."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    import torch

    torch.set_num_threads(threads)
    # Ctrl-C reaches every process of the terminal's group: an idle worker ignores it (dying would
    # break the pool and kill the busy ones); a run turns it back on while it trains (run_in_worker)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_in_worker(plan: Plan, run: PlannedRun) -> str:
    """:func:`run_one` and the probe in a worker process, output to :func:`log_file`; errors come
    back as RuntimeError quoting the end of the log (the run's own exception may not pickle)."""
    state = run.state()
    if state == "done":
        return "skipped"
    log = log_file(plan, run)
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a") as out:
        out.write(f"posenc {run.kind} {_config_file(plan, run)} --run-dir {run.run_dir}"
                  + (" --resume" if state == "partial" else "") + "\n")
        out.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            status = run_one(plan, run)
            probe_if_needed(plan, run)
        except KeyboardInterrupt as e:
            print(f"\nposenc {run.kind}: {e or 'interrupted'}", file=sys.stderr)
            return "interrupted"
        except Exception as e:
            import traceback

            traceback.print_exc()
            error = f"{type(e).__name__}: {e}"
        else:
            error = None
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    if error is not None:
        raise RuntimeError(f"{error}\n  its output, {log}, ends with:\n{_tail(log)}")
    return status


def run_at_once(plan: Plan, jobs: int, bar, failed: dict[str, str], counts: dict[str, int]) -> bool:
    """Run the plan with up to ``jobs`` runs at once in as many worker processes; pre-trainings go
    first (each unlocks its fine-tunes). Returns False when interrupted (Ctrl-C)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, usable_cores() // jobs)
    stop = threading.Event()  # Ctrl-C in this process: noted here, never raised mid-bookkeeping
    main = threading.current_thread() is threading.main_thread()  # only there can a handler be set
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set()) if main else None
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker, initargs=(threads,)) as pool:
            interrupted = _schedule(plan, pool, jobs, stop, bar, failed, counts)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return not interrupted


def _schedule(plan: Plan, pool, jobs: int, stop: threading.Event, bar, failed: dict[str, str],
              counts: dict[str, int]) -> bool:
    """The scheduling loop of :func:`run_at_once`; True when interrupted."""
    from concurrent.futures.process import BrokenProcessPool

    pending = sorted(plan.runs, key=lambda r: r.kind != "pretrain")  # stable: plan order otherwise
    done: set[str] = set()
    running: dict[Future, PlannedRun] = {}
    interrupted = False
    while pending or running:
        if stop.is_set() and not interrupted:  # the workers got the same signal: each run checkpoints
            interrupted, pending = True, []
        for run in list(pending):
            if len(running) >= jobs:
                break
            if run.depends_on in failed:
                failed[run.name] = f"its pre-training {run.depends_on} failed"
                pending.remove(run)
                bar.update()
            elif run.depends_on is None or run.depends_on in done:
                pending.remove(run)
                running[pool.submit(run_in_worker, plan, run)] = run
        if not running:
            break
        bar.set_postfix_str(", ".join(r.name for r in running.values()), refresh=True)
        finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
        for future in finished:
            run = running.pop(future)
            try:
                status = future.result()
            except BrokenProcessPool:
                if not stop.is_set():
                    failed[run.name] = "BrokenProcessPool: its worker process stopped"
                status = "interrupted" if stop.is_set() else None
            except Exception as e:  # one failed run must not stop the other encodings
                failed[run.name] = str(e)
                tqdm.write(f"posenc sweep: {run.name} failed: {failed[run.name]}", file=sys.stderr)
                status = None
            if status == "interrupted":
                interrupted, pending = True, []
                continue
            if status is not None:
                counts[status] += 1
                done.add(run.name)
            bar.update()
    return interrupted


def probe_if_needed(plan: Plan, run: PlannedRun) -> None:
    probe = plan.sweep.probe
    if run.kind != "pretrain" or not probe.enabled or (run.run_dir / "probe.json").exists():
        return
    from ..probe import probe_run

    probe_run(run.run_dir, multiples=tuple(probe.multiples), blocks=probe.max_blocks)


def write_report(plan: Plan) -> Path | None:
    """The comparison report over every finished run of the sweep (OUTPUT_DIR/report)."""
    rep_cfg = plan.sweep.report
    if not rep_cfg.enabled:
        return None
    from ..report.build import build_report
    from ..report.formats import export, parse_formats

    out = plan.output_dir / "report"
    sources = [p for p in (plan.output_dir / k for k in ("pretrain", "finetune", "translate")) if p.exists()]
    report = build_report(sources, out_dir=out, baseline=rep_cfg.baseline, bench=rep_cfg.bench)
    export(report, out, parse_formats(",".join(rep_cfg.formats)))
    return out


def run_sweep(plan: Plan, launcher: str | None = None, overrides: tuple[str, ...] = ()) -> int:
    """Execute ``plan`` locally, through ``accelerate launch`` or on SLURM; returns an exit code.
    ``overrides`` are the sweep-file overrides the plan was expanded with (SLURM jobs re-expand it)."""
    launcher = launcher or plan.sweep.launcher.kind
    if launcher == "slurm":
        from .slurm import submit_sweep

        submit_sweep(plan, overrides)
        return 0
    ensure_shared_tokenizer(plan)
    failed: dict[str, str] = {}
    counts = {"skipped": 0, "resumed": 0, "ran": 0}
    start = time.time()
    jobs = plan.sweep.launcher.jobs if launcher == "local" else 1
    if jobs > 1:
        bar = tqdm(total=len(plan.runs), desc=f"sweep {plan.sweep.name} ({jobs} at once)", unit="run",
                   dynamic_ncols=True)
        if not run_at_once(plan, jobs, bar, failed, counts):
            bar.close()
            print("\nsweep interrupted; re-run the same command to resume", file=sys.stderr)
            return 130
    else:
        bar = tqdm(plan.runs, desc=f"sweep {plan.sweep.name}", unit="run", position=0, dynamic_ncols=True)
        for run in bar:
            bar.set_postfix_str(run.name, refresh=True)
            if run.depends_on in failed:
                failed[run.name] = f"its pre-training {run.depends_on} failed"
                continue
            try:
                counts[run_one(plan, run, launcher, plan.sweep.launcher.accelerate_args)] += 1
                probe_if_needed(plan, run)
            except KeyboardInterrupt:
                bar.close()
                print(f"\nsweep interrupted during {run.name}; re-run the same command to resume", file=sys.stderr)
                return 130
            except Exception as e:  # one failed run must not stop the other encodings
                failed[run.name] = f"{type(e).__name__}: {e}"
                tqdm.write(f"posenc sweep: {run.name} failed: {failed[run.name]}", file=sys.stderr)
    bar.close()
    report_dir = write_report(plan)
    minutes = (time.time() - start) / 60
    print(f"sweep {plan.sweep.name}: {counts['ran']} ran, {counts['resumed']} resumed, {counts['skipped']} already done, "
          f"{len(failed)} failed in {minutes:.1f} min; runs in {plan.output_dir}"
          + (f"; report: {report_dir / 'report.html'}" if report_dir else ""))
    for name, why in failed.items():
        print(f"  FAILED {name}: {why}", file=sys.stderr)
    return 1 if failed else 0

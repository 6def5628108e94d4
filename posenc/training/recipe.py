"""The skeleton every training recipe shares (pre-training, fine-tuning, and those to come):

    with open_run(cfg, run_dir, resume=resume, overwrite=overwrite, kind="pretrain", name=cfg.name) as run:
        ...                                          # setup: data, tokenizer, model (the recipe's own)
        loader, sampler = run.train_loader(train_ds, collator)
        model, optimizer, loader, scheduler = run.prepare(model, loader, total)
        state = run.restore(total)                   # fresh, or the newest intact checkpoint (--resume)
        state = run_loop(run.loop_parts(...), cfg.train, state, run.log)
        return run.finish(run.results(model, state, task="mlm", ...))

``open_run`` builds the Accelerator, opens the run directory through :class:`RunSession`
(lock, config checks, resume rules, meta.json, config.yaml) and records a failure (or Ctrl-C) in
meta.json; ``finish`` writes results.json atomically and prints the summary line. The results
keys every run has (encoding, speed, memory, ...) are filled in once, here (docs/CONTRACTS.md).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import DataLoader

from . import rundir
from .engine import EpochSampler, flat_config, make_accelerator, micro_batch_plan, peak_memory_mb
from .loop import LoopParts, LoopState
from .optim import build_optimizer
from .progress import summary_line
from .session import RunSession


@dataclass
class Run:
    """An open run: its config, directory, Accelerator, session and metrics log."""

    cfg: object
    run_dir: Path
    name: str
    kind: str
    acc: object
    session: RunSession
    log: rundir.MetricsLog

    @property
    def batch_plan(self) -> tuple[int, int]:
        """(examples per loader batch over all processes, gradient-accumulation steps)."""
        return micro_batch_plan(self.cfg.train, self.acc.num_processes)

    @property
    def eval_batch_size(self) -> int:
        micro, _ = self.batch_plan
        return (self.cfg.train.eval_batch_size or micro // self.acc.num_processes) * self.acc.num_processes

    def train_loader(self, dataset, collate_fn) -> tuple[DataLoader, EpochSampler]:
        """Shuffled by (seed, epoch) alone, so a resumed run replays the same order."""
        sampler = EpochSampler(len(dataset), self.cfg.seed)
        loader = DataLoader(dataset, batch_size=self.batch_plan[0], sampler=sampler, collate_fn=collate_fn,
                            drop_last=True, generator=torch.Generator())  # private: must not draw from the global RNG
        return loader, sampler

    def prepare(self, model, loader, total_steps: int, *others):
        """Optimizer and schedule for ``total_steps``, everything placed by Accelerate; returns
        ``(model, optimizer, loader, scheduler, *others)``; then starts the trackers."""
        optimizer, scheduler = build_optimizer(model, self.cfg.train, total_steps)
        prepared = self.acc.prepare(model, optimizer, loader, scheduler, *others)
        if self.cfg.train.log_with != "none":
            from .config import config_to_dict

            self.acc.init_trackers(self.name, config=flat_config(config_to_dict(self.cfg)))
        return prepared

    def restore(self, total_steps: int) -> LoopState:
        """A fresh LoopState, or on ``--resume`` the newest intact checkpoint's."""
        return self.session.restore(self.log, total_steps)

    def loop_parts(self, *, model, optimizer, scheduler, loader, sampler, tokenizer, evaluate, main_metric: str,
                   greater_is_better: bool, total_steps: int, collator=None) -> LoopParts:
        return LoopParts(acc=self.acc, model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
                         sampler=sampler, collator=collator, tokenizer=tokenizer, evaluate=evaluate,
                         main_metric=main_metric, greater_is_better=greater_is_better, accum=self.batch_plan[1],
                         total_steps=total_steps, run_dir=self.run_dir, desc=f"{self.kind} {self.name}")

    def results(self, model, state: LoopState, *, task: str, main_metric: str, greater_is_better: bool,
                model_dir: str | None = "best", **extra) -> dict:
        """results.json: the keys every run has, then the recipe's ``extra`` keys."""
        import posenc

        inner = self.acc.unwrap_model(model)
        cfg = self.cfg
        return {
            "schema": 1, "status": "complete", "kind": self.kind, "run_name": self.name,
            "position": dict(inner.config.position), "segment": dict(inner.config.segment),
            "encoding": posenc.encoding_label(inner.config.position, inner.config.segment),
            "task": task, "seed": cfg.seed, "learning_rate": cfg.train.lr,
            "main_metric": main_metric, "greater_is_better": greater_is_better,
            "best": state.best, "final": state.last_eval,
            "num_parameters": sum(p.numel() for p in inner.parameters()),
            "tokens_per_s": state.tokens / max(state.train_time_s, 1e-9),
            "step_time_s": state.train_time_s / max(state.step, 1), "train_time_s": state.train_time_s,
            "peak_memory_mb": peak_memory_mb(self.acc.device), "world_size": self.acc.num_processes,
            "gradient_accumulation": self.batch_plan[1], "batch_size": cfg.train.batch_size,
            "pretrained_from": cfg.model.from_, "model_dir": model_dir,
            **extra,
        }

    def finish(self, results: dict) -> dict:
        """results.json (atomic), the end of tracking, the one-line summary."""
        self.session.finish(results)
        self.acc.end_training()
        if self.acc.is_main_process:
            print(summary_line(results, self.run_dir), flush=True)
        return results


@contextmanager
def open_run(cfg, run_dir: Path, *, resume: bool, overwrite: bool, kind: str, name: str,
             meta: dict | None = None) -> Iterator[Run]:
    """Accelerator + run directory for one run; a failure (or Ctrl-C) is recorded in meta.json
    and re-raised, and the directory's lock is released whatever happens."""
    run_dir = Path(run_dir)
    acc = make_accelerator(cfg.train, run_dir)
    session = RunSession(acc, run_dir, resume, overwrite)
    session.open(cfg, {"kind": kind, "run_name": name, **(meta or {})})
    try:
        yield Run(cfg, run_dir, name, kind, acc, session, rundir.MetricsLog(run_dir, enabled=acc.is_main_process))
    except BaseException as e:
        session.mark_failed(e)
        raise
    finally:
        session.close()

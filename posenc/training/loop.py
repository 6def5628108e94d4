"""The training loop both recipes run: steps, logging, evaluation, best model, checkpoints.

Kept separate from the recipes so ``pretrain.py`` / ``finetune.py`` read as setup → train →
cleanup, and the cadence (log every N, evaluate every N, checkpoint every N) is defined once.
"""

from __future__ import annotations

import time
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from accelerate import Accelerator

from .config import TrainSection
from .engine import (EpochSampler, NonFiniteLossError, micro_batches, optimizer_step, save_best,
                     save_checkpoint)
from .progress import progress_bar
from .rundir import MetricsLog, latest_checkpoint


@dataclass
class LoopState:
    """What a checkpoint must restore besides Accelerate's own state."""

    step: int = 0
    tokens: int = 0
    train_time_s: float = 0.0
    best: dict | None = None          # {"step", "metrics"}
    initial: dict | None = None       # metrics before the first step (pre-training)
    last_eval: dict | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LoopParts:
    acc: Accelerator
    model: object
    optimizer: object
    scheduler: object
    loader: object
    sampler: EpochSampler
    collator: object
    tokenizer: object
    evaluate: Callable[[], dict]       # → metrics dict of the main eval split
    main_metric: str
    greater_is_better: bool
    accum: int
    total_steps: int
    run_dir: Path
    desc: str
    loss_fn: Callable | None = None    # (outputs, batch) → loss; None: outputs.loss


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says where the run stopped and how to continue."""

    def __init__(self, step: int, checkpoint: Path | None):
        self.step, self.checkpoint = step, checkpoint
        if checkpoint is not None:
            msg = (f"interrupted at step {step}; continue with --resume (from its last checkpoint, "
                   f"{checkpoint.name})")
        else:
            msg = (f"interrupted at step {step}, before the first checkpoint; nothing to resume, "
                   "run the same command again to start over")
        super().__init__(msg)


def _nan_stop(e: NonFiniteLossError, run_dir: Path, state: LoopState) -> NonFiniteLossError:
    """The NaN error with advice that works: a resume replays the same steps, so start anew."""
    ckpt = latest_checkpoint(run_dir)
    best = run_dir / "best" if state.best else "none yet"
    return NonFiniteLossError(
        f"{e}; the run stopped before that update. Last good checkpoint: {ckpt or 'none yet'} (best model: "
        f"{best}). --resume would replay the same steps with the same config, so start a new run with a lower "
        "train.lr (and train.max_grad_norm on, mixed_precision no or bf16): add --overwrite to replace this "
        "one, or give another name=...")


def _better(new: float, old: float | None, greater: bool) -> bool:
    """A non-finite metric is never a best (a diverged model must not land in best/)."""
    if not math.isfinite(new):
        return False
    return old is None or (new > old if greater else new < old)


def run_loop(p: LoopParts, train: TrainSection, state: LoopState, log: MetricsLog) -> LoopState:
    acc = p.acc
    save_every = train.save_every or train.eval_every
    batches = micro_batches(acc, p.loader, p.sampler, p.collator, start=state.step * p.accum)
    bar = progress_bar(p.total_steps, state.step, acc.is_main_process, p.desc)
    p.model.train()
    window_loss, window_n, window_tokens, window_time = 0.0, 0, 0, 0.0

    def do_eval():
        metrics = p.evaluate()
        state.last_eval = {"step": state.step, "metrics": metrics}
        improved = _better(metrics[p.main_metric], (state.best or {}).get("metrics", {}).get(p.main_metric),
                           p.greater_is_better)
        if improved:
            state.best = {"step": state.step, "metrics": metrics}
            save_best(acc, p.model, p.tokenizer, p.run_dir)
        log.write({"step": state.step, "eval": metrics, "best": improved})
        acc.log({f"eval/{k}": v for k, v in metrics.items()}, step=state.step)
        bar.set_postfix({p.main_metric: f"{metrics[p.main_metric]:.4g}"}, refresh=False)
        return metrics

    try:
        while state.step < p.total_steps:
            t0 = time.perf_counter()
            try:
                loss, tokens = optimizer_step(acc, p.model, p.optimizer, p.scheduler, batches, p.accum,
                                              train.max_grad_norm, state.step, p.loss_fn)
            except NonFiniteLossError as e:
                bar.close()
                raise _nan_stop(e, p.run_dir, state) from None
            dt = time.perf_counter() - t0
            state.step += 1
            state.tokens += tokens
            state.train_time_s += dt
            window_loss, window_n = window_loss + loss, window_n + 1
            window_tokens, window_time = window_tokens + tokens, window_time + dt
            bar.update(1)
            if state.step % train.log_every == 0 or state.step == p.total_steps:
                row = {"step": state.step, "loss": window_loss / window_n, "lr": p.scheduler.get_last_lr()[0],
                       "tokens_per_s": window_tokens / max(window_time, 1e-9), "step_time_s": window_time / window_n,
                       "epoch": state.step * p.accum / len(p.loader)}
                log.write(row)
                acc.log({f"train/{k}": v for k, v in row.items() if k != "step"}, step=state.step)
                bar.set_postfix({"loss": f"{row['loss']:.4g}", "tok/s": f"{row['tokens_per_s']:,.0f}"}, refresh=False)
                window_loss, window_n, window_tokens, window_time = 0.0, 0, 0, 0.0
            if state.step % train.eval_every == 0 or state.step == p.total_steps:
                p.model.eval()
                do_eval()
                p.model.train()
            if state.step % save_every == 0 and state.step < p.total_steps:
                save_checkpoint(acc, p.run_dir, state.step, state.to_dict(), train.keep_checkpoints)
    except KeyboardInterrupt:  # anywhere in a step, an evaluation or a checkpoint write (atomic)
        bar.close()
        raise TrainingInterrupted(state.step, latest_checkpoint(p.run_dir)) from None
    bar.close()
    return state

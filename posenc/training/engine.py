"""The parts both recipes share: Accelerate setup with a world-size check, the micro-batch
stream (resumable), one optimizer step with accumulation + clipping + a NaN guard, and
checkpoints / best-model saving with atomic renames.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import ProjectConfiguration

from . import rundir
from .config import TrainSection
from .launch import check_launch


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN/inf; the run stopped and its last good checkpoint is kept."""


class WorldSizeError(RuntimeError):
    """The launcher started several processes but Accelerate sees fewer (a silent-DDP-failure guard)."""


# ---------------------------------------------------------------- accelerator
def make_accelerator(train: TrainSection, run_dir: Path) -> Accelerator:
    """An Accelerator for this machine: CPU mode when no GPU. Only ``Accelerator(cpu=True)`` makes
    torchrun-launched CPU processes one gloo group; with ``cpu=False`` and no GPU, Accelerate finds no
    backend and each process trains alone (docs/training.md, "Pitfalls of the stack")."""
    on_gpu = torch.cuda.is_available() and os.environ.get("ACCELERATE_USE_CPU", "").lower() not in ("1", "true")
    check_launch(cpu=not on_gpu)
    mp = train.mixed_precision
    if mp == "fp16" and not on_gpu:
        raise ValueError("train.mixed_precision: fp16 needs a CUDA GPU (CPU autocast has no fp16 loss scaling); "
                         "use bf16 or no on CPU")
    if mp == "bf16" and on_gpu and not torch.cuda.is_bf16_supported():
        raise ValueError("train.mixed_precision: bf16 is not supported by this GPU; use fp16 or no")
    acc = Accelerator(
        cpu=not on_gpu,
        mixed_precision=mp,
        # batch_size in the config is global: each loader batch is split across processes,
        # so 1 and N processes see the same examples per step.
        dataloader_config=DataLoaderConfiguration(split_batches=True, even_batches=True),
        log_with=None if train.log_with == "none" else train.log_with,
        project_config=ProjectConfiguration(project_dir=str(run_dir), logging_dir=str(run_dir / train.log_with)),
    )
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if acc.num_processes != launched:
        raise WorldSizeError(
            f"the launcher started {launched} processes but Accelerate sees {acc.num_processes} "
            f"({acc.distributed_type}); each process would train alone. On CPU launch with "
            "`torchrun --nproc_per_node N` or `accelerate launch --multi_gpu --num_processes N` "
            "(not `accelerate launch --cpu`), see docs/training.md")
    return acc


def micro_batch_plan(train: TrainSection, world_size: int) -> tuple[int, int]:
    """(examples per loader batch across all processes, gradient-accumulation steps)."""
    per_device = train.per_device_batch_size or max(1, train.batch_size // world_size)
    micro = per_device * world_size
    if train.batch_size % micro:
        raise ValueError(f"train.batch_size {train.batch_size} is not a multiple of per_device_batch_size "
                         f"{per_device} × {world_size} processes; adjust one of them")
    return micro, train.batch_size // micro


# ---------------------------------------------------------------- data order
class EpochSampler(torch.utils.data.Sampler):
    """A fresh permutation per epoch from ``(seed, epoch)`` alone, so a resumed run replays it."""

    def __init__(self, n: int, seed: int, shuffle: bool = True):
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, 0

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self):
        return self.n


def micro_batches(acc: Accelerator, loader, sampler: EpochSampler, collator, start: int) -> Iterator[dict]:
    """Endless stream of micro-batches, beginning after the first ``start`` (resume)."""
    per_epoch = len(loader)
    if per_epoch == 0:
        raise ValueError("the training set is smaller than one batch; lower train.batch_size or add data")
    epoch, skip = divmod(start, per_epoch)
    while True:
        sampler.epoch = epoch
        if collator is not None and hasattr(collator, "epoch"):
            collator.epoch = epoch
        it = acc.skip_first_batches(loader, skip) if skip else loader
        for batch in it:
            yield batch
        epoch, skip = epoch + 1, 0


# ---------------------------------------------------------------- one step
def optimizer_step(acc: Accelerator, model, optimizer, scheduler, batches: Iterator[dict], accum: int,
                   max_grad_norm: float | None, step: int, loss_fn=None) -> tuple[float, int]:
    """Forward/backward ``accum`` micro-batches, clip, step. Returns (mean loss across processes,
    tokens seen by all processes). Raises NonFiniteLossError *before* the optimizer step.
    ``loss_fn(outputs, batch)``: the training loss (default: the model's ``outputs.loss``)."""
    total, tokens = torch.zeros((), device=acc.device), 0
    for i in range(accum):
        batch = next(batches)
        # no gradient all-reduce until the last micro-batch of the step
        ctx = acc.no_sync(model) if i < accum - 1 else _null()
        with ctx:
            with acc.autocast():
                out = model(**batch)
            loss = out.loss if loss_fn is None else loss_fn(out, batch)
            acc.backward(loss / accum)
        total += loss.detach().float() / accum
        tokens += int(batch["attention_mask"].sum())
    mean = acc.reduce(total, reduction="mean")
    if not torch.isfinite(mean):
        raise NonFiniteLossError(f"loss became {mean.item()} at step {step + 1}")
    if max_grad_norm is not None:
        acc.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return mean.item(), tokens * acc.num_processes


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# ---------------------------------------------------------------- checkpoints
def save_checkpoint(acc: Accelerator, run_dir: Path, step: int, state: dict, keep: int) -> None:
    """Accelerate state (model, optimizer, scheduler, RNG) + our loop state, renamed into place
    only when complete, so a kill mid-save never leaves a half checkpoint that --resume picks."""
    final = run_dir / rundir.CHECKPOINTS / f"step_{step:07d}"
    tmp = final.with_name(f".{final.name}.tmp")
    if acc.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    acc.wait_for_everyone()
    acc.save_state(str(tmp))
    acc.wait_for_everyone()
    if acc.is_main_process:
        rundir.atomic_write_json(tmp / "loop_state.json", {**state, "step": step})
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in rundir.checkpoint_dirs(run_dir)[:-keep]:
            shutil.rmtree(old)
    acc.wait_for_everyone()


class CheckpointError(RuntimeError):
    """No checkpoint of the run can be loaded."""


def load_checkpoint(acc: Accelerator, ckpt: Path) -> dict:
    acc.load_state(str(ckpt))
    return json.loads((ckpt / "loop_state.json").read_text())


def checkpoint_damage(ckpt: Path) -> str | None:
    """Why ``ckpt`` cannot be resumed (the damaged file first), or None if its files read."""
    from .checks import damaged_files

    state = ckpt / "loop_state.json"
    try:
        json.loads(state.read_text())
    except (OSError, ValueError) as e:
        return f"{state}: {e}"
    bad = damaged_files(ckpt)
    return f"{bad[0][0]}: {bad[0][1]}" if bad else None


def newest_intact_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint ``--resume`` will start from (a damaged newer one is skipped)."""
    return next((c for c in reversed(rundir.checkpoint_dirs(run_dir)) if checkpoint_damage(c) is None), None)


def load_newest_intact_checkpoint(acc: Accelerator, run_dir: Path) -> tuple[Path, dict, list[tuple[Path, str]]]:
    """(checkpoint, its loop state, [(damaged newer checkpoint, why)]); raises CheckpointError when
    none loads."""
    damaged: list[tuple[Path, str]] = []
    for ckpt in reversed(rundir.checkpoint_dirs(run_dir)):
        why = checkpoint_damage(ckpt)
        if why is None:
            try:
                return ckpt, load_checkpoint(acc, ckpt), damaged
            except Exception as e:  # noqa: BLE001 - torch.load/pickle raise many types on a cut file
                why = f"{type(e).__name__}: {e}"
        damaged.append((ckpt, why))
    listed = "; ".join(f"{c.name}: {why}" for c, why in damaged)
    raise CheckpointError(f"--resume: no checkpoint of {run_dir} can be loaded ({listed}); start the run again "
                          "with --overwrite")


def save_best(acc: Accelerator, model, tokenizer, run_dir: Path) -> None:
    """``best/``: save_pretrained model + tokenizer, swapped in atomically."""
    acc.wait_for_everyone()
    if acc.is_main_process:
        tmp = run_dir / f".{rundir.BEST}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        acc.unwrap_model(model).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        rundir.replace_dir(tmp, run_dir / rundir.BEST)
    acc.wait_for_everyone()


# ---------------------------------------------------------------- run metadata
def git_revision() -> str | None:
    try:
        root = Path(__file__).resolve().parents[2]
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        if rev.returncode:
            return None
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def meta(acc: Accelerator, extra: dict) -> dict:
    import accelerate
    import datasets
    import tokenizers
    import transformers

    import posenc

    return {
        "versions": {"posenc": posenc.__version__, "python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "accelerate": accelerate.__version__,
                     "datasets": datasets.__version__, "tokenizers": tokenizers.__version__},
        "git_revision": git_revision(),
        "command": sys.argv,
        "world_size": acc.num_processes,
        "distributed_type": str(acc.distributed_type),
        "device": str(acc.device) + (f" ({torch.cuda.get_device_name()})" if acc.device.type == "cuda" else ""),
        "mixed_precision": acc.mixed_precision,
        "hostname": platform.node(),
        "start_time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    # ru_maxrss is KiB on Linux: the process's peak resident memory
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def total_steps_for(train: TrainSection, micro_per_epoch: int, accum: int) -> int:
    if train.max_steps is not None:
        return train.max_steps
    return max(1, math.ceil(train.num_epochs * micro_per_epoch / accum))


def flat_config(d: dict, prefix: str = "") -> dict:
    """Flat scalar dict (TensorBoard hparams accept only scalars)."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat_config(v, key + "."))
        elif isinstance(v, (int, float, str, bool)):
            out[key] = v
        else:
            out[key] = str(v)
    return out

"""Run directories that survive crashes and concurrent launches.

- every file is written atomically (temp file in the same dir + ``os.replace``);
- a run holding a finished ``results.json`` is never overwritten without ``overwrite=True``;
- an exclusive ``flock`` on ``RUN_DIR/.lock`` stops two launches writing the same run (the OS
  releases it when the process dies, so a SIGKILLed run leaves no stale lock behind).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

RESULTS = "results.json"
METRICS = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
BEST = "best"


_UMASK = os.umask(0)
os.umask(_UMASK)


class RunExistsError(FileExistsError):
    """The run directory already holds results (pass --overwrite) or checkpoints (pass --resume)."""


class RunLockedError(RuntimeError):
    """Another process holds the run directory's lock."""


class RunDirError(OSError):
    """The run directory cannot be created or written (read-only disk, permissions)."""


def is_unwritable(error: BaseException) -> bool:
    """A permission, read-only-disk or disk-full error (not our own RunExistsError & co)."""
    return isinstance(error, PermissionError) or (
        type(error) is OSError and error.errno in (errno.EROFS, errno.ENOSPC, errno.EDQUOT))


def unwritable(run_dir: Path, error: OSError) -> RunDirError:
    where = error.filename or run_dir
    return RunDirError(f"cannot write the run directory {run_dir} ({where}: {error.strerror or error}); "
                       "choose a writable output_dir=... or --run-dir")


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file normal permissions
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def atomic_write_yaml(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))


def replace_dir(tmp: Path, final: Path) -> None:
    """Swap a fully written directory ``tmp`` into ``final`` (old one removed afterwards)."""
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    if old.exists():
        shutil.rmtree(old)


class RunLock:
    """Exclusive, non-blocking lock on ``run_dir/.lock`` (use as a context manager)."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / ".lock"
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = Path(self.path).read_text().strip() or "another process"
            os.close(fd)
            raise RunLockedError(f"run directory {self.path.parent} is in use by {holder}; "
                                 "two runs cannot write the same directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


# everything a run writes into its directory (removed by --overwrite and by a clean restart)
RUN_FILES = (RESULTS, METRICS, "meta.json", "config.yaml", CHECKPOINTS, BEST, "tokenizer", "tensorboard",
             "translations", "averaged")


def _remove_run_files(run_dir: Path) -> list[str]:
    removed = []
    for name in RUN_FILES:
        p = run_dir / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
        else:
            continue
        removed.append(name)
    return removed


def prepare_run_dir(run_dir: str | Path, resume: bool, overwrite: bool) -> list[str]:
    """Check what is in ``run_dir`` against the flags and create it; call under the lock. Returns
    what was removed: everything for ``overwrite``, and the leftovers of a run that stopped before
    its first checkpoint (metrics, tokenizer, best/...), which a new start must not reuse."""
    run_dir = Path(run_dir)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite contradict each other; pick one")
    done = (run_dir / RESULTS).exists()
    ckpts = latest_checkpoint(run_dir) is not None
    if done and not overwrite:
        raise RunExistsError(f"{run_dir} already holds a finished run ({RESULTS}); pass --overwrite to replace it "
                             "or choose another run name (name=... / --run-dir)")
    if ckpts and not (resume or overwrite):
        raise RunExistsError(f"{run_dir} holds checkpoints of an unfinished run; pass --resume to continue it "
                             "or --overwrite to start again")
    if resume and not ckpts:
        raise FileNotFoundError(f"--resume: {run_dir} has no checkpoint to resume from (looked in "
                                f"{run_dir / CHECKPOINTS}); run the same command without --resume to start it")
    ours = (run_dir / "meta.json").exists() or (run_dir / "config.yaml").exists()  # never clear a foreign dir
    removed = _remove_run_files(run_dir) if overwrite or (ours and not resume) else []
    run_dir.mkdir(parents=True, exist_ok=True)
    return removed


def checkpoint_dirs(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first (``step_000040``; temp dirs start with a dot)."""
    d = Path(run_dir) / CHECKPOINTS
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_dir() and p.name.startswith("step_"))


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    c = checkpoint_dirs(run_dir)
    return c[-1] if c else None


def checkpoint_step(ckpt: Path) -> int:
    """The optimizer step a checkpoint directory (``step_0000040``) was saved at."""
    return int(ckpt.name.split("_", 1)[1])


class MetricsLog:
    """Append-only ``metrics.jsonl``; on resume, rows past the checkpoint's step are dropped so the
    file reads as if the run had never been interrupted."""

    def __init__(self, run_dir: str | Path, enabled: bool = True):
        self.path = Path(run_dir) / METRICS
        self.enabled = enabled

    def truncate_after(self, step: int) -> None:
        if not self.enabled or not self.path.exists():
            return
        keep = []
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by the kill
                continue
            if row.get("step", 0) <= step:
                keep.append(line)
        atomic_write_text(self.path, "".join(k + "\n" for k in keep))

    def write(self, row: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, default=float) + "\n")
            f.flush()

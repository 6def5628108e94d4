"""Opening and closing a run directory from every process of a (possibly distributed) run.

``open`` checks the config (everything a run reads must exist), locks the directory, refuses a
``--resume`` whose config changed the run (:mod:`posenc.training.resume`), clears the leftovers of
a run that stopped before its first checkpoint, and writes ``meta.json`` + ``config.yaml``.
``restore`` loads the newest checkpoint that is intact (a damaged one is named and set aside).
Only the main process touches the lock and the directory; its verdict (ok or the error text) is
broadcast so the other ranks fail with the same message instead of hanging in a barrier.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list

from . import rundir
from .config import check_experiment, config_to_dict
from .engine import load_newest_intact_checkpoint, meta, newest_intact_checkpoint
from .loop import LoopState
from .resume import ResumeConfigError, check_resume

# errors re-raised as themselves on every rank (others become RuntimeError with the same text)
_KNOWN = {cls.__name__: cls for cls in (rundir.RunExistsError, rundir.RunLockedError, rundir.RunDirError,
                                        FileNotFoundError, ResumeConfigError, ValueError)}


class RunSession:
    def __init__(self, acc: Accelerator, run_dir: Path, resume: bool, overwrite: bool):
        self.acc, self.run_dir, self.resume, self.overwrite = acc, Path(run_dir), resume, overwrite
        self.lock = rundir.RunLock(run_dir)
        self.resume_history: list[dict] = []  # allowed config changes at each resume (meta.json)

    def open(self, cfg, extra_meta: dict) -> None:
        check_experiment(cfg)  # every rank: the same files, the same verdict
        err = None
        if self.acc.is_main_process:
            try:
                self._open_main(cfg, extra_meta)
            except Exception as e:  # noqa: BLE001 - re-raised below on every rank
                if rundir.is_unwritable(e):
                    e = rundir.unwritable(self.run_dir, e)
                err = (type(e).__name__, str(e))
                self.lock.release()
        box = [err]
        if self.acc.num_processes > 1:
            broadcast_object_list(box)
        if box[0] is not None:
            kind, msg = box[0]
            raise _KNOWN.get(kind, RuntimeError)(msg)
        self.acc.wait_for_everyone()

    def _open_main(self, cfg, extra_meta: dict) -> None:
        if self.resume and not self.run_dir.is_dir():  # before the lock, which would create it
            raise FileNotFoundError(f"--resume: there is no run directory {self.run_dir}; check the name / "
                                    "--run-dir, or run without --resume to start it")
        self.lock.acquire()
        removed = rundir.prepare_run_dir(self.run_dir, self.resume, self.overwrite)
        if removed and not self.overwrite:
            print(f"{self.run_dir}: starting clean (removed {', '.join(removed)} of a run that stopped before "
                  "its first checkpoint)", flush=True)
        new_cfg = config_to_dict(cfg)
        info = meta(self.acc, extra_meta)
        meta_path, cfg_path = self.run_dir / "meta.json", self.run_dir / "config.yaml"
        if self.resume:
            old = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            info["first_start_time"] = old.get("first_start_time", old.get("start_time"))
            info["resumed"] = old.get("resumed", 0) + 1
            self.resume_history = old.get("resume_changes", [])
            if cfg_path.exists():
                ckpt = newest_intact_checkpoint(self.run_dir) or rundir.latest_checkpoint(self.run_dir)
                step = rundir.checkpoint_step(ckpt)
                defaults = config_to_dict(type(cfg)(kind=cfg.kind))
                changes = check_resume(yaml.safe_load(cfg_path.read_text()), new_cfg, step, self.run_dir, defaults)
                if changes:
                    self.resume_history.append({"time": info["start_time"], "from_step": step, "changes": {
                        k: {"run": a, "now": b} for k, (a, b) in changes.items()}})
            if self.resume_history:
                info["resume_changes"] = self.resume_history
        rundir.atomic_write_json(meta_path, info)
        rundir.atomic_write_yaml(cfg_path, new_cfg)

    def restore(self, log: rundir.MetricsLog, total_steps: int) -> LoopState:
        """A fresh LoopState, or on ``--resume`` the newest intact checkpoint's (metrics.jsonl is cut
        back to it). A damaged checkpoint is renamed ``.step_N.damaged`` and the one before it used."""
        if not self.resume:
            return LoopState()
        ckpt, saved, damaged = load_newest_intact_checkpoint(self.acc, self.run_dir)
        state = LoopState(**{k: saved[k] for k in LoopState().to_dict() if k in saved})
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            for bad, why in damaged:
                aside = bad.with_name(f".{bad.name}.damaged")
                if aside.exists():
                    shutil.rmtree(aside)
                os.replace(bad, aside)
                print(f"warning: checkpoint {bad} is damaged ({why}); moved aside, resuming from {ckpt.name}",
                      flush=True)
            log.truncate_after(state.step)
            print(f"resuming {self.run_dir} from {ckpt.name} (step {state.step}/{total_steps})", flush=True)
        self.acc.wait_for_everyone()
        return state

    def mark_failed(self, error: BaseException | str) -> None:
        """Record why the run stopped: ``status`` is ``interrupted`` for Ctrl-C, else ``failed``."""
        if self.acc.is_main_process:
            text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            interrupted = isinstance(error, KeyboardInterrupt) or text.startswith(("KeyboardInterrupt",
                                                                                  "TrainingInterrupted"))
            p = self.run_dir / "meta.json"
            try:
                info = json.loads(p.read_text()) if p.exists() else {}
                info.update(status="interrupted" if interrupted else "failed", error=text)
                rundir.atomic_write_json(p, info)
            except OSError:
                pass  # the directory itself is the problem; the error being raised says so

    def finish(self, results: dict) -> None:
        if self.acc.is_main_process:
            if self.resume_history:
                results["resume_changes"] = self.resume_history
            rundir.atomic_write_json(self.run_dir / rundir.RESULTS, results)
        self.acc.wait_for_everyone()

    def close(self) -> None:
        self.lock.release()

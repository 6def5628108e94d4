"""Opening and closing a run directory from every process of a (possibly distributed) run.

Only the main process touches the lock and the directory; its verdict (ok or the error text) is
broadcast so the other ranks fail with the same message instead of hanging in a barrier.
"""

from __future__ import annotations

import json
from pathlib import Path

from accelerate import Accelerator
from accelerate.utils import broadcast_object_list

from . import rundir
from .config import config_to_dict
from .engine import meta


class RunSession:
    def __init__(self, acc: Accelerator, run_dir: Path, resume: bool, overwrite: bool):
        self.acc, self.run_dir, self.resume, self.overwrite = acc, Path(run_dir), resume, overwrite
        self.lock = rundir.RunLock(run_dir)

    def open(self, cfg, extra_meta: dict) -> None:
        err = None
        if self.acc.is_main_process:
            try:
                self.lock.acquire()
                rundir.prepare_run_dir(self.run_dir, self.resume, self.overwrite)
            except Exception as e:  # noqa: BLE001 - re-raised below on every rank
                err = (type(e).__name__, str(e))
                self.lock.release()
        box = [err]
        if self.acc.num_processes > 1:
            broadcast_object_list(box)
        if box[0] is not None:
            kind, msg = box[0]
            exc = {"RunExistsError": rundir.RunExistsError, "RunLockedError": rundir.RunLockedError,
                   "FileNotFoundError": FileNotFoundError}.get(kind, RuntimeError)
            raise exc(msg)
        if self.acc.is_main_process:
            previous = self.run_dir / "meta.json"
            info = meta(self.acc, extra_meta)
            if self.resume and previous.exists():
                old = json.loads(previous.read_text())
                info["first_start_time"] = old.get("first_start_time", old.get("start_time"))
                info["resumed"] = old.get("resumed", 0) + 1
            rundir.atomic_write_json(previous, info)
            rundir.atomic_write_yaml(self.run_dir / "config.yaml", config_to_dict(cfg))
        self.acc.wait_for_everyone()

    def mark_failed(self, message: str) -> None:
        if self.acc.is_main_process:
            p = self.run_dir / "meta.json"
            info = json.loads(p.read_text()) if p.exists() else {}
            info.update(status="failed", error=message)
            rundir.atomic_write_json(p, info)

    def finish(self, results: dict) -> None:
        if self.acc.is_main_process:
            rundir.atomic_write_json(self.run_dir / rundir.RESULTS, results)
        self.acc.wait_for_everyone()

    def close(self) -> None:
        self.lock.release()

"""The launch environment, checked before a process group forms (a wrong one hangs silently).

- ``WORLD_SIZE=N`` without any rank variable: no launcher started the other processes; refused at
  once with the commands that do start them.
- ``WORLD_SIZE``/``RANK`` set by hand (no torchrun agent) on CPU: the rendezvous waits at most
  ``POSENC_RENDEZVOUS_TIMEOUT`` seconds (default 120) for every process, then says how to launch.
  (torchrun and ``accelerate launch --multi_gpu`` start every worker after their own rendezvous.)
- ``accelerate launch --cpu --num_processes N``: Accelerate's simple launcher starts *one*
  process; this is warned about, since the user asked for N.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

TIMEOUT_ENV = "POSENC_RENDEZVOUS_TIMEOUT"
RANK_VARS = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")  # as Accelerate reads them


def how_to_launch(n: int | str = "N") -> str:
    return (f"start the processes with `torchrun --nproc_per_node {n} -m posenc ...` or "
            f"`accelerate launch --multi_gpu --num_processes {n} -m posenc ...` (on CPU too; see docs/training.md)")


class LaunchError(RuntimeError):
    """The environment promises processes that were never started (or never arrive)."""


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def check_launch(cpu: bool) -> None:
    """Fail fast (or warn) on a launch that would hang or silently run one process; on CPU, form
    the process group here with a bounded rendezvous when no torchrun agent did."""
    env = os.environ
    world = int(env.get("WORLD_SIZE") or 1)
    if world > 1:
        if not any(v in env for v in RANK_VARS):
            raise LaunchError(f"WORLD_SIZE={world} is set but no RANK: no launcher started the other "
                              f"{world - 1} process(es), so the run would wait for them forever. To run on "
                              f"{world} processes, {how_to_launch(world)}; for one process, unset WORLD_SIZE")
        if cpu and "RANK" in env and not env.get("TORCHELASTIC_RUN_ID") and env.get("MASTER_ADDR"):
            _bounded_rendezvous(world, int(env["RANK"]), env["MASTER_ADDR"], int(env.get("MASTER_PORT") or 29500))
    elif _truthy(env.get("ACCELERATE_USE_CPU")) and env.get("MASTER_ADDR") and not any(v in env for v in RANK_VARS):
        print("warning: this is one process. `accelerate launch --cpu --num_processes N` starts a single "
              f"process on CPU (Accelerate's simple launcher); to train on N CPU processes, {how_to_launch()}",
              file=sys.stderr, flush=True)


def _bounded_rendezvous(world: int, rank: int, addr: str, port: int) -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        return
    seconds = float(os.environ.get(TIMEOUT_ENV) or 120)
    if rank == 0:
        print(f"waiting up to {seconds:g} s for {world} processes at {addr}:{port} ({TIMEOUT_ENV} to change)",
              file=sys.stderr, flush=True)
    try:
        store = dist.TCPStore(addr, port, world, rank == 0, timedelta(seconds=seconds), wait_for_workers=True,
                              multi_tenant=True)
    except RuntimeError as e:  # DistStoreError / DistNetworkError on timeout or a refused connection
        raise LaunchError(f"rank {rank}: not all {world} processes of WORLD_SIZE={world} reached {addr}:{port} "
                          f"within {seconds:g} s ({type(e).__name__}). Set WORLD_SIZE/RANK only for processes "
                          f"that are really started: {how_to_launch(world)}") from None
    store.set_timeout(timedelta(minutes=30))  # collectives keep torch's default timeout
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world)

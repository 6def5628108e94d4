"""What one measurement is: a training step or an inference pass, its time and its peak memory.

- **Training step**: forward + loss (mean square of the last hidden state, in float32; a masked-LM
  model's own loss when the inputs carry labels) + backward + ``AdamW.step()`` +
  ``zero_grad(set_to_none=True)``; the model is in train mode (dropout on).
- **Inference**: forward only, eval mode, under ``torch.no_grad()``.
- **Time**: ``torch.utils.benchmark.Timer`` (which synchronises CUDA) runs the callable once per
  round; the rounds of all models are interleaved by the caller and merged into a
  ``Measurement`` whose median and IQR are reported. The clock is wall time (``wall``, default)
  or the process's CPU time (``cpu``: the sum over its threads; with one thread it ignores the
  time other processes hold the cores, the better measure on a shared machine).
- **Peak memory** (one extra call, outside the timed rounds): the most bytes the caching allocator
  held for tensors during the call, above what was live when it started. On CUDA this is
  ``torch.cuda.max_memory_allocated()`` minus ``memory_allocated()`` before the call; on CPU it is
  the running sum of the allocation/free events ``torch.profiler`` records
  (``profile_memory=True``). Both count tensors (activations, gradients, optimizer state created
  in the call, workspace), not the Python heap or the process RSS.
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable

import torch
from torch.utils import benchmark


def autocast_context(device: torch.device, dtype: torch.dtype):
    """Mixed precision for bf16/fp16 runs (weights stay float32, as in mixed-precision training)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def train_step_fn(model, inputs: dict, optimizer, dtype: torch.dtype) -> Callable[[], None]:
    """A closure running one optimizer step of ``model`` on ``inputs``."""
    device = next(model.parameters()).device

    def step():
        with autocast_context(device, dtype):
            out = model(**inputs)
            loss = out.loss if getattr(out, "loss", None) is not None else out.last_hidden_state.float().pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def inference_fn(model, inputs: dict, dtype: torch.dtype) -> Callable[[], None]:
    """A closure running one forward pass without autograd."""
    device = next(model.parameters()).device

    def infer():
        with torch.no_grad(), autocast_context(device, dtype):
            model(**inputs)

    return infer


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed_once(fn: Callable[[], None], label: str, sub_label: str, clock: str = "wall") -> benchmark.Measurement:
    """One timed call of ``fn`` as a ``Measurement`` (merge several with ``merge``), on ``clock``
    (``wall`` or ``cpu``, see the module docstring)."""
    timer = benchmark.Timer("fn()", globals={"fn": fn}, label=label, sub_label=sub_label,
                            num_threads=torch.get_num_threads(), timer=CLOCKS[clock])
    return timer.timeit(1)


def merge(measurements: list[benchmark.Measurement]) -> benchmark.Measurement:
    """All rounds of one (model, mode, shape) as a single Measurement (median, IQR over rounds)."""
    (merged,) = benchmark.Measurement.merge(measurements)
    return merged


def peak_memory_bytes(fn: Callable[[], None], device: torch.device) -> int | None:
    """Peak tensor bytes allocated during one call of ``fn`` above the bytes live before it
    (None where the device offers no allocator statistics)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    if device.type != "cpu":
        return None
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = getattr(prof.profiler, "kineto_results", None)
    if events is None:
        return None
    allocs = sorted((e.start_ns(), e.nbytes()) for e in events.events()
                    if e.name() == "[memory]" and str(e.device_type()).endswith("CPU"))
    live = peak = 0
    for _, nbytes in allocs:
        live += nbytes
        peak = max(peak, live)
    return peak


def is_out_of_memory(err: BaseException) -> bool:
    """True for CUDA OOM and for the CPU allocator failing to get memory."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)

"""Run a benchmark: every model × batch size × length × mode, timed in interleaved rounds.

For each (batch, length) the models are warmed up, then timed round-robin — round r times
model 1, model 2, … once each — so that drifting machine load hits every model alike; the
median over rounds is reported. A model whose call takes longer than ``max_seconds`` or runs out
of memory is skipped at the longer lengths. With ``interleave=False`` the models are built and
measured one at a time (for shapes whose models do not all fit in memory together).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .cases import DEFAULT_ENCODINGS, DEFAULT_PEERS, BenchCase, parse_case
from .profile import op_table
from .shapes import BenchShape
from .timing import inference_fn, is_out_of_memory, merge, peak_memory_bytes, timed_once, train_step_fn

logger = logging.getLogger(__name__)

COLUMNS = ["shape", "device", "dtype", "mode", "head", "model", "impl", "counterpart", "kernel", "compiled", "batch",
           "length", "median_ms", "iqr_ms", "rounds", "tokens_per_s", "peak_mem_mb", "status", "notes"]
DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}


@dataclass
class BenchConfig:
    """Everything one ``posenc bench`` run varies (see ``posenc bench --help``)."""

    shape: BenchShape
    models: list[str] = field(default_factory=lambda: list(DEFAULT_ENCODINGS) + [f"hf:{p}" for p in DEFAULT_PEERS])
    segment: Any = "input"
    device: str = "auto"
    dtype: str = "float32"
    modes: tuple[str, ...] = ("train", "infer")
    rounds: int = 5
    warmup: int = 2
    memory: bool = True
    compile: bool = False
    compile_backend: str = "inductor"
    attn_implementation: str = "sdpa"
    max_seconds: float | None = 60.0
    interleave: bool = True
    clock: str = "wall"
    head: str = "encoder"  # "mlm": time PosencForMaskedLM with 15% masked labels (the pre-training step)
    mlm_logits: tuple[str, ...] = ("masked",)  # with head "mlm": "masked" and/or "all" (each a row)
    profile: bool = False  # one profiled call per measurement (row["profile"]; see posenc.bench.profile)
    max_position_embeddings: int | None = None
    seed: int = 0

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def check_clock(self) -> None:
        from .timing import CLOCKS

        if self.clock not in CLOCKS:
            raise ValueError(f"unknown clock {self.clock!r}; use one of {', '.join(CLOCKS)}")
        if self.clock == "cpu" and self.resolved_device().type != "cpu":
            raise ValueError("--clock cpu measures host CPU time, not device time; use --clock wall on "
                             f"{self.resolved_device().type}")

    def torch_dtype(self) -> torch.dtype:
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; use one of {', '.join(DTYPES)}")
        return DTYPES[self.dtype]


@dataclass
class _Live:
    """A built model with its optimizer and (possibly compiled) callable module."""

    case: BenchCase
    model: torch.nn.Module
    runner: torch.nn.Module
    optimizer: torch.optim.Optimizer
    compiled: str = "no"
    stopped: str = ""  # why longer lengths are skipped


def _compile(live: _Live, cfg: BenchConfig, probe: Callable[[torch.nn.Module], None]) -> None:
    """torch.compile the model, full graph if it traces as one (recorded in ``compiled``)."""
    torch._dynamo.config.recompile_limit = max(64, getattr(torch._dynamo.config, "recompile_limit", 8))
    try:
        runner = torch.compile(live.model, fullgraph=True, backend=cfg.compile_backend)
        probe(runner)
        live.runner, live.compiled = runner, "fullgraph"
    except Exception as err:  # a graph break: compile with breaks instead, and say why
        torch._dynamo.reset()
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        logger.info("%s does not compile as one graph: %s", live.case.label, reason)
        live.runner, live.compiled = torch.compile(live.model, backend=cfg.compile_backend), "graph-breaks"
        live.case.built["notes"] = (live.case.built.get("notes", "") + f" [graph break: {reason}]").strip()


MLM_PROBABILITY = 0.15  # BERT's share of predicted tokens (Devlin et al. 2019, §3.1)


def _inputs(case: BenchCase, batch: int, length: int, vocab: int, device, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (batch, length), generator=g)
    inputs = dict(input_ids=ids, attention_mask=torch.ones_like(ids))
    if case.built.get("token_types"):
        inputs["token_type_ids"] = torch.zeros_like(ids)
    if case.head == "mlm":
        chosen = torch.rand(batch, length, generator=g) < MLM_PROBABILITY
        inputs["labels"] = torch.where(chosen, ids, torch.full_like(ids, -100))
        inputs["return_logits"] = case.mlm_logits == "all"
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in inputs.items()}


def expand_heads(cases: list[BenchCase], cfg: BenchConfig) -> list[BenchCase]:
    """With ``head: mlm``, each posenc case once per ``mlm_logits`` choice (HF peers stay and are
    reported as errors: they are timed as base encoders only)."""
    if cfg.head == "encoder":
        return cases
    if cfg.head != "mlm":
        raise ValueError(f"unknown head {cfg.head!r}; use encoder or mlm")
    unknown = set(cfg.mlm_logits) - {"masked", "all"}
    if unknown:
        raise ValueError(f"mlm_logits must be masked and/or all, got {sorted(unknown)}")
    return [c.with_mlm_head(lg) if c.impl == "posenc" else dataclasses.replace(c, head="mlm") for c in cases
            for lg in (cfg.mlm_logits if c.impl == "posenc" else cfg.mlm_logits[:1])]


def _row(cfg, device, live: _Live | BenchCase, mode, batch, length, **values) -> dict:
    case = live.case if isinstance(live, _Live) else live
    built = case.built
    row = dict(shape=cfg.shape.name, device=device.type, dtype=cfg.dtype, mode=mode, head=case.head, model=case.label,
               impl=case.impl, counterpart=built.get("counterpart", ""), kernel=built.get("kernel", ""),
               compiled=live.compiled if isinstance(live, _Live) else "no", batch=batch, length=length,
               median_ms=None, iqr_ms=None, rounds=0, tokens_per_s=None, peak_mem_mb=None, status="ok",
               notes=built.get("notes", ""))
    row.update(values)
    return row


def _measure_group(lives: list[_Live], cfg: BenchConfig, device, dtype, log) -> list[dict]:
    rows = []
    shape = cfg.shape
    for batch in shape.batch_sizes:
        for length in shape.lengths:
            for mode in cfg.modes:
                active, fns = [], {}
                for live in lives:
                    if live.stopped:
                        rows.append(_row(cfg, device, live, mode, batch, length, status=f"skipped ({live.stopped})"))
                        continue
                    inputs = _inputs(live.case, batch, length, shape.vocab_size, device, cfg.seed)
                    try:
                        live.model.train(mode == "train")
                        make = (lambda m: train_step_fn(m, inputs, live.optimizer, dtype)) if mode == "train" else (
                            lambda m: inference_fn(m, inputs, dtype))
                        if cfg.compile and live.compiled == "no":
                            _compile(live, cfg, lambda m: make(m)())
                        fn = make(live.runner)
                        start = time.perf_counter()
                        for _ in range(cfg.warmup):
                            fn()
                        per_call = (time.perf_counter() - start) / max(cfg.warmup, 1)
                    except Exception as err:  # OOM, a length beyond a table, an encoding error: report, go on
                        status = "oom" if is_out_of_memory(err) else f"error: {str(err).splitlines()[0][:160]}"
                        if is_out_of_memory(err):
                            live.stopped = f"oom at length {length}"
                        rows.append(_row(cfg, device, live, mode, batch, length, status=status))
                        live.optimizer.zero_grad(set_to_none=True)
                        gc.collect()
                        continue
                    if cfg.max_seconds is not None and per_call > cfg.max_seconds:
                        live.stopped = f"{per_call:.0f} s per call at length {length} > max_seconds"
                    active.append(live)
                    fns[id(live)] = fn
                timings: dict[int, list] = {id(live): [] for live in active}
                for _ in range(cfg.rounds):
                    for live in active:
                        timings[id(live)].append(timed_once(fns[id(live)], live.case.label, f"{mode} b{batch} L{length}",
                                                           cfg.clock))
                for live in active:
                    m = merge(timings[id(live)])
                    mem = peak_memory_bytes(fns[id(live)], device) if cfg.memory else None
                    row = _row(cfg, device, live, mode, batch, length, median_ms=m.median * 1e3, iqr_ms=m.iqr * 1e3,
                               rounds=len(m.times), tokens_per_s=batch * length / m.median,
                               peak_mem_mb=None if mem is None else mem / 2**20)
                    if cfg.profile:
                        row["profile"] = op_table(fns[id(live)])
                    rows.append(row)
                    log(f"{mode:5s} b={batch} L={length:5d} {live.case.label:28s} {row['kernel']:5s} "
                        f"{row['median_ms']:9.1f} ms (IQR {row['iqr_ms']:.1f})"
                        + ("" if mem is None else f"  peak {row['peak_mem_mb']:.0f} MiB"))
    return rows


def load_average() -> str:
    """The host's 1/5/15-minute load averages and core count (how busy the machine was)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # not available on this platform
        return "load average unavailable"
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min) on {os.cpu_count()} cores"


def run_bench(cfg: BenchConfig, log: Callable[[str], None] = print) -> list[dict]:
    """Run the benchmark and return one dict per (model, batch, length, mode) with ``COLUMNS``."""
    device, dtype = cfg.resolved_device(), cfg.torch_dtype()
    cfg.check_clock()
    cases = expand_heads([parse_case(m) for m in cfg.models], cfg)
    max_len = cfg.max_position_embeddings or max(512, *cfg.shape.lengths)
    groups = [cases] if cfg.interleave else [[c] for c in cases]
    log(f"posenc bench: {cfg.shape.describe()}; device {device.type}, {cfg.dtype}, "
        f"{torch.get_num_threads()} threads, {cfg.clock} clock, {cfg.rounds} rounds after {cfg.warmup} warm-up calls; "
        f"{load_average()}")
    rows: list[dict] = []
    for group in groups:
        lives = []
        for case in group:
            torch.manual_seed(cfg.seed)
            try:
                built = case.build(cfg.shape, max_len, cfg.segment, cfg.attn_implementation)
            except Exception as err:  # e.g. an encoding that refuses Linformer: a row that says why
                for batch in cfg.shape.batch_sizes:
                    for length in cfg.shape.lengths:
                        for mode in cfg.modes:
                            rows.append(_row(cfg, device, case, mode, batch, length,
                                             status=f"error: {str(err).splitlines()[0][:160]}"))
                continue
            model = built["model"].to(device)
            lives.append(_Live(case, model, model, torch.optim.AdamW(model.parameters(), lr=1e-5)))
        rows.extend(_measure_group(lives, cfg, device, dtype, log))
        for live in lives:
            live.case.release()
        del lives
        gc.collect()
    return rows

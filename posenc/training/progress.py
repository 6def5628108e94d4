"""What users see: a tqdm bar (rate + ETA) on the main process, and a one-line summary."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(total: int, initial: int, enabled: bool, desc: str):
    """A step bar on the main process only; off on other ranks. When stderr is not a TTY
    (CI, log files) it still prints, just less often, so logs keep rate and ETA."""
    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc, unit="step",
                dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 10.0, file=sys.stderr)


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def summary_line(results: dict, run_dir) -> str:
    """``done: pretrain tiny-absolute | best loss 4.12 @ step 300 | 1m12s | 3,400 tok/s | runs/x``"""
    best = results.get("best") or {}
    metric = results.get("main_metric")
    value = (best.get("metrics") or {}).get(metric)
    best_txt = f"best {metric} {value:.4g} @ step {best.get('step')}" if value is not None else "no evaluation"
    return (f"done: {results.get('kind')} {results.get('run_name')} | {best_txt} | "
            f"{format_duration(results.get('train_time_s', 0.0))} | {results.get('tokens_per_s', 0.0):,.0f} tok/s | "
            f"world size {results.get('world_size')} | {run_dir}")

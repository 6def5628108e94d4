"""Sweeps: a grid of encodings × tasks × seeds × learning rates, run as one resumable plan.

    plan = expand(load_sweep("configs/quickstart.yaml"))   # stable run names, nothing run yet
    run_sweep(plan)                                         # skips finished runs, resumes killed ones
"""

from .config import EncodingEntry, SweepConfig, check_sweep_file, load_sweep
from .execute import run_sweep
from .plan import Plan, PlannedRun, expand

__all__ = ["SweepConfig", "EncodingEntry", "load_sweep", "check_sweep_file", "Plan", "PlannedRun", "expand", "run_sweep"]

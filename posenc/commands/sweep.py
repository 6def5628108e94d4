"""``posenc sweep FILE``: run a grid of encodings × tasks × seeds × learning rates, then report."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sweep", help="run a comparison grid (pre-train each encoding, fine-tune on each task, report)",
        description="Expand a sweep file (kind: sweep) into runs with stable names, run them in order "
                    "(pre-train once per encoding, then its fine-tunes), probe length generalisation, and "
                    "write the comparison report to OUTPUT_DIR/report. Re-running is safe: finished runs "
                    "are skipped and killed ones resume. Example: posenc sweep configs/quickstart.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="sweep YAML (kind: sweep), e.g. configs/quickstart.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="override sweep keys, e.g. seeds=[1,2,3] output_dir=runs/x")
    p.add_argument("--dry-run", action="store_true", help="print the plan (each run and its state) and exit")
    p.add_argument("--launcher", choices=["local", "accelerate", "slurm"], default=None,
                   help="override launcher.kind: local (this process), accelerate (accelerate launch per run), slurm (submitit)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="override launcher.jobs: N local runs at once, each in its own process with cores/N threads")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..training.yaml_errors import ConfigError
    from ..sweep import expand, load_sweep, run_sweep

    try:
        overrides = list(args.overrides) + ([f"launcher.jobs={args.jobs}"] if args.jobs is not None else [])
        plan = expand(load_sweep(args.file, overrides))
    except (ConfigError, FileNotFoundError) as e:
        print(f"posenc sweep: invalid sweep\n{e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(plan.describe())
        return 0
    return run_sweep(plan, args.launcher, tuple(overrides))

"""Arguments and error handling shared by the training commands (not a command itself)."""

from __future__ import annotations

import argparse
import sys


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="experiment YAML (see configs/)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="override config keys, e.g. train.lr=3e-4 model.position=t5 'corpus.files=[a.txt]'")
    p.add_argument("--run-dir", default=None, help="run directory (default: OUTPUT_DIR/NAME from the config)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue a killed run from its last checkpoint")
    g.add_argument("--overwrite", action="store_true", help="replace a run directory that holds results")


def keys_epilog(cls) -> str:
    from ..training.schema import describe

    rows = describe(cls)
    width = max(len(r[0]) for r in rows)
    lines = [f"  {k:<{width}}  {h} [{t}, default {d!r}]" if h else f"  {k:<{width}}  [{t}, default {d!r}]"
             for k, t, d, h in rows]
    return "config keys (YAML or KEY=VALUE):\n" + "\n".join(lines)


def run_experiment(args, kind: str) -> int:
    """Load (validating everything), check the kind, run. Known failures print one clear line and
    exit non-zero: 2 for a config that cannot run, 1 for a run that failed, 130 for Ctrl-C."""
    from ..training.config import ConfigError, load_config
    from ..training.engine import CheckpointError, NonFiniteLossError, WorldSizeError
    from ..training.launch import LaunchError
    from ..training.resume import ResumeConfigError
    from ..training.rundir import RunDirError, RunExistsError, RunLockedError

    try:
        cfg = load_config(args.config, args.overrides, inputs=True)
    except ConfigError as e:
        print(f"posenc {kind}: invalid config\n{e}", file=sys.stderr)
        return 2
    if cfg.kind != kind:
        print(f"posenc {kind}: {args.config} is a `kind: {cfg.kind}` config; run it with `posenc {cfg.kind}`",
              file=sys.stderr)
        return 2
    import posenc.training

    run = getattr(posenc.training, f"run_{kind}")
    try:
        run(cfg, run_dir=args.run_dir, resume=args.resume, overwrite=args.overwrite)
    except (ConfigError, ResumeConfigError) as e:
        print(f"posenc {kind}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        detail = str(e) or ("interrupted during set-up, before training started; run the same command again"
                            + (" (with --resume)" if args.resume else ""))
        print(f"\nposenc {kind}: {detail}", file=sys.stderr)
        return 130
    except (RunExistsError, RunLockedError, RunDirError, NonFiniteLossError, WorldSizeError, LaunchError,
            CheckpointError, FileNotFoundError, ValueError) as e:
        print(f"posenc {kind}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0

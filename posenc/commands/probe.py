"""``posenc probe RUN_DIR...``: MLM loss of pre-trained models at 1×, 2×, 4× their training length."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> argparse.ArgumentParser:
    from ..probe import DEFAULT_TEXT

    p = subparsers.add_parser(
        "probe", help="length generalisation: MLM loss beyond the pre-training length",
        description="Evaluate each pre-training run's best model on the same held-out masked tokens cut "
                    "into blocks of several lengths (multiples of its training length) and write "
                    "RUN_DIR/probe.json, which `posenc report` plots. Encodings with absolute tables are "
                    "reported as unsupported beyond their table, not crashed.")
    p.add_argument("run_dirs", nargs="+", help="pre-training run directories (holding best/ and config.yaml)")
    p.add_argument("--multiples", default="1,2,4", help="comma-separated multiples of the training length (default 1,2,4)")
    p.add_argument("--blocks", type=int, default=32, help="blocks of the longest length to evaluate (default 32)")
    p.add_argument("--text", default=DEFAULT_TEXT, help=f"held-out text file, plain or .gz (default {DEFAULT_TEXT})")
    p.add_argument("--seed", type=int, default=0, help="masking seed")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..probe import probe_run

    try:
        multiples = tuple(float(m) for m in args.multiples.split(","))
    except ValueError:
        print(f"posenc probe: --multiples must be numbers separated by commas, got {args.multiples!r}", file=sys.stderr)
        return 2
    status = 0
    for d in args.run_dirs:
        try:
            res = probe_run(d, multiples, args.blocks, args.text, args.seed)
        except (OSError, ValueError, KeyError) as e:
            print(f"posenc probe: {d}: {e}", file=sys.stderr)
            status = 1
            continue
        shown = ", ".join(f"{n}: {v:.3f}" for n, v in res["evaluated"].items())
        extra = f" ({res['reason']})" if res["reason"] else ""
        print(f"{d}: MLM loss by length {{{shown}}}{extra}")
    return status

"""The ``posenc`` command. Each subcommand lives in ``posenc/commands/<name>.py`` and exposes
``register(subparsers)``; this file only lists them, in the order ``posenc --help`` shows."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["list", "validate", "tokenizer", "pretrain", "finetune", "translate", "sweep", "report", "bench", "probe"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posenc", description="Compare position and segment encodings in Transformer encoders.",
        epilog="Run `posenc COMMAND --help` for each command's options.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"posenc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"posenc.commands.{name}").register(sub)
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse a command line; ``KEY=VALUE`` overrides may come anywhere, also after flags
    (``posenc pretrain c.yaml --resume train.lr=1e-3``), which plain argparse rejects."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    late = [a for a in extra if "=" in a and not a.startswith("-")]
    if late and hasattr(args, "overrides"):
        args.overrides = list(args.overrides) + late
        extra = [a for a in extra if a not in late]
    if extra:
        sub = parser._subparsers._group_actions[0].choices.get(getattr(args, "command", None), parser)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

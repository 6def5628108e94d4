"""The ``posenc`` command. Each subcommand lives in ``posenc/commands/<name>.py`` and exposes
``register(subparsers)``; this file only lists them, in the order ``posenc --help`` shows."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["list", "validate", "tokenizer", "pretrain", "finetune", "sweep", "report", "bench", "probe"]
# Announced but possibly not written yet; any other missing module is a real error.
PLANNED = {"sweep", "bench", "probe"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posenc", description="Compare position and segment encodings in Transformer encoders.",
        epilog="Run `posenc COMMAND --help` for each command's options.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"posenc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"posenc.commands.{name}")
        except ModuleNotFoundError as e:
            if name in PLANNED and e.name == f"posenc.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""``posenc validate [PATHS...]``: check every experiment config and task spec, report all errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "runs", "build", "dist"}


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "validate", help="check configs and task specs (all errors, with file:line), exit 1 if any",
        description="Load every YAML under PATHS (files or directories, recursively; default: ./configs and "
                    "./tasks) as what its `kind:` says (pretrain, finetune → experiment config; "
                    "classification, regression, ... → task spec), check names and options against posenc's "
                    "registries, print every problem as file:line: key: message, and exit 1 if there were any.")
    p.add_argument("paths", nargs="*", help="YAML files or directories (default: configs tasks)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems and the summary")
    p.set_defaults(func=run)
    return p


def find_yaml(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.suffix in (".yaml", ".yml") and f.is_file() and not any(
                        part in SKIP_DIRS or part.startswith(".") for part in rel[:-1]):
                    out.append(f)
        else:
            raise FileNotFoundError(f"{raw}: no such file or directory")
    return out


def check_file(path: Path) -> tuple[str, list[str]]:
    """(what the file is, problems as text)."""
    from ..training.config import KINDS, check_config
    from ..training.yaml_errors import load_yaml

    data, _, problems = load_yaml(path)
    if problems:
        return "yaml", [str(p) for p in problems]
    kind = data.get("kind")
    if kind in KINDS:
        return f"{kind} config", [str(p) for p in check_config(path)]
    if kind == "sweep":
        try:
            from ..sweep import check_sweep_file  # written with the sweep command
        except ImportError:
            return "sweep", [f"{path}:1: kind: sweep files cannot be checked yet (posenc.sweep is missing)"]
        return "sweep", [str(p) for p in check_sweep_file(path)]
    from posenc.tasks import TaskSpecError, load_task_spec

    if path.name.startswith("_"):
        # an include-only base (tasks/README.md): not a task by itself, checked through every spec
        # that includes it
        return "include-only base, checked with the specs that include it", []
    try:
        load_task_spec(path)
    except (TaskSpecError, ValueError, KeyError) as e:
        hint = "" if kind else " (no `kind:` key: expected pretrain, finetune, sweep or a task kind)"
        return "task spec", [f"{path}: {e}{hint}" if not str(e).startswith(str(path)) else f"{e}{hint}"]
    return "task spec", []


def run(args) -> int:
    paths = args.paths or [p for p in ("configs", "tasks") if Path(p).is_dir()]
    if not paths:
        print("posenc validate: no paths given and no ./configs or ./tasks here", file=sys.stderr)
        return 2
    try:
        files = find_yaml(paths)
    except FileNotFoundError as e:
        print(f"posenc validate: {e}", file=sys.stderr)
        return 2
    n_bad = n_problems = 0
    for f in files:
        what, problems = check_file(f)
        if problems:
            n_bad += 1
            n_problems += len(problems)
            for line in problems:
                print(line)
        elif not args.quiet:
            print(f"ok  {f}  ({what})")
    print(f"checked {len(files)} files: {len(files) - n_bad} ok, {n_problems} problems in {n_bad} files")
    return 1 if n_problems else 0

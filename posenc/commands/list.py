"""``posenc list [WHAT] [PATTERN]``: encodings, segment encodings, tasks and size presets."""

from __future__ import annotations

import argparse

WHAT = ["all", "encodings", "segments", "tasks", "presets"]


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "list", help="list position/segment encodings (with options), tasks and size presets",
        description="List what configs can name. Use the names in `model.position`, `model.segment` "
                    "(a name, or {name: ..., option: value}), `task` and `model.preset`. PATTERN is a "
                    "shell wildcard, e.g. `posenc list encodings 'diet*'`.")
    p.add_argument("what", nargs="?", default="all", choices=WHAT)
    p.add_argument("pattern", nargs="?", default="*")
    p.set_defaults(func=run)
    return p


def _first_line(obj) -> str:
    return ((obj.__doc__ or "").strip().splitlines() or [""])[0]


def _encodings(registry, pattern: str, title: str) -> list[str]:
    from ..options import describe_options

    lines = [f"{title}:"]
    for name in registry.list(pattern):
        cls = registry.get(name)
        lines.append(f"  {name:<14} {_first_line(cls)}")
        for opt, tp, default, help_ in describe_options(cls.Options):
            lines.append(f"      {opt} ({tp}, default {default!r}){': ' + help_ if help_ else ''}")
    return lines


def run(args) -> int:
    import posenc

    out: list[str] = []
    if args.what in ("all", "encodings"):
        out += _encodings(posenc.POSITION_ENCODINGS, args.pattern, "position encodings (model.position)")
    if args.what in ("all", "segments"):
        out += _encodings(posenc.SEGMENT_ENCODINGS, args.pattern, "segment encodings (model.segment)")
    if args.what in ("all", "tasks"):
        from posenc.tasks import get_task, list_tasks

        out.append("tasks (task:)")
        for name in list_tasks(args.pattern):
            spec = get_task(name)
            out.append(f"  {name:<14} {spec.kind:<15} {spec.description}")
    if args.what in ("all", "presets"):
        from ..modeling.configuration import SIZE_PRESETS

        out.append("size presets (model.preset)")
        for name in SIZE_PRESETS:
            if __import__("fnmatch").fnmatchcase(name, args.pattern):
                sizes = ", ".join(f"{k}={v}" for k, v in posenc.size_preset(name).items())
                out.append(f"  {name:<14} {sizes}")
    print("\n".join(out))
    return 0

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


# (header, capability key, how a value is shown) of the properties table
COLUMNS = [
    ("family", "family", str),
    ("bidir", "bidirectional", lambda v: "yes" if v else "no"),
    ("causal", "causal", lambda v: "yes" if v else "no"),
    ("params", "learnable", lambda v: "learned" if v else "fixed"),
    ("kernel", "fused_kernel", lambda v: "fused" if v else "eager"),
    ("extrapolation", "extrapolation", str),
    ("positions", "reads_positions", lambda v: "read" if v else "none"),
    ("i-j_only", "translation_invariant", lambda v: "yes" if v else "no"),
]
CAPABILITY_NOTE = (
    "  bidir/causal: usable in an encoder / a causal decoder (the other use is refused); params: learned or a\n"
    "  fixed formula; kernel: fused SDPA with its default options, or eager; extrapolation: any length, clipped\n"
    "  (offsets beyond a span reuse the edge value) or table (positions beyond max_length are refused);\n"
    "  positions: whether it reads positions (randomized positions, `randomize: N`, apply where it does);\n"
    "  i-j_only: outputs depend on positions only through i - j.")


def properties_table(registry, pattern: str = "*") -> list[str]:
    """One row of declared capabilities (``cls.capabilities()``) per registered encoding."""
    names = registry.list(pattern)
    rows = [["name", "paper name", *(c[0] for c in COLUMNS)]]
    for name in names:
        cls = registry.get(name)
        caps = cls.capabilities()
        rows.append([name, cls.display_name(), *(show(caps[key]) for _, key, show in COLUMNS)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def _encodings(registry, pattern: str, title: str) -> list[str]:
    from ..options import describe_options

    lines = [f"{title}:", *properties_table(registry, pattern), CAPABILITY_NOTE, "", "  options:"]
    for name in registry.list(pattern):
        cls = registry.get(name)
        lines.append(f"  {name:<14} {_first_line(cls)}")
        for opt, tp, default, help_ in describe_options(cls.Options):
            lines.append(f"      {opt} ({tp}, default {default!r}){': ' + help_ if help_ else ''}")
    return lines


def _randomize_help() -> list[str]:
    from ..encodings.randomized import RESERVED_KEY, RandomizedPositions
    from ..options import describe_options

    lines = [f"  {RESERVED_KEY}: (every encoding whose positions are 'read') randomized positions, Ruoss et al. 2023;"
             f" `{RESERVED_KEY}: 2048` or a mapping of:"]
    for opt, tp, default, help_ in describe_options(RandomizedPositions):
        lines.append(f"      {opt} ({tp}, default {default!r}): {help_}")
    return lines


def run(args) -> int:
    import posenc

    out: list[str] = []
    if args.what in ("all", "encodings"):
        out += _encodings(posenc.POSITION_ENCODINGS, args.pattern, "position encodings (model.position)")
        out += _randomize_help()
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

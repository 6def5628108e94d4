"""``posenc report RUN_DIRS... --out DIR``: compare encodings across finished runs.

Reads every results.json under RUN_DIRS (run directories or their parents), aggregates seeds
(median, mean ± std, best learning rate by a stated rule), tests each encoding against a baseline,
and writes Markdown, CSV, LaTeX and a self-contained HTML page with figures. The report opens with
a one-screen summary: what differs from the baseline beyond seed noise, where, at what cost.
With --bench, costs come from a `posenc bench` CSV (interleaved timings); otherwise the sweep's
own step times are shown labelled uncontrolled.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to an argparse ``subparsers`` object."""
    from ..report.formats import DEFAULT_FORMATS, EXPORTERS, ALIASES

    p = subparsers.add_parser(
        "report", help="compare encodings across run directories (tables, tests, figures)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIRS",
                   help="run directories, or folders searched recursively for results.json")
    p.add_argument("--out", required=True, type=Path, help="output directory (created if needed)")
    p.add_argument("--baseline", default=None,
                   help="encoding label to compare against (exact, or a unique prefix such as 'absolute'); "
                        "default: absolute+input if present, else the first encoding")
    p.add_argument("--formats", default=DEFAULT_FORMATS,
                   help=f"comma-separated: {', '.join(EXPORTERS.names())} (aliases: "
                        f"{', '.join(f'{k}={v}' for k, v in ALIASES.items())}); default {DEFAULT_FORMATS}")
    p.add_argument("--no-plots", action="store_true", help="skip figures (faster; HTML then has tables only)")
    p.add_argument("--bench", type=Path, default=None, metavar="CSV",
                   help="a `posenc bench` CSV: state step-time costs from its interleaved timings instead of the "
                        "sweep runs' own (uncontrolled) timings")
    p.add_argument("--bias-length", type=int, default=64,
                   help="sequence length for the learned position-bias figures (default 64)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Build and write the report; returns the process exit code (0 ok, 2 nothing to report)."""
    from ..registry import UnknownNameError
    from ..report import build_report, export, parse_formats

    try:
        formats = parse_formats(args.formats)
        rep = build_report(args.run_dirs, out_dir=args.out, baseline=args.baseline,
                           make_plots=not getattr(args, "no_plots", False),
                           bias_length=getattr(args, "bias_length", 64), bench=getattr(args, "bench", None))
    except (UnknownNameError, FileNotFoundError, ValueError) as e:
        print(f"posenc report: error: {e}", file=sys.stderr)
        return 2
    if rep.runs.empty and rep.incomplete.empty:
        print(f"posenc report: error: no results.json found under {', '.join(map(str, args.run_dirs))}",
              file=sys.stderr)
        return 2
    written = export(rep, args.out, formats)
    print(f"posenc report: {len(rep.runs)} complete run(s), {len(rep.incomplete)} incomplete; "
          f"baseline {rep.baseline or '(none)'}")
    for note in rep.notes:
        print(f"  note: {note}")
    for path in written:
        print(f"  wrote {path}")
    return 0

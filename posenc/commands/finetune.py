"""``posenc finetune CONFIG [KEY=VALUE...]``: fine-tune on a classification/regression task."""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    from ..training.config import FinetuneConfig
    from ._common import add_run_arguments, keys_epilog

    p = subparsers.add_parser(
        "finetune", help="fine-tune on a task (GLUE or your own task YAML), keeping the best checkpoint",
        description="Fine-tune sequence classification/regression on one task, from a pre-train run "
                    "(model.from=RUN_DIR; model.segment=diet switches the segment encoding) or from scratch. "
                    "Evaluates every train.eval_every steps and keeps the best checkpoint in RUN_DIR/best. "
                    "Example: posenc finetune configs/finetune/sst2.yaml model.from=runs/tiny-absolute seed=2",
        epilog=keys_epilog(FinetuneConfig), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p)
    p.add_argument("--skip-missing-languages", action="store_true",
                   help="multilingual tasks: record a language whose data is missing as missing in results.json "
                        "instead of stopping before training (= data.skip_missing_languages=true)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ._common import run_experiment

    if args.skip_missing_languages:
        args.overrides = [*args.overrides, "data.skip_missing_languages=true"]
    return run_experiment(args, "finetune")

"""``posenc pretrain CONFIG [KEY=VALUE...]``: masked-LM pre-training (no NSP) of one encoder."""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    from ..training.config import PretrainConfig
    from ._common import add_run_arguments, keys_epilog

    p = subparsers.add_parser(
        "pretrain", help="masked-LM pre-training (15%% 80/10/10, packed full sentences, no NSP)",
        description="Pre-train one encoder with masked LM on local text files or a hub dataset. The run "
                    "lives in OUTPUT_DIR/NAME: config.yaml, meta.json, metrics.jsonl, results.json, best/ "
                    "(model + tokenizer), checkpoints/. Same command on 1 CPU, 1 GPU or many: "
                    "`accelerate launch [--multi_gpu --num_processes N] -m posenc pretrain ...` or "
                    "`torchrun --nproc_per_node N -m posenc pretrain ...`. Example: "
                    "posenc pretrain configs/pretrain/tiny.yaml model.position=t5 name=tiny-t5",
        epilog=keys_epilog(PretrainConfig), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ._common import run_experiment

    return run_experiment(args, "pretrain")

"""``posenc translate CONFIG [KEY=VALUE...]``: train an encoder-decoder on a translation task, score it with sacreBLEU."""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    from ..training.translate_config import TranslateConfig
    from ._common import add_run_arguments, keys_epilog

    p = subparsers.add_parser(
        "translate", help="train a Transformer encoder-decoder from scratch on a translation task (BLEU, chrF)",
        description="Train an encoder-decoder (model.position in encoder and decoder self-attention) on a "
                    "translation task (Multi30k, WMT14/16/18 from the hub, or your parallel files) with the "
                    "Transformer recipe: label smoothing, Adam β2 0.98 with inverse-sqrt warm-up, token batches. "
                    "Keeps the checkpoint with the best validation BLEU in RUN_DIR/best, then translates every eval "
                    "split with beam search and scores it with sacreBLEU (results.json holds the signatures). "
                    "Example: posenc translate configs/wmt/tiny.yaml model.position=diet_rel",
        epilog=keys_epilog(TranslateConfig), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ._common import run_experiment

    return run_experiment(args, "translate")

"""Tiny, fast experiment configs shared by the training tests (real bundled text, CPU)."""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY_PRETRAIN = REPO / "configs" / "pretrain" / "tiny.yaml"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
       "OMP_NUM_THREADS": "1"}

# hidden 64, 2 layers, vocab 2000, 64-token blocks of the inaugural addresses; no dropout so that
# 1-process and 2-process runs can be compared number for number.
TINY = [
    "model.preset=tiny", "model.hidden_size=64", "model.num_attention_heads=4", "model.intermediate_size=128",
    "model.max_position_embeddings=64", "model.hidden_dropout_prob=0.0", "model.attention_probs_dropout_prob=0.0",
    "tokenizer.vocab_size=2000", "corpus.files=[posenc:corpus/inaugural.txt.gz]", "corpus.max_eval_blocks=64",
    "mlm.seq_len=64", "train.batch_size=16", "train.lr=2e-3", "train.warmup_ratio=0.1",
]


def tiny_pretrain_overrides(tmp: Path, steps: int, **extra) -> list[str]:
    out = TINY + [f"train.max_steps={steps}", f"output_dir={tmp}", f"corpus.cache_dir={tmp / 'hf_cache'}"]
    return out + [f"{k.replace('__', '.')}={v}" for k, v in extra.items()]


def results(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "results.json").read_text())


def metrics_rows(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def one_thread():
    """Generator for a pytest fixture: tiny models run fastest on one thread, and a shared CI box
    with 2 threads per process oversubscribes badly (10x slower steps were measured)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

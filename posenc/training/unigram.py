"""The unigram entropy of a pre-training corpus: the masked-LM loss of a model that ignores context.

A model that predicts every masked token from the corpus's token frequencies alone, p(t), has
expected cross-entropy H = −Σ_t p(t) log p(t) (nats/token) on tokens drawn from p. The masked
positions of BERT-style MLM are drawn uniformly from the non-special tokens, so their targets
follow p: an MLM loss at or above H means the model has not yet learned to use context. Reports
draw H as a reference line beside the MLM losses.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np


def unigram_entropy(blocks, exclude_ids: Iterable[int] = (), column: str = "input_ids",
                    batch_size: int = 4096) -> float:
    """Entropy (nats/token) of the token distribution of ``blocks``.

    ``blocks``: a ``datasets.Dataset`` with a ``column`` of token-id lists [n_blocks, seq_len]
    or a plain sequence of id lists; ``exclude_ids``: ids that are never MLM targets ([CLS], [SEP],
    padding: ``tokenizer.all_special_ids``). Counts are accumulated batch by batch."""
    counts = np.zeros(0, dtype=np.int64)
    if hasattr(blocks, "iter"):  # a datasets.Dataset: read it in batches
        batches = (b[column] for b in blocks.iter(batch_size=batch_size))
    else:
        batches = (blocks[i:i + batch_size] for i in range(0, len(blocks), batch_size))
    for batch in batches:
        ids = np.concatenate([np.asarray(r, dtype=np.int64) for r in batch]) if len(batch) else np.zeros(0, np.int64)
        c = np.bincount(ids)
        if len(c) > len(counts):
            counts = np.pad(counts, (0, len(c) - len(counts)))
        counts[:len(c)] += c
    excluded = [i for i in set(exclude_ids) if i is not None and 0 <= i < len(counts)]
    counts[excluded] = 0
    total = counts.sum()
    if total == 0:
        raise ValueError("no tokens to count: the blocks are empty or hold only excluded (special) tokens")
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())

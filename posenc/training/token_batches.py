"""Batches by token count (``train.max_tokens``), as translation recipes build them (fairseq's
``--max-tokens``; Vaswani et al. 2017, §5.1: "sentence pairs were batched together by
approximate sequence length").

The pairs are sorted by length once (ties broken by a permutation drawn from the seed) and cut
greedily into batches whose *padded* size, rows × longest side, stays within ``max_tokens``; so
a batch holds pairs of similar length and little padding. The batches are fixed; each epoch
visits them in a fresh order drawn from ``(seed, epoch)`` alone, so a resumed run replays the
same sequence (``epoch`` is set by :func:`posenc.training.engine.micro_batches`).
"""

from __future__ import annotations

import numpy as np
import torch


class TokenBatchSampler(torch.utils.data.Sampler):
    """Index batches of at most ``max_tokens`` padded tokens; ``lengths[i]`` = max(source, target)
    pieces of pair i. ``multiple_of``: rows per batch rounded down to a multiple (processes that
    split each batch); a pair longer than ``max_tokens`` alone is refused."""

    def __init__(self, lengths, max_tokens: int, seed: int, multiple_of: int = 1):
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(lengths) == 0:
            raise ValueError("no training pairs to batch")
        too_long = int(lengths.max())
        if too_long * multiple_of > max_tokens:
            raise ValueError(f"train.max_tokens {max_tokens} cannot hold {multiple_of} pair(s) of {too_long} tokens; "
                             f"raise max_tokens to ≥ {too_long * multiple_of} or lower the task's max_length")
        self.max_tokens, self.seed, self.epoch = max_tokens, seed, 0
        tie = np.random.default_rng(seed).permutation(len(lengths))
        order = np.lexsort((tie, lengths))  # by length, ties in a seeded random order
        self.batches: list[list[int]] = []
        start = 0
        while start < len(order):
            end, longest = start, 0
            while end < len(order):
                longest_new = max(longest, int(lengths[order[end]]))
                if longest_new * (end - start + 1) > max_tokens:
                    break
                longest, end = longest_new, end + 1
            rows = (end - start) // multiple_of * multiple_of
            self.batches.append(order[start:start + rows].tolist())
            start += rows
        self.padded_tokens = sum(len(b) * int(lengths[b].max()) for b in self.batches)
        self.real_tokens = int(lengths.sum())

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        for i in torch.randperm(len(self.batches), generator=g).tolist():
            yield self.batches[i]

    def __len__(self) -> int:
        return len(self.batches)

    def describe(self) -> str:
        sizes = [len(b) for b in self.batches]
        return (f"{len(self.batches)} batches of ≤ {self.max_tokens} tokens ({min(sizes)}–{max(sizes)} pairs; "
                f"{100 * (1 - self.real_tokens / max(self.padded_tokens, 1)):.0f}% padding)")

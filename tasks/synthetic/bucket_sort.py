"""Bucket sort (context-sensitive; Delétang et al. 2023, Ruoss et al. 2023): sort a string over
the alphabet 0..k−1 (k = ``alphabet``, 5 in the papers).  ``1 0 2 0 4 → 0 0 1 2 4``."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Generator, register_generator


@dataclass(frozen=True)
class BucketSortOptions:
    alphabet: int = field(default=5, metadata={"help": "number of distinct symbols 0..alphabet-1 (the papers: 5)"})

    def validate(self):
        if not 2 <= self.alphabet <= 10:
            raise ValueError(f"alphabet must be in 2..10 (single digits), got {self.alphabet}")


@register_generator
class BucketSort(Generator):
    name = "bucket_sort"
    description = "string over 0..k-1 → the same symbols sorted"
    level = "CS"
    Options = BucketSortOptions

    @property
    def outputs(self):
        return [str(i) for i in range(self.options.alphabet)]

    def output_length(self, length):
        return length

    def draw(self, rng, length):
        return [str(int(s)) for s in rng.integers(0, self.options.alphabet, size=length)]

    def answer(self, symbols):
        return sorted(symbols)

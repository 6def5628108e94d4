"""Passkey retrieval on real text (posenc's design, after the "passkey" probe of long-context
language models): a number hidden at a random depth of real prose must be read back at the end.

One example of length n: n consecutive words of bundled real text (a random start), with the
needle ``the pass key is d₁ d₂ … d_k . remember it .`` inserted at a uniformly random word depth
0..n, followed by the question ``what is the pass key ? the pass key is``; the k output positions
(appended empty ``[MASK]`` tokens) must give the k digits (classes 0–9). Digits are separate words,
so every tokenizer keeps each digit one token. Lengths count filler words (the needle and the
question add 18 + k words; sub-word tokenisation adds more tokens).

The default text is the held-out WikiText-2 slice bundled for the MLM probe (not part of the
pre-training corpus), so a model must retrieve, not remember. Chance is 10% per digit; a model that
ignores the needle stays there, and a model that finds it at the trained lengths but not beyond
shows where its positions stop working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .base import Generator, read_words, register_generator

NEEDLE = ["the", "pass", "key", "is"]
QUESTION = "what is the pass key ? the pass key is".split()


@dataclass(frozen=True)
class PasskeyOptions:
    digits: int = field(default=4, metadata={"help": "digits of the pass key (each one output position)"})
    text: str = field(default="posenc:probe/wikitext2_test_head.txt.gz", metadata={
        "help": "filler text file (posenc: = bundled; .gz read transparently)"})

    def validate(self):
        if not 1 <= self.digits <= 16:
            raise ValueError(f"digits must be in 1..16, got {self.digits}")


@register_generator
class Passkey(Generator):
    name = "passkey"
    description = "real text with 'the pass key is d d d d' at a random depth → the digits"
    level = "retrieval"
    min_length = 0
    Options = PasskeyOptions

    @property
    def outputs(self):
        return [str(i) for i in range(10)]

    def output_length(self, length):
        return self.options.digits

    @cached_property
    def words(self) -> list[str]:
        return read_words(self.options.text, "passkey")

    def texts(self):
        return [" ".join(self.words[:20000]), " ".join(QUESTION + self.outputs + ["remember", "it", "."])]

    def answer(self, symbols):
        at = next(i for i in range(len(symbols)) if symbols[i:i + 4] == NEEDLE)
        return symbols[at + 4:at + 4 + self.options.digits]

    def draw(self, rng, length):
        words = self.words
        if length >= len(words):
            raise ValueError(f"passkey: {length} filler words requested, the text {self.options.text} has {len(words)}")
        start = int(rng.integers(0, len(words) - length))
        filler = words[start:start + length]
        depth = int(rng.integers(0, length + 1))
        key = [str(int(d)) for d in rng.integers(0, 10, size=self.options.digits)]
        needle = [*NEEDLE, *key, ".", "remember", "it", "."]
        return filler[:depth] + needle + filler[depth:] + QUESTION

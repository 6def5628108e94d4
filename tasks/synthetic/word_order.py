"""Word order on real text (posenc's design): are these words in their original order, or shuffled?

One example of length n: n consecutive words of bundled real text from a random start; with
probability 1/2 the words are put in a random order (a permutation that changes the sequence and
does not occur anywhere in the text). The answer is ``yes`` when the input is a contiguous span of
the text, else ``no`` — the definition :meth:`WordOrder.answer` checks against the text.

Shuffled and original inputs hold the same bag of words, so an encoder with no position
information (NoPE, ``position: none``) is permutation-equivariant and gives the same output at the
appended answer position for both: it is at chance (50%) by construction, and any accuracy above
chance measures what the encoding tells the model about order. The default text is the held-out
WikiText-2 slice bundled for the MLM probe (not part of the pre-training corpus), so a model must
judge order from what it knows about the language, not remember spans.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from .base import Generator, read_words, register_generator

ORIGINAL, SHUFFLED = "yes", "no"


@dataclass(frozen=True)
class WordOrderOptions:
    text: str = field(default="posenc:probe/wikitext2_test_head.txt.gz", metadata={
        "help": "source text file (posenc: = bundled; .gz read transparently)"})
    reorder: str = field(default="shuffle", metadata={
        "help": "how a 'no' example reorders its words: shuffle (a random permutation) or reverse"})

    def validate(self):
        if self.reorder not in ("shuffle", "reverse"):
            raise ValueError(f"reorder must be 'shuffle' or 'reverse', got {self.reorder!r}")


@register_generator
class WordOrder(Generator):
    name = "word_order"
    description = "n consecutive words of real text, as written or shuffled → yes (original order) / no"
    level = "order"
    min_length = 3
    Options = WordOrderOptions

    @property
    def outputs(self):
        return [SHUFFLED, ORIGINAL]

    @cached_property
    def words(self) -> list[str]:
        return read_words(self.options.text, "word_order")

    @cached_property
    def _starts(self) -> dict[tuple[str, ...], list[int]]:
        """Where each word pair (and the last word alone) starts in the text."""
        at, words = defaultdict(list), self.words
        for i in range(len(words)):
            at[tuple(words[i:i + 2])].append(i)
        for i, w in enumerate(words):
            at[(w,)].append(i)
        return at

    def texts(self):
        return [" ".join(self.words[:20000]), " ".join(self.outputs)]

    def answer(self, symbols):
        """``yes`` when ``symbols`` occur in this order, contiguously, somewhere in the text."""
        n, words = len(symbols), self.words
        found = n > 0 and any(words[i:i + n] == symbols for i in self._starts.get(tuple(symbols[:2]), ()))
        return [ORIGINAL if found else SHUFFLED]

    def draw(self, rng, length):
        words = self.words
        if length >= len(words):
            raise ValueError(f"word_order: {length} words requested, the text {self.options.text} has {len(words)}")
        while True:
            start = int(rng.integers(0, len(words) - length))
            span = words[start:start + length]
            if rng.random() < 0.5:
                return span
            if len(set(span)) == 1:
                continue  # no order to change; draw another span
            for _ in range(16):
                shuffled = span[::-1] if self.options.reorder == "reverse" else [span[i] for i in rng.permutation(length)]
                if shuffled != span and self.answer(shuffled) == [SHUFFLED]:
                    return shuffled

"""Even pairs (regular; Delétang et al. 2023, Ruoss et al. 2023): is the number of unequal
neighbours ("01" and "10" substrings) of a binary string odd?  ``0 0 1 1 1 0 → 0`` (one "01", one
"10"). The count is odd exactly when the first and last symbols differ."""

from __future__ import annotations

from .base import Generator, binary, register_generator


@register_generator
class EvenPairs(Generator):
    name = "even_pairs"
    description = "binary string → parity of the number of 01/10 pairs (0 even, 1 odd)"
    level = "R"

    @property
    def outputs(self):
        return ["0", "1"]

    def draw(self, rng, length):
        return binary(rng, length)

    def answer(self, symbols):
        return [str(sum(a != b for a, b in zip(symbols, symbols[1:])) % 2)]

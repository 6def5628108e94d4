"""Missing duplicate (context-sensitive; Delétang et al. 2023, Ruoss et al. 2023): a binary string
s written twice, ss, with one symbol replaced by the placeholder ``?``; output the missing symbol.
``0 1 1 0 0 ? 1 0 → 1``. An odd length ends with the empty symbol ``#`` (|s| = length // 2)."""

from __future__ import annotations

from .base import Generator, binary, register_generator


@register_generator
class MissingDuplicate(Generator):
    name = "missing_duplicate"
    description = "ss with one symbol hidden by ? (odd lengths end with #) → the hidden symbol"
    level = "CS"
    min_length = 2

    @property
    def outputs(self):
        return ["0", "1"]

    def texts(self):
        return ["0 1 ? #"]

    def draw(self, rng, length):
        half = binary(rng, length // 2)
        doubled = half + half
        doubled[int(rng.integers(0, len(doubled)))] = "?"
        return doubled + ["#"] * (length % 2)

    def answer(self, symbols):
        half = len(symbols) // 2
        hole = symbols.index("?")
        return [symbols[hole + half] if hole < half else symbols[hole - half]]

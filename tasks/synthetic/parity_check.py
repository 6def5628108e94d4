"""Parity check (regular; Delétang et al. 2023, Ruoss et al. 2023): is the number of 1s in a
binary string odd?  ``0 1 1 0 1 → 1``."""

from __future__ import annotations

from .base import Generator, binary, register_generator


@register_generator
class ParityCheck(Generator):
    name = "parity_check"
    description = "binary string → parity of its number of 1s (0 even, 1 odd)"
    level = "R"

    @property
    def outputs(self):
        return ["0", "1"]

    def draw(self, rng, length):
        return binary(rng, length)

    def answer(self, symbols):
        return [str(symbols.count("1") % 2)]

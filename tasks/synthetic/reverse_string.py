"""Reverse string (deterministic context-free; Delétang et al. 2023, Ruoss et al. 2023): output a
binary string backwards.  ``0 1 1 → 1 1 0``."""

from __future__ import annotations

from .base import Generator, binary, register_generator


@register_generator
class ReverseString(Generator):
    name = "reverse_string"
    description = "binary string → the same string reversed"
    level = "DCF"

    @property
    def outputs(self):
        return ["0", "1"]

    def output_length(self, length):
        return length

    def draw(self, rng, length):
        return binary(rng, length)

    def answer(self, symbols):
        return symbols[::-1]

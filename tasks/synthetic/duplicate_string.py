"""Duplicate string (context-sensitive; Delétang et al. 2023, Ruoss et al. 2023): output a binary
string twice.  ``0 1 1 → 0 1 1 0 1 1``."""

from __future__ import annotations

from .base import Generator, binary, register_generator


@register_generator
class DuplicateString(Generator):
    name = "duplicate_string"
    description = "binary string s → ss"
    level = "CS"

    @property
    def outputs(self):
        return ["0", "1"]

    def output_length(self, length):
        return 2 * length

    def draw(self, rng, length):
        return binary(rng, length)

    def answer(self, symbols):
        return symbols + symbols

"""Generators of the length-generalisation tasks: each makes one example of a given length.

A generator is one module in ``tasks/synthetic/`` holding a :class:`Generator` subclass registered
with :func:`register_generator`; a task file of kind ``length`` names it (``generator: even_pairs``)
and passes its options (``generator_options: {...}``, validated against the generator's
``Options``). Examples are lists of string symbols, so the same model input layout serves every
task: the input symbols, then one empty (``[MASK]``) position per output symbol, read by a
per-token classifier over :attr:`Generator.outputs` (Ruoss et al. 2023, §4: outputs are read from
appended empty positions, not generated autoregressively).

``draw(rng, length)`` must be a pure function of the numpy generator's state and the length, so
that a task's data are fixed by its seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gzip
from pathlib import Path

import numpy as np

from posenc.registry import Registry


@dataclass(frozen=True)
class NoOptions:
    """A generator that takes no options."""


class Generator:
    """One task's example maker; subclasses set the class attributes and :meth:`sample`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: the family in the Chomsky hierarchy Delétang et al. (2023) place the task in (R, DCF, CS)
    level: ClassVar[str] = ""
    #: shortest input length the task is defined for
    min_length: ClassVar[int] = 1
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any):
        self.options = options

    @property
    def outputs(self) -> list[str]:
        """The output symbols, in class-id order."""
        raise NotImplementedError

    def output_length(self, length: int) -> int:
        """Number of output symbols for an input of ``length`` (1 for classification tasks)."""
        return 1

    def draw(self, rng: np.random.Generator, length: int) -> list[str]:
        """A random input of ``length`` symbols."""
        raise NotImplementedError

    def answer(self, symbols: list[str]) -> list[str]:
        """The task's output for an input (the definition)."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, length: int) -> tuple[list[str], list[str]]:
        """(input symbols, output symbols) of one random example whose input has ``length`` symbols."""
        symbols = self.draw(rng, length)
        return symbols, self.answer(symbols)

    def texts(self) -> list[str]:
        """Text containing every symbol (for a tokenizer's vocabulary)."""
        return [" ".join(self.outputs)]


GENERATORS: Registry[type[Generator]] = Registry("length-task generator")


def register_generator(cls: type[Generator]) -> type[Generator]:
    GENERATORS.register(cls.name, cls)
    return cls


def binary(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` uniform binary symbols "0"/"1"."""
    return [str(int(b)) for b in rng.integers(0, 2, size=n)]


def read_words(text: str, who: str) -> list[str]:
    """The whitespace-separated words of a text file (``posenc:`` = bundled in posenc/resources;
    a ``.gz`` file is decompressed); ``who`` names the generator in the error for a missing file."""
    import posenc.resources

    path = Path(posenc.resources.__file__).parent / text[len("posenc:"):] if text.startswith("posenc:") else Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"{who}: text {text!r} not found ({path})")
    raw = path.read_bytes()
    return (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8").split()

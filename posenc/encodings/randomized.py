"""Randomized positional encodings (Ruoss et al., ACL 2023, §3): an option of every position
encoding that reads positions.

    position: {name: rotary, randomize: {max_position: 2048}}      # or the shorthand randomize: 2048

During training, the n tokens of each example get positions that are a sorted random subset of
[0, max_position) instead of 0..n−1 (a fresh draw per example and per step, from torch's global
generator, so runs are reproducible under the seed). The encoding then sees, already while
training on short inputs, the position values (and for relative encodings, the offsets i − j up
to max_position − 1) that longer test inputs produce. Every encoding applies it through its true
positions (``ctx.q_positions``/``ctx.k_positions``): input tables and sinusoids read the sampled
rows, rotations turn by the sampled angles, relative biases see the sampled i − j.

Evaluation (``eval``):

- ``sampled`` (default, the paper's rule; Ruoss et al.'s code draws at test time too): the same
  sampling, from a generator seeded with ``eval_seed`` at every forward, so evaluation is
  deterministic and independent of the training RNG. Consecutive tokens are then about
  max_position/n apart, as in training; 0..n−1 would be a spacing the model never saw.
- ``arange``: positions 0..n−1, exactly the plain model's computation.

With explicit ``position_ids`` (left padding), a row's positions are the sampled subset read at
those ranks, so padding still does not move the real tokens. Table-bounded encodings (absolute,
diet_abs, tupe) need max_position rows; the model refuses a smaller table when it is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from ..options import OptionError, build_options

RESERVED_KEY = "randomize"


@dataclass(frozen=True)
class RandomizedPositions:
    max_position: int = field(default=2048, metadata={"help": "positions are drawn from [0, max_position) (the paper: 2048)"})
    eval: Literal["sampled", "arange"] = field(default="sampled", metadata={
        "help": "evaluation positions: sampled (the paper's rule, seeded) or 0..n-1"})
    eval_seed: int = field(default=0, metadata={"help": "seed of the evaluation draw (eval: sampled)"})

    def validate(self):
        if self.max_position < 2:
            raise ValueError(f"max_position must be >= 2, got {self.max_position}")

    def label(self) -> str:
        """Short form for encoding labels: ``2048``, ``2048:arange``."""
        return str(self.max_position) + ("" if self.eval == "sampled" else f":{self.eval}") + (
            f":seed{self.eval_seed}" if self.eval_seed else "")


def parse_randomize(kind: str, cls, value: Any) -> RandomizedPositions | None:
    """Validate the ``randomize`` value of a ``kind`` encoding spec (an int, a mapping or null)."""
    if value is None or value is False:
        return None
    where = f"{kind} encoding {cls.name!r}: option {RESERVED_KEY!r}"
    if kind != "position":
        raise OptionError(f"{where}: randomized positions are an option of position encodings, not {kind} encodings")
    if not cls.reads_positions:
        raise OptionError(f"{where}: {cls.name!r} reads no positions, so randomizing them changes nothing; "
                          "remove the option or pick an encoding that reads positions")
    if isinstance(value, RandomizedPositions):
        return value
    if isinstance(value, bool) or isinstance(value, int):
        value = {"max_position": value}
    if not isinstance(value, dict):
        raise OptionError(f"{where}: expected an integer (max_position) or a mapping "
                          f"{{max_position: 2048, eval: sampled}}, got {value!r}")
    return build_options(RandomizedPositions, value, where)


def as_dict(randomized: RandomizedPositions | None) -> dict:
    """The entry a normalised spec carries (empty when positions are not randomized)."""
    return {} if randomized is None else {RESERVED_KEY: dataclasses.asdict(randomized)}


def sample_positions(batch: int, count: int, max_position: int, device, generator: torch.Generator | None = None):
    """[batch, count] long: per row, a sorted subset of [0, max_position) of ``count`` distinct values."""
    if count > max_position:
        raise ValueError(f"cannot give {count} tokens distinct randomized positions from [0, {max_position}); "
                         f"raise randomize.max_position to at least {count} (or shorten the input)")
    scores = torch.rand(batch, max_position, device=device, generator=generator)
    return scores.topk(count, dim=-1).indices.sort(dim=-1).values


class PositionSampler:
    """Replaces a batch's positions by randomized ones (see the module docstring)."""

    def __init__(self, options: RandomizedPositions, encoding):
        limit = encoding.max_length
        if limit is not None and options.max_position > limit:
            raise OptionError(
                f"position encoding {encoding.name!r}: randomized positions are drawn from [0, {options.max_position}) "
                f"but its table has {limit} rows; build the model with max_position_embeddings >= "
                f"{options.max_position} (or the encoding's max_length option), or lower randomize.max_position "
                f"to <= {limit}")
        self.options = options

    def __call__(self, batch: int, seq_len: int, position_ids: torch.Tensor | None, device, training: bool):
        """The positions the encodings see: [b, L] sampled, or ``position_ids`` unchanged (eval: arange)."""
        o = self.options
        if not training and o.eval == "arange":
            return position_ids
        generator = None
        if not training:
            generator = torch.Generator(device=device).manual_seed(o.eval_seed)
        count = seq_len if position_ids is None else int(position_ids.max()) + 1
        sampled = sample_positions(batch, count, o.max_position, device, generator)
        if position_ids is None:
            return sampled
        return sampled.gather(1, position_ids.expand(batch, -1).long())


__all__ = ["RESERVED_KEY", "RandomizedPositions", "PositionSampler", "parse_randomize", "sample_positions", "as_dict"]

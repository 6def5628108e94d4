"""Model shapes the benchmark runs at: the paper's BERT_SMALL and BERT_BASE, plus a tiny one.

Chen et al. (2021, §3.3, Table 1) time BERT_BASE (d=768, L=12, h=12) and BERT_SMALL (d=512, L=4,
h=8); batch size and sequence length are not stated, so each preset names its own defaults
(overridable on the command line). The vocabulary is BERT's 30522 WordPiece ids, so the embedding gradient and the
optimizer step weigh what they weigh in real pre-training.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..modeling.configuration import size_preset
from ..registry import did_you_mean


@dataclass(frozen=True)
class BenchShape:
    """Width, depth, heads, FFN and vocabulary of every model in one benchmark, plus default grid."""

    name: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int = 30522
    batch_sizes: tuple[int, ...] = (8,)
    lengths: tuple[int, ...] = (128, 512)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def sizes(self) -> dict[str, int]:
        """The size fields shared by posenc's config and BERT's."""
        return dict(hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
                    num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
                    vocab_size=self.vocab_size)

    def describe(self) -> str:
        return (f"{self.name}: d={self.hidden_size}, L={self.num_hidden_layers}, h={self.num_attention_heads}, "
                f"d_ff={self.intermediate_size}, vocab={self.vocab_size}")


SHAPES: dict[str, BenchShape] = {
    # a seconds-long smoke test (used by the tests)
    "tiny": BenchShape("tiny", **size_preset("tiny"), vocab_size=1000, batch_sizes=(4,), lengths=(32, 64)),
    # the paper's BERT_SMALL timing shape
    "small": BenchShape("small", **size_preset("small"), batch_sizes=(8,), lengths=(128, 512)),
    # BERT_BASE
    "base": BenchShape("base", **size_preset("base"), batch_sizes=(8,), lengths=(128, 512)),
}


def get_shape(name: str, **overrides) -> BenchShape:
    """A preset by name (``tiny``, ``small`` = BERT_SMALL, ``base`` = BERT_BASE), fields overridden
    where the value is not None."""
    if name not in SHAPES:
        raise ValueError(f"unknown bench shape {name!r}.{did_you_mean(name, list(SHAPES))} Known: {', '.join(SHAPES)}")
    changes = {k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items() if v is not None}
    return dataclasses.replace(SHAPES[name], **changes)

"""Masked-LM batches: BERT's 15% / 80-10-10 masking from ``DataCollatorForLanguageModeling``,
seeded per example.

The mask of block ``idx`` in epoch ``e`` depends only on ``(seed, e, idx)``, not on which process
or micro-batch the block lands in. That is what makes a run resumed mid-way, or split over 2
processes, see exactly the masks of an uninterrupted single-process run (dynamic masking is
kept: every epoch draws new masks).
"""

from __future__ import annotations

import torch
from transformers import DataCollatorForLanguageModeling


def example_seed(seed: int, epoch: int, idx: int) -> int:
    # large odd multipliers keep (seed, epoch, idx) triples from colliding in practice
    return (seed * 1_000_003 + epoch * 7_919_993 + idx * 2_654_435_761) % (2**63 - 1)


class SeededMLMCollator:
    """Stacks packed blocks (all ``seq_len`` long) and masks each with its own generator.

    ``epoch`` is set by the training loop before each pass; evaluation uses a fixed epoch so
    its masks never change.
    """

    def __init__(self, tokenizer, seed: int, probability: float = 0.15, mask_replace_prob: float = 0.8,
                 random_replace_prob: float = 0.1, epoch: int = 0):
        self.inner = DataCollatorForLanguageModeling(
            tokenizer, mlm=True, mlm_probability=probability, mask_replace_prob=mask_replace_prob,
            random_replace_prob=random_replace_prob,
        )
        self.tokenizer = tokenizer
        self.seed = seed
        self.epoch = epoch
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)))

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        ids = torch.tensor([e["input_ids"] for e in examples], dtype=torch.long)
        special = torch.isin(ids, self.special_ids)
        inputs, labels = [], []
        for row, (e, sp) in enumerate(zip(examples, special)):
            self.inner.generator = torch.Generator().manual_seed(example_seed(self.seed, self.epoch, e["idx"]))
            x, y = self.inner.torch_mask_tokens(ids[row:row + 1].clone(), special_tokens_mask=sp[None])
            inputs.append(x)
            labels.append(y)
        x = torch.cat(inputs)
        return {"input_ids": x, "attention_mask": torch.ones_like(x), "token_type_ids": torch.zeros_like(x),
                "labels": torch.cat(labels)}

"""Pre-training projects only the masked tokens onto the vocabulary (model and evaluator), with the
same loss and accuracy as projecting every token."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import posenc
import posenc.testing as pt


def _mlm(seed=0):
    torch.manual_seed(seed)
    return posenc.PosencForMaskedLM(posenc.PosencConfig(position="absolute", **pt.TINY)).eval()


def _batch(b=3, n=20, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 97, (b, n), generator=g)
    labels = torch.full_like(ids, -100)
    chosen = torch.rand(b, n, generator=g) < 0.15
    chosen[0, 3] = True
    labels[chosen] = ids[chosen]
    mask = torch.ones_like(ids)
    mask[2, 15:] = 0
    labels[2, 15:] = -100
    return ids, mask, labels


class _RowCounter:
    """Counts the rows the vocabulary projection (the tied decoder) receives."""

    def __init__(self, model):
        self.rows = 0
        model.lm_head.decoder.register_forward_hook(self)

    def __call__(self, module, args, output):
        self.rows += args[0].reshape(-1, args[0].shape[-1]).shape[0]


def test_labels_send_only_masked_tokens_through_the_head():
    model = _mlm()
    counter = _RowCounter(model)
    ids, mask, labels = _batch()
    out = model(ids, mask, labels=labels)
    n = int((labels != -100).sum())
    assert counter.rows == n and out.logits is None and out.masked_logits.shape == (n, 97)
    full = model(ids, mask, labels=labels, return_logits=True)
    reference = F.cross_entropy(full.logits.transpose(1, 2), labels, ignore_index=-100)
    assert out.loss.item() == pytest.approx(reference.item(), rel=1e-6)
    assert torch.allclose(full.logits[labels != -100], out.masked_logits, atol=1e-5)
    out.loss.backward()  # the masked-only path trains every parameter it should
    assert model.lm_head.dense.weight.grad is not None and model.posenc.word_embeddings.weight.grad is not None


def test_without_labels_every_token_is_projected():
    model = _mlm()
    ids, mask, _ = _batch()
    out = model(ids, mask)
    assert out.logits.shape == (*ids.shape, 97) and out.loss is None and out.masked_logits is None
    assert model(ids, mask, return_logits=False).logits is None


def test_mlm_evaluator_projects_masked_tokens_and_matches_full_logits():
    """The pre-training evaluator's loss and accuracy equal the full-logits computation it replaced,
    while the head sees only the masked tokens."""
    from accelerate import Accelerator

    from posenc.training.pretrain import _mlm_evaluator

    model = _mlm(seed=2)
    batches = []
    for seed in range(3):
        ids, mask, labels = _batch(seed=10 + seed)
        batches.append(dict(input_ids=ids, attention_mask=mask, labels=labels))
    counter = _RowCounter(model)
    metrics = _mlm_evaluator(Accelerator(cpu=True), model, [dict(b) for b in batches])()
    masked = sum(int((b["labels"] != -100).sum()) for b in batches)
    assert counter.rows == masked
    ce_sum = correct = count = 0.0
    with torch.no_grad():
        for b in batches:
            logits = model(b["input_ids"], b["attention_mask"]).logits
            keep = b["labels"] != -100
            ce_sum += float(F.cross_entropy(logits.transpose(1, 2), b["labels"], ignore_index=-100, reduction="sum"))
            correct += float(((logits.argmax(-1) == b["labels"]) & keep).sum())
            count += float(keep.sum())
    assert metrics["loss"] == pytest.approx(ce_sum / count, rel=1e-6)
    assert metrics["accuracy"] == correct / count
    assert metrics["perplexity"] == pytest.approx(math.exp(ce_sum / count), rel=1e-6)
    assert metrics["eval_blocks"] == 9

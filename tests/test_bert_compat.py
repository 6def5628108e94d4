"""``posenc.from_bert`` on checkpoints as transformers v5 writes them, at the README's 1e-5."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertForMaskedLM

import posenc

BERT_TINY = dict(vocab_size=120, hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
                 max_position_embeddings=40, type_vocab_size=2, hidden_dropout_prob=0.0,
                 attention_probs_dropout_prob=0.0)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_from_bert_loads_a_saved_masked_lm_directory(tmp_path, attn):
    """transformers v5 does not save the decoder tied to the word embeddings; the converter must not
    ask for it, and the logits must equal BertForMaskedLM's."""
    torch.manual_seed(1)
    mlm = BertForMaskedLM(BertConfig(**BERT_TINY)).eval()
    with torch.no_grad():
        mlm.cls.predictions.bias.normal_(0.0, 0.5)  # zero-initialised: make it count
    mlm.save_pretrained(tmp_path)
    assert "cls.predictions.decoder.weight" not in load_file(tmp_path / "model.safetensors")
    ours = posenc.from_bert(str(tmp_path))
    ours.config._attn_implementation = attn
    assert isinstance(ours, posenc.PosencForMaskedLM)
    ids = torch.randint(1, 120, (3, 17), generator=torch.Generator().manual_seed(5))
    tt = torch.zeros_like(ids)
    tt[:, 9:] = 1
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    with torch.no_grad():
        ref = mlm(input_ids=ids, attention_mask=mask, token_type_ids=tt).logits
        out = ours(ids, mask, tt).logits
    assert float((ref - out).abs().max()) < 1e-5
    assert ours.lm_head.decoder.weight is ours.posenc.word_embeddings.weight  # tied, not copied

"""``deberta`` equals DeBERTa-v2/v3 as transformers' ``DebertaV2Model`` computes it (same weights,
through ``posenc.from_deberta``), and its fast paths equal their plain versions."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import DebertaV2Config, DebertaV2ForMaskedLM, DebertaV2ForSequenceClassification, DebertaV2Model
from transformers.models.deberta_v2.modeling_deberta_v2 import make_log_bucket_position

import posenc
import posenc.testing as pt
from posenc.encodings.base import EncodingContext
from posenc.encodings.deberta import log_bucket
from posenc.modeling.deberta_compat import DebertaConversionError

# a DeBERTa-v3-shaped tiny config: relative attention only, c2p + p2c, shared keys, LayerNorm-ed
# table; 8 buckets up to distance 20, so a 40-token input reaches the log buckets and the clamp
V3 = dict(vocab_size=120, hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
          max_position_embeddings=64, type_vocab_size=0, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
          relative_attention=True, position_biased_input=False, pos_att_type=["p2c", "c2p"], share_att_key=True,
          norm_rel_ebd="layer_norm", position_buckets=8, max_relative_positions=20)
VARIANTS = {
    "v3": {},
    "token_types": dict(type_vocab_size=2),
    "separate_position_projections": dict(share_att_key=False),
    "v1_clipping": dict(position_buckets=-1, max_relative_positions=6, norm_rel_ebd="none"),
    "c2p_only": dict(pos_att_type="c2p"),
    "p2c_only": dict(pos_att_type=["p2c"]),
}


def _perturbed(model):
    """Random weights everywhere (zero-initialised biases and LayerNorm shifts included)."""
    torch.manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def _inputs(length=40):
    """Right-padded rows; 40 tokens reach the log buckets and the clamp (the gather path), 5 tokens
    stay within the exact offsets of 8 buckets (the strided path)."""
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(1, 120, (3, length), generator=g)
    tt = torch.zeros_like(ids)
    tt[:, length // 2:] = 1
    mask = torch.ones_like(ids)
    mask[1, length * 3 // 4:] = 0
    mask[2, length // 4 + 1:] = 0
    return ids, mask, tt


@pytest.mark.parametrize("buckets,distance", [(256, 512), (8, 20), (64, 1024), (2, 3)])
def test_log_buckets_equal_transformers(buckets, distance):
    offsets = torch.arange(-3000, 3001)
    assert torch.equal(log_bucket(offsets, buckets, distance), make_log_bucket_position(offsets, buckets, distance).long())


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_from_deberta_reproduces_debertav2model(variant):
    hf = _perturbed(DebertaV2Model(DebertaV2Config(**{**V3, **VARIANTS[variant]})))
    ours = posenc.from_deberta(hf)
    assert ours.config.position["name"] == "deberta"
    for length in (40, 5):
        ids, mask, tt = _inputs(length)
        real = mask.bool()
        with torch.no_grad():
            ref = hf(input_ids=ids, attention_mask=mask, token_type_ids=tt).last_hidden_state
            for kernel in ("sdpa", "eager"):
                ours.config._attn_implementation = kernel
                out = ours(ids, mask, tt).last_hidden_state
                diff = float((ref - out)[real].abs().max())
                assert diff < 1e-5, f"{variant}/{kernel}/L={length}: differs from DebertaV2Model by {diff:.1e}"


def test_default_options_are_deberta_v3_and_add_no_per_layer_parameters():
    """`position: deberta` with no options is what microsoft/deberta-v3-* configs declare, and shared
    keys leave only the table and its LayerNorm: 2·256·d + 2·d parameters at BERT_BASE."""
    spec = posenc.PosencConfig(position="deberta").position
    cfg = {**V3, "position_buckets": 256, "max_relative_positions": -1, "max_position_embeddings": 512}
    from posenc.modeling.deberta_compat import deberta_position_spec

    assert deberta_position_spec(cfg) == spec
    base = posenc.PosencConfig(position="deberta", **posenc.size_preset("base"))
    enc = posenc.POSITION_ENCODINGS.get("deberta")(base, posenc.encodings.parse_spec("position", "deberta")[1])
    assert sum(p.numel() for p in enc.parameters()) == 2 * 256 * 768 + 2 * 768


@pytest.mark.parametrize("legacy", [True, False])
def test_from_deberta_masked_lm_from_a_saved_directory(tmp_path, legacy):
    """Both MLM heads (legacy ``cls.predictions`` with a tied decoder, v3 ``lm_predictions``) give
    DebertaV2ForMaskedLM's logits, from the model and from its saved directory."""
    hf = _perturbed(DebertaV2ForMaskedLM(DebertaV2Config(**V3, legacy=legacy)))
    hf.save_pretrained(tmp_path)
    ids, mask, tt = _inputs()
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask).logits
        for source in (hf, str(tmp_path)):
            ours = posenc.from_deberta(source)
            assert isinstance(ours, posenc.PosencForMaskedLM)
            diff = float((ref - ours(ids, mask).logits)[mask.bool()].abs().max())
            assert diff < 1e-5, f"legacy={legacy}, {type(source).__name__}: logits differ by {diff:.1e}"


def test_from_deberta_refuses_what_does_not_map():
    with pytest.raises(DebertaConversionError, match="task head.*classifier, pooler.*ContextPooler"):
        posenc.from_deberta(DebertaV2ForSequenceClassification(DebertaV2Config(**V3)))
    bert_like = DebertaV2Config(**{**V3, "relative_attention": False, "position_biased_input": True})
    with pytest.raises(DebertaConversionError, match="relative_attention is false(.|\n)*position_biased_input is true"):
        posenc.from_deberta(DebertaV2Model(bert_like))
    with pytest.raises(DebertaConversionError, match="conv_kernel_size=3"):
        posenc.from_deberta(DebertaV2Model(DebertaV2Config(**V3, conv_kernel_size=3)))
    hf = DebertaV2Model(DebertaV2Config(**V3))
    sd = dict(hf.state_dict())
    sd["encoder.layer.0.attention.self.extra.weight"] = torch.zeros(2)
    sd["encoder.layer.1.intermediate.dense.weight"] = torch.zeros(5, 48)
    with pytest.raises(DebertaConversionError, match=r"(?s)intermediate.dense.weight has shape \(5, 48\).*"
                                                     r"no posenc counterpart: encoder.layer.0.attention.self.extra.weight"):
        posenc.from_deberta((sd, hf.config))


# --- the encoding's own paths -------------------------------------------------------------------

OPTION_VARIANTS = [
    {},
    {"p2c_index": "paper"},
    {"position_buckets": 0, "max_relative_positions": 8, "share_att_key": False},
    {"position_buckets": 12, "max_relative_positions": 20, "terms": "p2c"},
]


@pytest.mark.parametrize("options", OPTION_VARIANTS)
@pytest.mark.parametrize("n", [1, 3, 5])
def test_strided_path_equals_gather_path_values_and_gradients(options, n):
    """At positions 0..n−1 (every offset with a row of its own) the skewed (strided-view) path
    equals the gather path, values and gradients."""
    model = pt.tiny_model({"name": "deberta", **options})
    enc, proj = model.position_encoding, model.layers[1].attention.project_qk
    torch.manual_seed(0)
    q = torch.randn(2, 4, n, 8, requires_grad=True)
    k = torch.randn(2, 4, n, 8, requires_grad=True)
    out = {}
    for canonical in (True, False):
        ctx = EncodingContext(2, n, q.device, q.dtype, position_ids=torch.arange(n)[None], canonical=canonical,
                              qk_projection=proj)
        enc.prepare(ctx)
        assert ctx.state[enc][1][0] == ("skew" if canonical else "gather")
        out[canonical] = enc.content_bias(1, q, k, ctx)
    assert torch.allclose(out[True], out[False], atol=1e-5)
    g = torch.randn_like(out[True])
    grads = [torch.autograd.grad(out[c], (q, k, enc.rel_embeddings.weight), g, retain_graph=True, allow_unused=True)
             for c in (True, False)]
    assert all((a is None and b is None) or torch.allclose(a, b, atol=1e-5) for a, b in zip(*grads))


def test_reference_and_paper_index_differ_only_in_p2c():
    """The released code reads Q^r at δ(i, j); the paper at δ(j, i): p2c-only logits are each
    other's transpose of the position index, c2p-only logits do not depend on the choice."""
    n = 9
    torch.manual_seed(1)
    q, k = torch.randn(1, 4, n, 8), torch.randn(1, 4, n, 8)

    def bias(**options):
        model = pt.tiny_model({"name": "deberta", **options}, seed=0)
        ctx = EncodingContext(1, n, q.device, q.dtype, qk_projection=model.layers[0].attention.project_qk)
        model.position_encoding.prepare(ctx)
        return model.position_encoding.content_bias(0, q, k, ctx)

    with torch.no_grad():
        assert torch.equal(bias(terms="c2p"), bias(terms="c2p", p2c_index="paper"))
        ref, paper = bias(terms="p2c"), bias(terms="p2c", p2c_index="paper")
        assert not torch.allclose(ref, paper)
        # with the same key at every position, p2c depends on the offset only: reference(i, j) = paper(j, i)
        k_same = k[:, :, :1].expand_as(k)
        model = pt.tiny_model({"name": "deberta", "terms": "p2c"}, seed=0)
        paper_model = pt.tiny_model({"name": "deberta", "terms": "p2c", "p2c_index": "paper"}, seed=0)
        results = []
        for m in (model, paper_model):
            ctx = EncodingContext(1, n, q.device, q.dtype, qk_projection=m.layers[0].attention.project_qk)
            m.position_encoding.prepare(ctx)
            results.append(m.position_encoding.content_bias(0, q, k_same, ctx))
        assert torch.allclose(results[0], results[1].transpose(-1, -2), atol=1e-6)


def test_cached_decoder_step_reads_every_cached_key():
    """Causal use: one query at position t against keys 0..t gives row t of the full computation."""
    model = pt.tiny_model("deberta")
    enc, proj = model.position_encoding, model.layers[0].attention.project_qk
    n = 12
    torch.manual_seed(2)
    q, k = torch.randn(2, 4, n, 8), torch.randn(2, 4, n, 8)
    with torch.no_grad():
        full_ctx = EncodingContext(2, n, q.device, q.dtype, causal=True, qk_projection=proj)
        enc.prepare(full_ctx)
        full = enc.content_bias(0, q, k, full_ctx)
        for t in (0, 5, n - 1):
            step = EncodingContext(2, 1, q.device, q.dtype, position_ids=torch.tensor([[t]]),
                                   k_positions=torch.arange(t + 1)[None], causal=True, qk_projection=proj)
            enc.prepare(step)
            row = enc.content_bias(0, q[:, :, t:t + 1], k[:, :, :t + 1], step)
            assert torch.allclose(row, full[:, :, t:t + 1, :t + 1], atol=1e-5)


def test_scale_counts_the_position_terms():
    for terms, factor in (("c2p|p2c", 3), ("c2p", 2), ("p2c", 2)):
        enc = pt.tiny_model({"name": "deberta", "terms": terms}).position_encoding
        assert enc.score_scale(8) == pytest.approx(1 / math.sqrt(8 * factor))

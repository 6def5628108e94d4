"""Each encoding's formula, pinned against a direct (slow, obvious) reference computation."""

import math

import pytest
import torch

import posenc
import posenc.testing as pt
from posenc.encodings.alibi import alibi_slopes
from posenc.encodings.base import EncodingContext
from posenc.encodings.t5 import t5_relative_bucket


def test_t5_buckets_match_hand_computed_table():
    # 32 buckets, max distance 128: 16 per direction, 8 exact, then log-spaced up to 128.
    # large n: 8 + floor(log(n/8) / log(16) * 8)
    rel = torch.tensor([0, -1, -7, -8, -11, -12, -16, -20, -32, -64, -127, -128, -1000,
                        1, 7, 8, 12, 16, 64, 127, 128, 1000])
    expected = [0, 1, 7, 8, 8, 9, 10, 10, 12, 14, 15, 15, 15,
                17, 23, 24, 25, 26, 30, 31, 31, 31]
    assert t5_relative_bucket(rel, 32, 128).tolist() == expected


def test_t5_bucket_matches_transformers_implementation():
    from transformers.models.t5.modeling_t5 import T5Attention

    rel = torch.arange(-300, 301)[None]
    ours = t5_relative_bucket(rel, 32, 128)
    theirs = T5Attention._relative_position_bucket(rel, bidirectional=True, num_buckets=32, max_distance=128)
    assert torch.equal(ours, theirs)


def test_t5_causal_buckets_match_transformers_unidirectional():
    from transformers.models.t5.modeling_t5 import T5Attention

    rel = torch.arange(-300, 301)[None]
    ours = t5_relative_bucket(rel, 32, 128, bidirectional=False)
    theirs = T5Attention._relative_position_bucket(rel, bidirectional=False, num_buckets=32, max_distance=128)
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("past", [0, 6])
def test_t5_decoder_bias_equals_transformers_t5_decoder(past):
    """Causal posenc t5 == HF T5's decoder self-attention bias on the same weights, for a full
    sequence (past 0) and for a cached step (queries at past.., keys 0..past+Lq−1)."""
    from transformers import T5Config
    from transformers.models.t5.modeling_t5 import T5Attention

    enc = pt.tiny_model({"name": "t5", "num_buckets": 16, "max_distance": 20}).position_encoding
    hf = T5Attention(T5Config(d_model=32, num_heads=4, d_kv=8, relative_attention_num_buckets=16,
                              relative_attention_max_distance=20, is_decoder=True), has_relative_attention_bias=True)
    with torch.no_grad():
        hf.relative_attention_bias.weight.copy_(enc.bias.weight[0])
    lq = 40 if past == 0 else 1
    ctx = EncodingContext(batch_size=1, seq_len=lq, device=torch.device("cpu"), dtype=torch.float32,
                          position_ids=torch.arange(past, past + lq)[None], k_positions=torch.arange(past + lq)[None],
                          causal=True)
    enc.prepare(ctx)
    ours = enc.layer_bias(0, ctx)
    theirs = hf.compute_bias(lq, past + lq, past_seen_tokens=past)
    assert torch.equal(ours, theirs)


def test_t5_shared_across_layers_and_gathered_from_table():
    model = pt.tiny_model("t5")
    enc = model.position_encoding
    bias = enc.bias_matrix(20)  # [1, h, L, L]
    assert bias.shape == (1, 4, 20, 20)
    w = enc.bias.weight[0]  # [buckets, h]
    i, j = 3, 17
    assert torch.allclose(bias[0, :, i, j], w[t5_relative_bucket(torch.tensor(j - i))])


def _ctx(n, b=1, tt=None):
    return EncodingContext(batch_size=b, seq_len=n, device=torch.device("cpu"), dtype=torch.float32,
                           position_ids=torch.arange(n)[None].expand(b, n), token_type_ids=tt)


def test_diet_rel_is_r_of_query_minus_key_and_asymmetric():
    model = pt.tiny_model({"name": "diet_rel"})
    enc = model.position_encoding
    n = 7
    bias = enc.bias_matrix(n)  # [layers, h, L, L]
    span = enc.span
    for layer in range(2):
        for i, j in [(0, 0), (5, 2), (2, 5), (6, 0)]:
            assert torch.allclose(bias[layer, :, i, j], enc.offsets[layer, :, (i - j) + span - 1])
    assert not torch.allclose(bias[0, :, 5, 2], bias[0, :, 2, 5])  # R_{i−j} ≠ R_{j−i}
    assert not torch.allclose(bias[0], bias[1])  # default: no sharing across layers


def test_diet_rel_sharing_shapes():
    assert pt.tiny_model({"name": "diet_rel", "sharing": "layer"}).position_encoding.offsets.shape == (1, 4, 127)
    assert pt.tiny_model({"name": "diet_rel", "sharing": "head"}).position_encoding.offsets.shape == (2, 1, 127)


def test_diet_abs_is_pq_pkt_per_head():
    model = pt.tiny_model({"name": "diet_abs", "rank": 5, "sharing": "none"})
    enc = model.position_encoding
    n = 6
    bias = enc.bias_matrix(n)
    assert bias.shape == (2, 4, n, n)
    for layer in range(2):
        for h in range(4):
            ref = enc.p_q[layer, h, :n] @ enc.p_k[layer, h, :n].T
            assert torch.allclose(bias[layer, h], ref, atol=1e-6)


def test_diet_abs_rank_exceeds_head_dim():
    """Theorem 1: input positions cap a head's logit rank at d_h; DIET-ABS reaches d_h + d_p."""
    torch.manual_seed(0)
    n, d_h, d_p = 40, 8, 16
    x, p = torch.randn(n, 32), torch.randn(n, 32)
    wq, wk = torch.randn(32, d_h), torch.randn(32, d_h)
    a_input = (x + p) @ wq @ wk.T @ (x + p).T
    pq, pk = torch.randn(n, d_p), torch.randn(n, d_p)
    a_diet = x @ wq @ wk.T @ x.T + pq @ pk.T
    assert torch.linalg.matrix_rank(a_input) <= d_h
    assert torch.linalg.matrix_rank(a_diet) == d_h + d_p


def test_alibi_slopes_and_bias():
    assert alibi_slopes(8) == [2 ** -(i + 1) for i in range(8)]
    assert len(alibi_slopes(6)) == 6
    enc = pt.tiny_model("alibi").position_encoding
    bias = enc.bias_matrix(5)[0]
    slopes = torch.tensor(alibi_slopes(4))
    assert torch.allclose(bias[:, 1, 4], -3 * slopes) and torch.allclose(bias[:, 4, 1], -3 * slopes)


def test_alibi_causal_form_and_cached_step():
    """Causal ALiBi: −m_h·(i − j) for j <= i (Press et al. 2022, §3); a cached step at position t
    gets row t of the full matrix."""
    enc = pt.tiny_model("alibi").position_encoding
    slopes = torch.tensor(alibi_slopes(4))
    n = 6
    full = EncodingContext(1, n, torch.device("cpu"), torch.float32, causal=True)
    enc.prepare(full)
    bias = enc.layer_bias(0, full)[0]  # [h, L, L]
    for i in range(n):
        for j in range(i + 1):
            assert torch.allclose(bias[:, i, j], -(i - j) * slopes)
    step = EncodingContext(1, 1, torch.device("cpu"), torch.float32, position_ids=torch.tensor([[n - 1]]),
                           k_positions=torch.arange(n)[None], causal=True)
    enc.prepare(step)
    assert torch.equal(enc.layer_bias(0, step)[0, :, 0], bias[:, n - 1])


def test_absolute_tables_read_the_true_positions():
    """DIET-ABS P_Q[p_i] P_K[p_j]ᵀ, TUPE rows and DIET-REL R[p_i − p_j] at arbitrary per-example
    positions (left padding, a cached decoder step), with TUPE's [CLS] reset where the position is 0."""
    q_pos = torch.tensor([[0, 0, 0, 1, 2], [3, 4, 5, 6, 7]])
    k_pos = torch.tensor([[0, 0, 0, 1, 2, 3], [0, 1, 2, 3, 4, 5]])
    ctx = EncodingContext(2, 5, torch.device("cpu"), torch.float32, position_ids=q_pos, k_positions=k_pos)
    assert ctx.canonical is False
    diet = pt.tiny_model({"name": "diet_abs", "rank": 5, "sharing": "none"}).position_encoding
    rel = pt.tiny_model("diet_rel").position_encoding
    tupe = pt.tiny_model("tupe").position_encoding
    with torch.no_grad():
        for enc in (diet, rel, tupe):
            enc.prepare(ctx)
        d_bias, r_bias, t_bias = diet.layer_bias(1, ctx), rel.layer_bias(1, ctx), tupe.layer_bias(0, ctx)
        p = tupe.norm(tupe.table.weight)
        pq = tupe.u_q(p).view(-1, 4, 8).transpose(0, 1)
        pk = tupe.u_k(p).view(-1, 4, 8).transpose(0, 1)
        for b in range(2):
            for i in range(5):
                for j in range(6):
                    pi, pj = int(q_pos[b, i]), int(k_pos[b, j])
                    ref = (diet.p_q[1, :, pi] * diet.p_k[1, :, pj]).sum(-1)
                    assert torch.allclose(d_bias[b, :, i, j], ref, atol=1e-6)
                    assert torch.equal(r_bias[b, :, i, j], rel.offsets[1, :, pi - pj + rel.span - 1])
                    if pi == 0:
                        expected = tupe.theta_cls_to_others
                    elif pj == 0:
                        expected = tupe.theta_others_to_cls
                    else:
                        expected = (pq[:, pi] * pk[:, pj]).sum(-1) / math.sqrt(16)
                    assert torch.allclose(t_bias[b, :, i, j], expected, atol=1e-6)


def test_alibi_penalty_cap_keeps_function_and_avoids_subnormals():
    """The 40-nat cap changes no output beyond float32 noise, and keeps softmax probabilities normal."""
    n = 400  # steepest tiny head: m = 1/4, so 0.25 * 399 ≈ 100 nats > 87 (float32 subnormal range)
    capped, uncapped = pt.tiny_model("alibi"), pt.tiny_model({"name": "alibi", "max_penalty": float("inf")})
    bias = capped.position_encoding.bias_matrix(n)[0]
    assert bias.min().item() == -40.0
    assert torch.equal(bias[0, 0, :100], uncapped.position_encoding.bias_matrix(n)[0][0, 0, :100])
    probs = bias.softmax(-1)
    assert not ((probs > 0) & (probs < torch.finfo(torch.float32).tiny)).any()
    uncapped_probs = uncapped.position_encoding.bias_matrix(n)[0].softmax(-1)
    assert ((uncapped_probs > 0) & (uncapped_probs < torch.finfo(torch.float32).tiny)).any()
    ids = torch.randint(5, 97, (2, n))
    a, b = (m(input_ids=ids).last_hidden_state for m in (capped, uncapped))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_rotary_scores_depend_only_on_offset():
    enc = pt.tiny_model("rotary").position_encoding
    torch.manual_seed(0)
    q, k = torch.randn(1, 4, 1, 8), torch.randn(1, 4, 1, 8)

    def score(i, j):
        n = max(i, j) + 1
        ctx = _ctx(n)
        enc.prepare(ctx)
        qs = q.expand(1, 4, n, 8).clone()
        ks = k.expand(1, 4, n, 8).clone()
        qr, kr = enc.rotate_qk(0, qs, ks, ctx)
        return (qr[..., i, :] * kr[..., j, :]).sum(-1)

    assert torch.allclose(score(3, 1), score(10, 8), atol=1e-5)
    assert not torch.allclose(score(3, 1), score(3, 2), atol=1e-3)


def test_shaw_content_bias_matches_direct_formula():
    model = pt.tiny_model({"name": "shaw", "clip": 3, "key_query": True})
    enc = model.position_encoding
    n, dh = 9, 8
    torch.manual_seed(0)
    q, k = torch.randn(2, 4, n, dh), torch.randn(2, 4, n, dh)
    ctx = _ctx(n, b=2)
    enc.prepare(ctx)
    ours = enc.content_bias(1, q, k, ctx)
    table = enc.key_table[1]
    a = torch.stack([torch.stack([table[max(-3, min(3, j - i)) + 3] for j in range(n)]) for i in range(n)])  # [L, L, d]
    ref = (torch.einsum("bhid,ijd->bhij", q, a) + torch.einsum("bhjd,ijd->bhij", k, a)) / math.sqrt(dh)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_shaw_values_uses_eager_and_matches_direct_formula(caplog):
    model = pt.tiny_model({"name": "shaw", "clip": 2, "values": True})
    assert model.attention_kernel == "eager"
    assert "values" in model.position_encoding.eager_reason
    enc = model.position_encoding
    n, dh = 7, 8
    probs = torch.softmax(torch.randn(1, 4, n, n), -1)
    ctx = _ctx(n)
    enc.prepare(ctx)
    ours = enc.value_term(0, probs, ctx)
    av = torch.stack([torch.stack([enc.value_table[0, max(-2, min(2, j - i)) + 2] for j in range(n)]) for i in range(n)])
    ref = torch.einsum("bhij,ijd->bhid", probs, av)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_deberta_paper_variant_matches_eq_2_to_4():
    """The paper's DeBERTa (He et al. 2021, §3.1 Eq. 2–4): clipped offsets, per-layer W_{q,r}, W_{k,r},
    p2c at δ(j, i), no LayerNorm on the table; written out element by element."""
    paper = {"name": "deberta", "max_relative_positions": 4, "position_buckets": 0, "share_att_key": False,
             "rel_layer_norm": False, "p2c_index": "paper"}
    model = pt.tiny_model(paper)
    enc = model.position_encoding
    n, dh, span = 10, 8, 4
    torch.manual_seed(0)
    q, k = torch.randn(1, 4, n, dh), torch.randn(1, 4, n, dh)
    ctx = _ctx(n)
    enc.prepare(ctx)
    ours = enc.content_bias(1, q, k, ctx)
    P = enc.rel_embeddings.weight
    kr = enc.pos_k[1](P).view(2 * span, 4, dh).transpose(0, 1)  # [h, 2k, d_h]
    qr = enc.pos_q[1](P).view(2 * span, 4, dh).transpose(0, 1)

    def delta(i, j):
        return max(0, min(2 * span - 1, i - j + span))

    ref = torch.zeros(1, 4, n, n)
    for i in range(n):
        for j in range(n):
            ref[0, :, i, j] = (q[0, :, i] * kr[:, delta(i, j)]).sum(-1) + (k[0, :, j] * qr[:, delta(j, i)]).sum(-1)
    assert torch.allclose(ours, ref / math.sqrt(3 * dh), atol=1e-5)
    assert enc.score_scale(dh) == pytest.approx(1 / math.sqrt(3 * dh))


def test_tupe_position_term_scale_and_cls_reset():
    model = pt.tiny_model("tupe")
    enc = model.position_encoding
    n, dh = 6, 8
    bias = enc.bias_matrix(n)[0]  # [h, L, L]
    p = enc.norm(enc.table.weight[:n])
    pq = enc.u_q(p).view(n, 4, dh).transpose(0, 1)
    pk = enc.u_k(p).view(n, 4, dh).transpose(0, 1)
    ref = pq @ pk.transpose(-1, -2) / math.sqrt(2 * dh)
    assert torch.allclose(bias[:, 1:, 1:], ref[:, 1:, 1:], atol=1e-6)
    assert torch.allclose(bias[:, 0, :], enc.theta_cls_to_others[:, None].expand(4, n))
    assert torch.allclose(bias[:, 1:, 0], enc.theta_others_to_cls[:, None].expand(4, n - 1))
    assert enc.score_scale(dh) == pytest.approx(1 / math.sqrt(2 * dh))


def test_tupe_r_adds_bucketed_relative_term():
    plain = pt.tiny_model({"name": "tupe", "cls_reset": False})
    rel = pt.tiny_model({"name": "tupe", "cls_reset": False, "relative": True})
    rel.position_encoding.load_state_dict(plain.position_encoding.state_dict(), strict=False)
    diff = rel.position_encoding.bias_matrix(8) - plain.position_encoding.bias_matrix(8)
    assert torch.allclose(diff[0], rel.position_encoding.relative(8)[0], atol=1e-6)


def test_diet_segment_bias_is_per_head_pair_table():
    model = pt.tiny_model("none", "diet")
    enc = model.segment_encoding
    with torch.no_grad():
        enc.pair_bias.copy_(torch.randn_like(enc.pair_bias))  # trained values, not the zero init
    tt = torch.tensor([[0, 0, 1, 1]])
    ctx = _ctx(4, tt=tt)
    enc.prepare(ctx)
    bias = enc.layer_bias(1, ctx)  # [b, h, L, L]
    table = enc.pair_bias[1].view(4, 2, 2)
    for i in range(4):
        for j in range(4):
            assert torch.allclose(bias[0, :, i, j], table[:, tt[0, i], tt[0, j]])


def test_sinusoidal_formula():
    model = pt.tiny_model("sinusoidal")
    x = torch.zeros(1, 5, 32)
    out = model.position_encoding.embed_input(x, _ctx(5))
    p, i = 3, 2
    assert out[0, p, 2 * i].item() == pytest.approx(math.sin(p / 10000 ** (2 * i / 32)), abs=1e-6)
    assert out[0, p, 2 * i + 1].item() == pytest.approx(math.cos(p / 10000 ** (2 * i / 32)), abs=1e-6)


def test_parameter_counts_follow_table6_arithmetic():
    """BERT_BASE (30,522 vocab, n_max 512): the parameter arithmetic of Chen et al. (2021), Table 6, exactly.
    Counted like BERT's pre-training model: encoder + pooler + MLM head (decoder tied)."""
    def count(position, segment="input"):
        with torch.device("meta"):
            cfg = posenc.PosencConfig(position=position, segment=segment, **posenc.size_preset("base"))
            mlm = posenc.PosencForMaskedLM(cfg)
            pooler = 768 * 768 + 768
            return sum(p.numel() for p in mlm.parameters()) + pooler

    absolute = count("absolute")
    assert round(absolute / 1e6, 1) == 110.1
    input_table = 512 * 768
    assert count({"name": "diet_abs", "rank": 128, "sharing": "none"}) - absolute == 2 * 512 * 128 * 12 * 12 - input_table
    assert count({"name": "diet_abs", "rank": 128, "sharing": "layer"}) - absolute == 2 * 512 * 128 * 12 - input_table
    assert count({"name": "diet_rel"}) - absolute == (2 * 512 - 1) * 12 * 12 - input_table
    assert count({"name": "diet_rel", "sharing": "layer"}) - absolute == (2 * 512 - 1) * 12 - input_table
    assert round(count({"name": "diet_abs", "rank": 128, "sharing": "none"}) / 1e6, 1) == 128.6
    assert round(count({"name": "diet_abs", "rank": 128, "sharing": "layer"}) / 1e6, 1) == 111.3
    assert round(count({"name": "diet_rel"}) / 1e6, 1) == 109.9
    assert round(count({"name": "diet_rel", "sharing": "layer"}) / 1e6, 1) == 109.7


def test_toeplitz_bias_reads_the_value_of_offset_j_minus_i():
    from posenc.encodings.base import offsets_1d, toeplitz

    L = 5
    v = torch.randn(3, 2 * L - 1)  # [heads, 2L-1]
    out = toeplitz(v, L)
    offs = offsets_1d(L, "cpu")
    for i in range(L):
        for j in range(L):
            assert torch.equal(out[:, i, j], v[:, j - i + L - 1])
            assert offs[j - i + L - 1].item() == j - i

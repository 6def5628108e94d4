"""Formulas of kerple, sandwich, fire and the rotary options, against naive loops and against the
authors' published formulas at hand-computed values; rotary interleaved against RoFormerModel."""

import math

import pytest
import torch

import posenc
import posenc.testing as pt
from posenc.encodings import EncodingStack
from posenc.encodings.base import EncodingContext
from posenc.encodings.fire import fire_input
from posenc.encodings.kerple import kerple_bias
from posenc.encodings.rotary import RotaryOptions, rotary_frequencies, yarn_attention_factor
from posenc.encodings.sandwich import sandwich_bias


def _bias(model, length=6, positions=None, causal=False, layer=0):
    """The content-independent bias [b|1, h, L, L] a model's position encoding adds in ``layer``."""
    enc = model.position_encoding
    ctx = EncodingContext(batch_size=1, seq_len=length, device=torch.device("cpu"), dtype=torch.float32,
                          position_ids=positions, causal=causal)
    with torch.no_grad():
        enc.prepare(ctx)
        return enc.layer_bias(layer, ctx)


# ---------------------------------------------------------------- KERPLE
@pytest.mark.parametrize("variant", ["log", "power"])
def test_kerple_matches_naive_loop(variant):
    model = pt.tiny_model({"name": "kerple", "variant": variant})
    enc = model.position_encoding
    r1, r2 = (t.detach() for t in enc.kernel_parameters())
    for layer in (0, 1):
        bias = _bias(model, 7, layer=layer)[0]
        for h in range(4):
            for i in range(7):
                for j in range(7):
                    d = abs(i - j)
                    a, p = float(r1[layer, h]), float(r2[layer, h])
                    want = -a * math.log(1 + p * d) if variant == "log" else -a * d ** p
                    assert abs(float(bias[h, i, j]) - want) < 1e-5


def test_kerple_published_formula_hand_values():
    """Chi et al. (2022) Eq. 10 (log) and Eq. 9 (power) at values worked by hand."""
    d = torch.tensor([0, 1, 3, 4])
    log = kerple_bias(d, torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.5]), "log")
    # −1·log(1+3) = −1.386294; −2·log(1+0.5·4) = −2·log 3 = −2.197225
    assert log[0].tolist() == pytest.approx([0.0, -0.693147, -1.386294, -1.609438], abs=1e-6)
    assert log[1].tolist() == pytest.approx([0.0, -0.810930, -1.832581, -2.197225], abs=1e-6)
    power = kerple_bias(d, torch.tensor([0.5]), torch.tensor([1.5]), "power")
    # −0.5·4^1.5 = −4; −0.5·3^1.5 = −2.598076
    assert power[0].tolist() == pytest.approx([0.0, -0.5, -2.598076, -4.0], abs=1e-6)


def test_kerple_parameters_stay_in_the_papers_range_and_causal_form():
    model = pt.tiny_model({"name": "kerple", "variant": "power", "sharing": "layer"})
    enc = model.position_encoding
    with torch.no_grad():
        enc.rho1.fill_(-30.0)
        enc.rho2.fill_(40.0)
    r1, r2 = enc.kernel_parameters()
    assert bool((r1 > 0).all()) and bool((r2 > 0).all()) and bool((r2 <= 2).all())
    bias = _bias(pt.tiny_model("kerple"), 5)
    causal = _bias(pt.tiny_model("kerple"), 5, causal=True)
    lower = torch.ones(5, 5).tril().bool()
    assert torch.equal(bias[..., lower], causal[..., lower])  # keys j <= i: the same |i − j|
    assert bool((causal[..., ~lower] == 0).all())  # later keys: masked anyway, no reward


# ---------------------------------------------------------------- Sandwich
def test_sandwich_matches_naive_sum_of_cosines():
    model = pt.tiny_model({"name": "sandwich", "dim": 16})
    bias = _bias(model, 6)[0]
    heads = 4
    for h in range(heads):
        for i in range(6):
            for j in range(6):
                inner = sum(math.cos((i - j) / 10000 ** (2 * k / 16)) for k in range(1, 9))
                want = (inner - 8) / (8 * (h + 1) / heads)
                assert abs(float(bias[h, i, j]) - want) < 1e-5


def test_sandwich_published_formula_hand_values():
    """Chi et al. (2023) §5 with d̄ = 4, H = 8: Σ_{k=1,2} cos(Δ/10000^{k/2}) − 2, divided by 8h/H = h."""
    b = sandwich_bias(torch.tensor([0, 100, -100]), num_heads=8, dim=4)
    # cos(1) + cos(0.01) − 2 = 0.540302 + 0.999950 − 2 = −0.459748
    assert b[0].tolist() == pytest.approx([0.0, -0.459748, -0.459748], abs=1e-6)
    assert b[3].tolist() == pytest.approx([0.0, -0.459748 / 4, -0.459748 / 4], abs=1e-6)


# ---------------------------------------------------------------- FIRE
def _identity_fire(**options):
    """A FIRE model whose MLP is the identity on every head: f(x) = relu(x) − relu(−x)."""
    model = pt.tiny_model({"name": "fire", "hidden": 2, **options})
    enc = model.position_encoding
    with torch.no_grad():
        enc.w1.copy_(torch.tensor([[1.0, -1.0]]))
        enc.b1.zero_()
        enc.w2.copy_(torch.tensor([[1.0], [-1.0]]).expand(1, 2, 4))
        enc.b2.zero_()
        enc.rho_c.fill_(math.log(math.expm1(0.1)))  # c = 0.1
        enc.rho_threshold.fill_(math.log(2.0 - 1.0))  # L = 2
    return model


def test_fire_published_formula_hand_values():
    """Li et al. (2024) Eq. 6 with c = 0.1, L = 2: b(4, 1) = ψ(3)/ψ(max(2, 4)) = log 1.3 / log 1.4."""
    model = _identity_fire()
    causal = _bias(model, 6, causal=True)[0, 0]
    assert float(causal[4, 1]) == pytest.approx(math.log(1.3) / math.log(1.4), abs=1e-6)  # 0.779750
    assert float(causal[1, 0]) == pytest.approx(math.log(1.1) / math.log(1.2), abs=1e-6)  # ψ(1)/ψ(max(L, 1)) = ψ(1)/ψ(2)
    both = _bias(model, 6)[0, 0]
    assert float(both[1, 4]) == pytest.approx(-math.log(1.3) / math.log(1.4), abs=1e-6)  # sign kept, N = max(i, j)
    assert float(both[4, 1]) == float(causal[4, 1])  # keys before the query: the paper's causal value


def test_fire_matches_naive_mlp_and_normalisers():
    model = pt.tiny_model({"name": "fire", "hidden": 8})
    enc = model.position_encoding
    c, threshold = (float(t.detach()) for t in enc.constants())
    bias = _bias(model, 5)[0]
    psi = lambda x: math.log(1 + c * x)  # noqa: E731
    for i in range(5):
        for j in range(5):
            x = math.copysign(psi(abs(i - j)), i - j) / psi(max(threshold, max(i, j)))
            hidden = torch.relu(x * enc.w1[0] + enc.b1[0])
            want = hidden @ enc.w2[0] + enc.b2[0]
            assert torch.allclose(bias[:, i, j], want.detach(), atol=1e-5)
    # length normaliser: the row's length (here 5) for every pair
    x = fire_input(torch.arange(5)[None], torch.arange(5)[None], torch.tensor(c), torch.tensor(threshold),
                   False, "length", torch.tensor([5]))
    assert float(x[0, 4, 0]) == pytest.approx(psi(4) / psi(max(threshold, 5)), abs=1e-6)


def test_fire_length_normaliser_reads_each_rows_real_length():
    model = pt.tiny_model({"name": "fire", "normalizer": "length"})
    ids, mask, _ = pt.sample_inputs(batch=2, length=8, pairs=False)
    mask[1, 5:] = 0
    with torch.no_grad():
        padded = model(ids, mask).last_hidden_state[1, :5]
        alone = model(ids[1:, :5]).last_hidden_state[0]
    assert torch.allclose(padded, alone, atol=1e-5)


# ---------------------------------------------------------------- fused kernel, one bias per forward
@pytest.mark.parametrize("position", ["kerple", {"name": "kerple", "sharing": "layer"}, "sandwich", "fire",
                                      {"name": "fire", "sharing": "none"}])
def test_new_biases_run_fused_with_one_bias_per_forward(position):
    model = pt.tiny_model(position)
    assert model.attention_kernel == "sdpa"
    enc = EncodingStack(model.position_encoding)
    ctx = EncodingContext(batch_size=2, seq_len=6, device=torch.device("cpu"), dtype=torch.float32)
    enc.prepare(ctx)
    biases = enc.static_biases(ctx, None, model.config.num_hidden_layers)
    if model.position_encoding.shared_across_layers:
        assert biases[0] is biases[1]  # built once, handed to every layer
    assert biases[0].shape == (1, 4, 6, 6)  # one [1, h, L, L] bias for the batch (canonical positions)


# ---------------------------------------------------------------- rotary scalings
def test_rotary_scaling_hand_values():
    d = 4  # θ = base^(−2i/4) = [1, 0.01]
    assert rotary_frequencies(d, RotaryOptions()) == pytest.approx([1.0, 0.01])
    assert rotary_frequencies(d, RotaryOptions(scaling="linear", factor=2.0)) == pytest.approx([0.5, 0.005])
    # NTK-aware: base' = 10000 · 2^(4/2) = 40000 → [1, 40000^(−1/2) = 0.005]
    assert rotary_frequencies(d, RotaryOptions(scaling="ntk", factor=2.0)) == pytest.approx([1.0, 0.005])
    # YaRN, L = 100, s = 4, α = 1, β = 32: θ₀ = 1 has r = 100/2π = 15.915494 → γ = 14.915494/31 = 0.481145,
    # θ₀' = 0.518855·0.25 + 0.481145 = 0.610859; θ₁ = 0.01 has r = 0.159 < α → fully interpolated 0.0025
    yarn = RotaryOptions(scaling="yarn", factor=4.0, original_max_length=100)
    assert rotary_frequencies(d, yarn) == pytest.approx([0.610859, 0.0025], abs=1e-6)
    assert yarn_attention_factor(yarn) == pytest.approx(1.138629, abs=1e-6)  # 0.1·ln 4 + 1


def test_rotary_linear_interpolation_equals_scaled_positions():
    """PI (Chen et al. 2023): factor s at positions s·p gives the logits of plain RoPE at p."""
    plain = EncodingStack(pt.tiny_model("rotary").position_encoding)
    scaled = EncodingStack(pt.tiny_model({"name": "rotary", "scaling": "linear", "factor": 4.0}).position_encoding)
    torch.manual_seed(0)
    q, k = torch.randn(1, 4, 6, 8), torch.randn(1, 4, 6, 8)
    pos = torch.arange(6)[None]
    a = pt.attention_logits(plain, q, k, EncodingContext(1, 6, torch.device("cpu"), torch.float32, position_ids=pos))
    b = pt.attention_logits(scaled, q, k, EncodingContext(1, 6, torch.device("cpu"), torch.float32, position_ids=4 * pos))
    assert torch.allclose(a, b, atol=1e-5)


def test_rotary_yarn_temperature_scales_the_logits():
    yarn = pt.tiny_model({"name": "rotary", "scaling": "yarn", "factor": 4.0, "original_max_length": 16})
    assert yarn.position_encoding.score_scale(8) == pytest.approx(1.138629 ** 2 / math.sqrt(8), abs=1e-6)


def test_rotary_options_refuse_inconsistent_settings():
    with pytest.raises(posenc.OptionError, match="needs original_max_length"):
        posenc.PosencConfig(position={"name": "rotary", "scaling": "yarn", "factor": 2.0})
    with pytest.raises(posenc.OptionError, match="no effect with scaling: none"):
        posenc.PosencConfig(position={"name": "rotary", "factor": 2.0})


def test_rotary_transformers_linear_scaling_agrees():
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    cfg = LlamaConfig(hidden_size=64, num_attention_heads=4, rope_parameters={"rope_type": "linear", "factor": 3.0,
                                                                              "rope_theta": 10000.0})
    inv, _ = ROPE_INIT_FUNCTIONS["linear"](cfg, "cpu")
    ours = rotary_frequencies(16, RotaryOptions(scaling="linear", factor=3.0))
    assert inv.tolist() == pytest.approx(ours, rel=1e-6)


def test_rotary_interleaved_is_a_permutation_of_half_pairs():
    """Both layouts are RoPE: permuting each head's dims (2i, 2i+1) → (i, i + d/2) maps one onto the other."""
    half = EncodingStack(pt.tiny_model("rotary").position_encoding)
    inter = EncodingStack(pt.tiny_model({"name": "rotary", "interleaved": True}).position_encoding)
    torch.manual_seed(1)
    q, k = torch.randn(2, 4, 7, 8), torch.randn(2, 4, 7, 8)
    perm = torch.cat([torch.arange(0, 8, 2), torch.arange(1, 8, 2)])  # interleaved dim → half-layout dim
    ctx = lambda: EncodingContext(2, 7, torch.device("cpu"), torch.float32)  # noqa: E731
    a = pt.attention_logits(inter, q, k, ctx())
    b = pt.attention_logits(half, q[..., perm], k[..., perm], ctx())
    assert torch.allclose(a, b, atol=1e-5)


def test_rotary_interleaved_equals_roformer():
    """Issue 11 item 3: RoFormerModel's weights in a posenc encoder with rotary interleaved give its
    hidden states to 1e-5, right padding included."""
    from transformers import RoFormerConfig, RoFormerModel

    from posenc.modeling.bert_compat import bert_key_map

    torch.manual_seed(0)
    size = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                max_position_embeddings=64, type_vocab_size=2, hidden_dropout_prob=0.0,
                attention_probs_dropout_prob=0.0, hidden_act="gelu", layer_norm_eps=1e-12)
    ref = RoFormerModel(RoFormerConfig(embedding_size=32, **size)).eval()
    with torch.no_grad():  # non-trivial LayerNorms and token-type rows, peaked attention (positions matter)
        for name, p in ref.named_parameters():
            if "LayerNorm" in name or "token_type" in name:
                p.normal_(0.5 if name.endswith("weight") else 0.0, 0.3)
            elif ".query." in name or ".key." in name:
                p.normal_(0.0, 0.4)
    cfg = posenc.PosencConfig(position={"name": "rotary", "interleaved": True}, segment="input", **size)
    cfg._attn_implementation = "sdpa"
    ours = posenc.PosencModel(cfg, add_pooling_layer=False).eval()
    sd = ref.state_dict()
    mapped = {k: torch.cat([sd[s] for s in src]) for k, src in bert_key_map(2, "", shaw=True).items()
              if "pooler" not in k}
    missing, unexpected = ours.load_state_dict(mapped, strict=False)
    assert not missing and not unexpected
    ids, mask, tt = pt.sample_inputs(batch=3, length=11)
    with torch.no_grad():
        want = ref(input_ids=ids, attention_mask=mask, token_type_ids=tt).last_hidden_state
        got = ours(ids, mask, tt).last_hidden_state
    real = mask.bool()
    assert float((want - got)[real].abs().max()) < 1e-5
    plain = posenc.PosencModel(posenc.PosencConfig(position="rotary", segment="input", **size), add_pooling_layer=False)
    plain.load_state_dict(mapped, strict=False)
    with torch.no_grad():  # the default (i, i + d/2) pairing is a different function of the same weights
        assert float((plain.eval()(ids, mask, tt).last_hidden_state - want)[real].abs().max()) > 1e-3

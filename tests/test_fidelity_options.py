"""What the help says about ``alibi`` is true, and ``sinusoidal`` offers Vaswani et al.'s √d scaling."""

from __future__ import annotations

import math

import pytest
import torch

import posenc.testing as pt
from posenc.encodings import describe
from posenc.encodings.base import EncodingContext


def _reversal_gap(position) -> float:
    model = pt.tiny_model(position, "none")
    ids, _, _ = pt.sample_inputs(batch=1, length=12, pairs=False)
    with torch.no_grad():
        forward = model(ids).last_hidden_state
        backward = model(ids.flip(1)).last_hidden_state
    return float((forward.flip(1) - backward).abs().max())


def test_alibi_encoder_cannot_tell_left_from_right_and_says_so():
    """|i − j| is unchanged when the sequence is reversed, so the encoder's output is exactly the
    reversed output of the reversed input; an encoding with signed offsets (t5) is not."""
    assert "cannot tell left from right" in describe("position", "alibi").splitlines()[0]
    assert _reversal_gap("alibi") < 1e-5
    assert _reversal_gap("t5") > 1e-3


@pytest.mark.parametrize("heads", [8, 4])
def test_alibi_cap_starts_where_the_help_says(heads):
    """Head h reaches the 40-nat cap from |i − j| ≥ 40·2^(8h/H): 80, 160, 320, 640 for H = 8."""
    model = pt.tiny_model("alibi", "none", num_attention_heads=heads, hidden_size=8 * heads)
    enc = model.position_encoding
    n = 700
    ctx = EncodingContext(1, n, torch.device("cpu"), torch.float32)
    enc.prepare(ctx)
    row = enc.layer_bias(0, ctx)[0, :, 0, :]  # [h, n]: query 0 against keys at distance 0..n−1
    for h in range(1, heads + 1):
        start = 40 * 2 ** (8 * h / heads)
        if start >= n:
            assert float(row[h - 1].min()) > -40
            continue
        start = math.ceil(start)
        assert float(row[h - 1, start]) == -40.0 and float(row[h - 1, start - 1]) > -40.0, f"head {h}"
    if heads == 8:
        assert [math.ceil(40 * 2 ** h) for h in range(1, 5)] == [80, 160, 320, 640]


def test_sinusoidal_scales_token_embeddings_by_sqrt_d_when_asked():
    """X⁰ = √d·W_tok[x] + P (Vaswani et al. 2017, §3.4) with ``scale_embeddings``; X⁰ = W_tok[x] + P by default."""
    plain = pt.tiny_model("sinusoidal", "none").position_encoding
    scaled = pt.tiny_model({"name": "sinusoidal", "scale_embeddings": True}, "none").position_encoding
    torch.manual_seed(0)
    x = torch.randn(2, 9, pt.TINY["hidden_size"])
    ctx = EncodingContext(2, 9, x.device, x.dtype)
    table = plain.embed_input(torch.zeros_like(x), ctx)
    assert torch.allclose(plain.embed_input(x, ctx), x + table)
    assert torch.allclose(scaled.embed_input(x, ctx), x * math.sqrt(pt.TINY["hidden_size"]) + table, atol=1e-6)
    assert "scale_embeddings" in describe("position", "sinusoidal")

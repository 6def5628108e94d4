"""Checks of an encoding inside the encoder (bidirectional): every registered encoding must pass them.

Each ``check_*`` builds a tiny model, so the whole suite runs in seconds on a CPU.
"""

from __future__ import annotations

import tempfile
from typing import Any

import torch

from ..encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS, EncodingStack, parse_spec
from ..encodings.base import EncodingContext
from ..modeling import PosencConfig, PosencModel

TINY = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def tiny_model(position: Any = "absolute", segment: Any = "none", seed: int = 0, randomize: bool = True,
               attn_implementation: str = "sdpa", **overrides) -> PosencModel:
    """A small eval-mode model; ``randomize`` gives zero-initialised parameters (segment tables)
    random values so checks cannot pass by accident."""
    torch.manual_seed(seed)
    cfg = PosencConfig(position=position, segment=segment, **{**TINY, **overrides})
    cfg._attn_implementation = attn_implementation
    model = PosencModel(cfg).eval()
    if randomize:
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.startswith(("position_encoding.", "segment_encoding.")):
                    p.normal_(0.0, 0.5)
    return model


def sample_inputs(batch: int = 2, length: int = 12, vocab: int = 97, seed: int = 1, pairs: bool = True):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (batch, length), generator=g)
    tt = torch.zeros_like(ids)
    if pairs:
        tt[:, length // 2:] = 1
    mask = torch.ones_like(ids)
    mask[-1, length - 3:] = 0  # right padding on the last example
    return ids, mask, tt


def check_forward_backward(position, segment="none") -> None:
    """Forward/backward runs, outputs are finite, and every parameter receives a gradient."""
    model = tiny_model(position, segment).train()
    ids, mask, tt = sample_inputs()
    out = model(ids, mask, tt)
    loss = out.last_hidden_state.pow(2).mean() + out.pooler_output.mean()
    loss.backward()
    assert torch.isfinite(out.last_hidden_state).all(), f"{position}/{segment}: non-finite outputs"
    missing = [n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, f"{position}/{segment}: parameters without gradient: {missing}"


def check_eager_equals_fused(position, segment="none", atol: float = 1e-5) -> None:
    """The fused (SDPA) and eager attention kernels agree in float32."""
    fused = tiny_model(position, segment, attn_implementation="sdpa")
    eager = tiny_model(position, segment, attn_implementation="eager")
    eager.load_state_dict(fused.state_dict())
    ids, mask, tt = sample_inputs()
    with torch.no_grad():
        a = fused(ids, mask, tt).last_hidden_state
        b = eager(ids, mask, tt).last_hidden_state
    real = mask.bool()
    diff = float((a - b)[real].abs().max())
    assert diff <= atol, f"{position}/{segment}: eager and fused attention differ by {diff:.2e}"


def check_save_load(position, segment="none") -> None:
    """save_pretrained → AutoModel.from_pretrained reproduces the outputs exactly."""
    from transformers import AutoModel

    model = tiny_model(position, segment)
    ids, mask, tt = sample_inputs()
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        loaded = AutoModel.from_pretrained(d).eval()
    assert type(loaded) is type(model)
    assert loaded.config.position == model.config.position and loaded.config.segment == model.config.segment
    with torch.no_grad():
        diff = float((model(ids, mask, tt).last_hidden_state - loaded(ids, mask, tt).last_hidden_state).abs().max())
    assert diff == 0.0, f"{position}/{segment}: reloaded model differs by {diff:.2e}"


def check_shift_invariance(position, atol: float = 1e-5) -> None:
    """Translation-invariant encodings: masked left padding shifts the real tokens' positions but
    leaves their outputs unchanged."""
    model = tiny_model(position, "none")
    ids, _, _ = sample_inputs(batch=1, length=10, pairs=False)
    pad = 5
    padded = torch.cat([torch.zeros(1, pad, dtype=torch.long), ids], dim=1)
    mask = torch.cat([torch.zeros(1, pad, dtype=torch.long), torch.ones_like(ids)], dim=1)
    with torch.no_grad():
        plain = model(ids).last_hidden_state
        shifted = model(padded, mask).last_hidden_state[:, pad:]
    diff = float((plain - shifted).abs().max())
    assert diff <= atol, f"{position}: output changes by {diff:.2e} under masked left padding"


def check_permutation_equivariance(position="none", atol: float = 1e-5) -> None:
    """Without positions, permuting the tokens permutes the outputs."""
    model = tiny_model(position, "none")
    ids, _, _ = sample_inputs(batch=1, length=10, pairs=False)
    perm = torch.randperm(ids.shape[1], generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a = model(ids).last_hidden_state[:, perm]
        b = model(ids[:, perm]).last_hidden_state
    diff = float((a - b).abs().max())
    assert diff <= atol, f"{position}: not permutation equivariant (diff {diff:.2e})"


def check_left_padding_with_position_ids(position, segment="none", atol: float = 1e-5) -> None:
    """Every encoding: a left-padded row with correct ``position_ids`` (0 at its first real token)
    gives its real tokens the outputs of the same row unpadded, and a batch mixes padded and
    unpadded rows correctly (true positions, not slot indices)."""
    model = tiny_model(position, segment)
    g = torch.Generator().manual_seed(4)
    short, full = torch.randint(1, 97, (1, 9), generator=g), torch.randint(1, 97, (1, 14), generator=g)
    pad = full.shape[1] - short.shape[1]
    ids = torch.cat([torch.cat([torch.zeros(1, pad, dtype=torch.long), short], 1), full])
    mask = torch.ones_like(ids)
    mask[0, :pad] = 0
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        batched = model(ids, mask, position_ids=positions).last_hidden_state
        alone = [model(short).last_hidden_state[0], model(full).last_hidden_state[0]]
    diff = max(float((batched[0, pad:] - alone[0]).abs().max()), float((batched[1] - alone[1]).abs().max()))
    assert diff <= atol, f"{position}/{segment}: left padding with position_ids changes the real tokens by {diff:.2e}"


def _context(b, positions, keys=None, canonical=None, causal=False):
    return EncodingContext(batch_size=b, seq_len=positions.shape[-1], device=positions.device, dtype=torch.float32,
                           position_ids=positions, k_positions=keys, canonical=canonical, causal=causal)


def attention_logits(encodings: EncodingStack, q, k, ctx: EncodingContext, layer: int = 0) -> torch.Tensor:
    """Logits [b, h, Lq, Lk] the attention layer would compute from q [b, h, Lq, d_h] and k
    [b, h, Lk, d_h] (no mask): rotate → q·kᵀ·scale + layer bias + content bias."""
    encodings.prepare(ctx)
    q, k = encodings.rotate_qk(layer, q, k, ctx)
    logits = (q @ k.transpose(-1, -2)) * encodings.score_scale(q.shape[-1])
    for term in (encodings.static_biases(ctx, None, layer + 1)[layer], encodings.content_bias(layer, q, k, ctx)):
        if term is not None:
            logits = logits + term
    return logits


def check_bias_depends_on_offset(position, length: int = 9, shift: int = 5) -> None:
    """Translation invariance through the attention logits: with queries and keys whose content is
    the same at every position, every term (bias, content term, rotation) leaves logits that are
    constant along each diagonal (i − j), and the same when all positions are shifted by ``shift``."""
    model = tiny_model(position, "none")
    enc = EncodingStack(model.position_encoding)
    torch.manual_seed(0)
    h, dh = model.config.num_attention_heads, model.config.hidden_size // model.config.num_attention_heads
    q = torch.randn(1, h, 1, dh).expand(2, h, length, dh).contiguous()
    k = torch.randn(1, h, 1, dh).expand(2, h, length, dh).contiguous()
    pos = torch.arange(length)[None]
    with torch.no_grad():
        logits = attention_logits(enc, q, k, _context(2, pos))
        shifted = attention_logits(enc, q, k, _context(2, pos + shift))
    for off in range(-(length - 1), length):
        diag = torch.diagonal(logits, offset=off, dim1=-2, dim2=-1)
        assert torch.allclose(diag, diag[..., :1].expand_as(diag), atol=1e-5), f"{position}: logits vary along offset {off}"
    assert torch.allclose(logits, shifted, atol=1e-5), f"{position}: logits change when every position shifts by {shift}"


def check_general_path_equals_fast_path(position, segment="none", length: int = 7) -> None:
    """At positions 0..L−1 the general (gather) path and the canonical fast path give the same
    input embedding, logits (bias, content, rotation) and value term, bidirectional and causal."""
    model = tiny_model(position, segment)
    enc = model.encodings
    torch.manual_seed(0)
    h, dh = model.config.num_attention_heads, model.config.hidden_size // model.config.num_attention_heads
    q, k = torch.randn(2, h, length, dh), torch.randn(2, h, length, dh)
    x = torch.randn(2, length, model.config.hidden_size)
    probs = torch.softmax(torch.randn(2, h, length, length), -1)
    pos = torch.arange(length)[None]
    with torch.no_grad():
        for causal in (False, True):
            fast, general = _context(2, pos, canonical=True, causal=causal), _context(2, pos, canonical=False, causal=causal)
            for name, a, b in (
                    ("embed_input", enc.embed_input(x, fast), enc.embed_input(x, general)),
                    ("logits", attention_logits(enc, q, k, fast), attention_logits(enc, q, k, general)),
                    ("value_term", enc.value_term(0, probs, fast), enc.value_term(0, probs, general))):
                if a is None and b is None:
                    continue
                assert a is not None and b is not None and torch.allclose(a, b, atol=1e-5), \
                    f"{position}/{segment}: {name} differs between the fast and the general path (causal={causal})"


def check_input_positions_as_declared(position) -> None:
    """``replaces_input_positions`` tells the truth both ways: True leaves the input embeddings
    untouched, False changes them by position (two positions get different additions)."""
    cls, _ = parse_spec("position", position)
    model = tiny_model(position, "none")
    x = torch.zeros(1, 8, model.config.hidden_size)
    out = model.position_encoding.embed_input(x, _context(1, torch.arange(8)[None]))
    if cls.replaces_input_positions:
        assert torch.equal(out, x), f"{position}: declares no input positions but changes the input"
    else:
        assert not torch.allclose(out[0, 1], out[0, 5]), f"{position}: declares input positions but adds none"


check_no_input_positions = check_input_positions_as_declared  # the name used before contract v2


def check_declared_capabilities(position) -> None:
    """The declared capabilities match the module: ``learnable`` ⇔ it has parameters;
    ``extrapolation == "table"`` ⇔ a finite ``max_length``; ``reads_positions`` ⇔ the model is not
    permutation equivariant."""
    cls, _ = parse_spec("position", position)
    enc = tiny_model(position, "none").position_encoding
    has_params = any(True for _ in enc.parameters())
    assert cls.learnable == has_params, f"{position}: learnable={cls.learnable} but has parameters={has_params}"
    bounded = enc.max_length is not None
    assert (cls.extrapolation == "table") == bounded, \
        f"{position}: extrapolation={cls.extrapolation!r} but max_length={enc.max_length}"
    try:
        check_permutation_equivariance(position)
        equivariant = True
    except AssertionError:
        equivariant = False
    assert equivariant != cls.reads_positions, \
        f"{position}: reads_positions={cls.reads_positions} but permutation equivariant={equivariant}"


def check_length_limit(position) -> None:
    """Encodings with a table refuse longer inputs with a message naming the length and the limit."""
    model = tiny_model(position, "none")
    limit = model.position_encoding.max_length
    if limit is None:
        model(torch.ones(1, TINY["max_position_embeddings"] + 8, dtype=torch.long))  # must just work
        return
    try:
        model(torch.ones(1, limit + 1, dtype=torch.long))
    except ValueError as e:
        assert str(limit + 1) in str(e) and str(limit) in str(e), f"{position}: unhelpful length error: {e}"
    else:
        raise AssertionError(f"{position}: accepted a sequence longer than its {limit}-row table")

"""Registry-driven checks every encoding must pass; importable by plugins.

A plugin that registers its own encoding runs the same suite as the built-ins::

    import posenc.testing as pt
    import my_package.my_encoding  # registers "my_pe"
    pt.run_all_checks("my_pe")      # raises AssertionError with the failing property

Each ``check_*`` builds a tiny model, so the whole suite runs in seconds on a CPU.
"""

from __future__ import annotations

import tempfile
from typing import Any

import torch

from .encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS, parse_spec
from .modeling import PosencConfig, PosencModel

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


def check_bias_depends_on_offset(position, length: int = 9) -> None:
    """A translation-invariant content-independent bias is constant along each diagonal (i − j)."""
    enc = tiny_model(position, "none").position_encoding
    bias = enc.bias_matrix(length)
    if bias is None:
        return
    for off in range(-(length - 1), length):
        diag = torch.diagonal(bias, offset=off, dim1=-2, dim2=-1)
        assert torch.allclose(diag, diag[..., :1].expand_as(diag)), f"{position}: bias varies along offset {off}"


def check_no_input_positions(position) -> None:
    """Encodings that move position into attention leave the input embeddings untouched."""
    cls, _ = parse_spec("position", position)
    if not cls.replaces_input_positions:
        return
    model = tiny_model(position, "none")
    ids, _, _ = sample_inputs(batch=1, length=8, pairs=False)
    x = model.word_embeddings(ids)
    from .encodings.base import EncodingContext

    ctx = EncodingContext(1, 8, x.device, x.dtype, position_ids=torch.arange(8)[None])
    assert torch.equal(model.position_encoding.embed_input(x, ctx), x), f"{position}: declares no input positions but changes the input"


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


def run_all_checks(position: str | None = None, segment: str | None = None) -> None:
    """Run every applicable check for one position encoding (× all segments) or one segment
    encoding (× a few positions)."""
    positions = [position] if position else POSITION_ENCODINGS.names()
    segments = [segment] if segment else SEGMENT_ENCODINGS.names()
    for pos in positions:
        cls, _ = parse_spec("position", pos)
        for seg in segments:
            check_forward_backward(pos, seg)
            check_eager_equals_fused(pos, seg)
        check_save_load(pos, segments[0])
        check_no_input_positions(pos)
        check_length_limit(pos)
        if cls.translation_invariant:
            check_shift_invariance(pos)
            check_bias_depends_on_offset(pos)


__all__ = [name for name in dir() if name.startswith("check_")] + ["run_all_checks", "tiny_model", "sample_inputs", "TINY"]

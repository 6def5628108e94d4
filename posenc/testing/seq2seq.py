"""Checks of an encoding inside the encoder-decoder (causal decoder, key/value cache, generate()).

Every registered position encoding must pass them: the cached decoder equals the full recompute,
the causal mask holds, generate() gives the same tokens with and without the cache (greedy and
beam search), save/load round-trips through ``AutoModelForSeq2SeqLM``.
"""

from __future__ import annotations

import tempfile
from typing import Any

import torch

from ..modeling import PosencForConditionalGeneration, PosencSeq2SeqConfig

TINY_SEQ2SEQ = dict(vocab_size=61, hidden_size=32, encoder_layers=2, decoder_layers=2, num_attention_heads=4,
                    intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                    attention_probs_dropout_prob=0.0)
FIRST_WORD = 3  # ids 0, 1, 2 are pad, bos (decoder start), eos


def tiny_seq2seq(position: Any = "sinusoidal", seed: int = 0, randomize: bool = True,
                 attn_implementation: str = "sdpa", **overrides) -> PosencForConditionalGeneration:
    """A small eval-mode encoder-decoder. ``randomize`` draws every non-LayerNorm parameter from
    N(0, 0.5), so that logits are far from uniform and position terms matter."""
    torch.manual_seed(seed)
    cfg = PosencSeq2SeqConfig(position=position, **{**TINY_SEQ2SEQ, **overrides})
    cfg._attn_implementation = attn_implementation
    model = PosencForConditionalGeneration(cfg).eval()
    if randomize:
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "norm" not in name:
                    p.normal_(0.0, 0.5)
    return model


def seq2seq_inputs(batch: int = 3, src_len: int = 7, tgt_len: int = 6, vocab: int = TINY_SEQ2SEQ["vocab_size"], seed: int = 1):
    """(source ids [b, Ls], source mask with right padding on the last row, decoder inputs [b, Lt]
    starting with the decoder start token)."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(FIRST_WORD, vocab, (batch, src_len), generator=g)
    mask = torch.ones_like(src)
    mask[-1, src_len - 2:] = 0
    dec = torch.randint(FIRST_WORD, vocab, (batch, tgt_len), generator=g)
    dec[:, 0] = 1
    return src, mask, dec


def check_cache_equals_recompute(position, atol: float = 1e-5, chunks=(2, 1, 2, 1), **overrides) -> None:
    """Decoding with the key/value cache — a 2-token prefill, then 1, 2 and 1 new tokens per step —
    gives the logits of the full causal recompute, to ``atol``."""
    model = tiny_seq2seq(position, **overrides)
    src, mask, dec = seq2seq_inputs(tgt_len=sum(chunks))
    with torch.no_grad():
        full = model(src, mask, decoder_input_ids=dec, use_cache=False).logits
        encoded = model.get_encoder()(src, mask)
        cache, steps, start = None, [], 0
        for size in chunks:
            out = model(attention_mask=mask, encoder_outputs=encoded, decoder_input_ids=dec[:, start:start + size],
                        cache=cache, use_cache=True)
            cache, start = out.cache, start + size
            steps.append(out.logits)
    diff = float((torch.cat(steps, 1) - full).abs().max())
    assert diff <= atol, f"{position}: cached decoding differs from the full recompute by {diff:.2e}"


def check_causal_mask(position, changed: int = 3) -> None:
    """Changing decoder token ``changed`` leaves the outputs of every earlier position unchanged (and
    changes its own)."""
    model = tiny_seq2seq(position)
    src, mask, dec = seq2seq_inputs()
    other = dec.clone()
    other[:, changed] = FIRST_WORD + (dec[:, changed] - FIRST_WORD + 1) % (TINY_SEQ2SEQ["vocab_size"] - FIRST_WORD)
    with torch.no_grad():
        a = model(src, mask, decoder_input_ids=dec, use_cache=False).logits
        b = model(src, mask, decoder_input_ids=other, use_cache=False).logits
    before = float((a[:, :changed] - b[:, :changed]).abs().max())
    assert before <= 1e-6, f"{position}: a later decoder token changes earlier outputs by {before:.2e} (causal mask)"
    assert float((a[:, changed] - b[:, changed]).abs().max()) > 1e-4, f"{position}: the changed token has no effect"


def check_generate_cache_equals_no_cache(position, num_beams: int = 1, max_new_tokens: int = 6, **overrides) -> None:
    """``generate()`` with the cache gives exactly the tokens of generating without it (greedy, or beam
    search with a length penalty). Every output token is forced to differ from the earlier ones
    (``no_repeat_ngram_size=1``) and eos is blocked until the end, so sequences are long and varied."""
    model = tiny_seq2seq(position, **overrides)
    src, mask, _ = seq2seq_inputs(batch=2)
    kwargs = dict(attention_mask=mask, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                  num_beams=num_beams, do_sample=False, no_repeat_ngram_size=1)
    if num_beams > 1:
        kwargs.update(length_penalty=0.6, early_stopping=True)
    with torch.no_grad():
        cached = model.generate(src, use_cache=True, **kwargs)
        plain = model.generate(src, use_cache=False, **kwargs)
    assert cached.shape == plain.shape and torch.equal(cached, plain), \
        f"{position}: generate(num_beams={num_beams}) differs with and without the cache:\n{cached}\n{plain}"


def check_seq2seq_eager_equals_fused(position, tol: float = 1e-5) -> None:
    """The fused (SDPA) and eager kernels give the same logits, to ``tol`` relative to the largest logit
    (float32 rounding grows with the N(0, 0.5) test weights), with source padding and the causal mask."""
    fused = tiny_seq2seq(position, attn_implementation="sdpa")
    eager = tiny_seq2seq(position, attn_implementation="eager")
    eager.load_state_dict(fused.state_dict())
    src, mask, dec = seq2seq_inputs()
    with torch.no_grad():
        a, b = fused(src, mask, decoder_input_ids=dec).logits, eager(src, mask, decoder_input_ids=dec).logits
    diff, scale = float((a - b).abs().max()), max(1.0, float(b.abs().max()))
    assert diff <= tol * scale, f"{position}: eager and fused seq2seq logits differ by {diff:.2e} (largest logit {scale:.1f})"


def check_seq2seq_forward_backward(position, **overrides) -> None:
    """The label loss is finite and every parameter receives a gradient (both sides' encodings included)."""
    model = tiny_seq2seq(position, randomize=False, **overrides).train()
    src, mask, dec = seq2seq_inputs()
    labels = dec.clone()
    labels[:, -1] = -100
    out = model(src, mask, labels=labels)
    out.loss.backward()
    assert torch.isfinite(out.loss), f"{position}: non-finite seq2seq loss"
    missing = [n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, f"{position}: seq2seq parameters without gradient: {missing}"


def check_seq2seq_save_load(position) -> None:
    """save_pretrained → AutoModelForSeq2SeqLM.from_pretrained gives identical logits, and the three-way
    embedding tie (encoder, decoder, output projection) survives."""
    from transformers import AutoModelForSeq2SeqLM

    model = tiny_seq2seq(position)
    src, mask, dec = seq2seq_inputs()
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        loaded = AutoModelForSeq2SeqLM.from_pretrained(d).eval()
    assert type(loaded) is type(model) and loaded.config.position == model.config.position
    tied = loaded.shared.weight
    assert loaded.encoder.embed_tokens.weight is tied and loaded.decoder.embed_tokens.weight is tied \
        and loaded.lm_head.weight is tied, f"{position}: embeddings not tied three ways after loading"
    with torch.no_grad():
        diff = float((model(src, mask, decoder_input_ids=dec).logits - loaded(src, mask, decoder_input_ids=dec).logits).abs().max())
    assert diff == 0.0, f"{position}: reloaded seq2seq model differs by {diff:.2e}"

"""Registry-driven checks every encoding must pass; importable by plugins.

A plugin that registers its own encoding runs the same suite as the built-ins::

    import posenc.testing as pt
    import my_package.my_encoding  # registers "my_pe"
    pt.run_all_checks("my_pe")      # raises AssertionError with the failing property

``posenc.testing.encoder`` checks an encoding in the bidirectional encoder, ``posenc.testing.seq2seq``
in the causal decoder of the encoder-decoder (cache == recompute, causal mask, generate()).
"""

from __future__ import annotations

import contextlib

import torch

from ..encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS, parse_spec
from .encoder import (TINY, attention_logits, check_bias_depends_on_offset, check_declared_capabilities,
                      check_eager_equals_fused, check_forward_backward, check_general_path_equals_fast_path,
                      check_input_positions_as_declared, check_left_padding_with_position_ids, check_length_limit,
                      check_no_input_positions, check_permutation_equivariance, check_save_load, check_shift_invariance,
                      sample_inputs, tiny_model)
from .seq2seq import (TINY_SEQ2SEQ, check_cache_equals_recompute, check_causal_mask, check_generate_cache_equals_no_cache,
                      check_seq2seq_eager_equals_fused, check_seq2seq_forward_backward, check_seq2seq_save_load,
                      seq2seq_inputs, tiny_seq2seq)


@contextlib.contextmanager
def single_threaded():
    """Run the checks' tiny models on one intra-op thread: they gain nothing from more, and lose
    about 10x on a loaded machine, where extra threads wait for cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_all_checks(position: str | None = None, segment: str | None = None) -> None:
    """Run every applicable check for one position encoding (× all segments; in the encoder, and in
    the encoder-decoder when it supports both directions) or one segment encoding (× every position)."""
    with single_threaded():
        _run_all_checks(position, segment)


def _run_all_checks(position, segment) -> None:
    positions = [position] if position else POSITION_ENCODINGS.names()
    segments = [segment] if segment else SEGMENT_ENCODINGS.names()
    for pos in positions:
        cls, _ = parse_spec("position", pos)
        for seg in segments:
            check_forward_backward(pos, seg)
            check_eager_equals_fused(pos, seg)
            check_general_path_equals_fast_path(pos, seg)
        check_save_load(pos, segments[0])
        check_input_positions_as_declared(pos)
        check_declared_capabilities(pos)
        check_left_padding_with_position_ids(pos)
        check_length_limit(pos)
        if cls.translation_invariant:
            check_shift_invariance(pos)
            check_bias_depends_on_offset(pos)
        if cls.supports_causal and cls.supports_bidirectional:  # the encoder-decoder uses it on both sides
            check_cache_equals_recompute(pos)
            check_causal_mask(pos)
            check_generate_cache_equals_no_cache(pos, num_beams=1)
            check_generate_cache_equals_no_cache(pos, num_beams=4)
            check_seq2seq_forward_backward(pos)
            check_seq2seq_eager_equals_fused(pos)
            check_seq2seq_save_load(pos)


__all__ = [name for name in dir() if name.startswith("check_")] + [
    "run_all_checks", "single_threaded", "tiny_model", "sample_inputs", "attention_logits", "TINY", "tiny_seq2seq", "seq2seq_inputs",
    "TINY_SEQ2SEQ"]

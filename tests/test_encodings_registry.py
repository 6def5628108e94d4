"""Registry-driven: every registered encoding is tested the moment it is registered."""

import pytest

import posenc
import posenc.testing as pt
from posenc.encodings import POSITION_ENCODINGS

POSITIONS = posenc.list_encodings()
SEGMENTS = posenc.list_segment_encodings()
RELATIVE = [n for n in POSITIONS if POSITION_ENCODINGS.get(n).translation_invariant and n != "none"]


def test_public_names_are_the_contract():
    assert POSITIONS == sorted(["none", "absolute", "sinusoidal", "shaw", "t5", "tupe", "deberta",
                                "diet_abs", "diet_rel", "rotary", "alibi"])
    assert SEGMENTS == ["diet", "input", "none"]
    assert posenc.list_encodings("diet*") == ["diet_abs", "diet_rel"]
    assert posenc.list_encodings("t5,alibi") == ["alibi", "t5"]


def test_relative_encodings_declared():
    assert set(RELATIVE) == {"shaw", "t5", "deberta", "diet_rel", "rotary", "alibi"}


@pytest.mark.parametrize("segment", SEGMENTS)
@pytest.mark.parametrize("position", POSITIONS)
def test_forward_backward_every_parameter_gets_gradient(position, segment):
    pt.check_forward_backward(position, segment)


@pytest.mark.parametrize("segment", SEGMENTS)
@pytest.mark.parametrize("position", POSITIONS)
def test_eager_equals_fused(position, segment):
    pt.check_eager_equals_fused(position, segment)


@pytest.mark.parametrize("position", POSITIONS)
def test_save_load_round_trip(position):
    pt.check_save_load(position, "diet")


@pytest.mark.parametrize("position", RELATIVE)
def test_relative_outputs_invariant_to_masked_left_padding(position):
    pt.check_shift_invariance(position)


@pytest.mark.parametrize("position", RELATIVE)
def test_relative_bias_depends_only_on_offset(position):
    pt.check_bias_depends_on_offset(position)


def test_nope_is_permutation_equivariant():
    pt.check_permutation_equivariance("none")


def test_absolute_is_not_permutation_equivariant():
    with pytest.raises(AssertionError, match="not permutation equivariant"):
        pt.check_permutation_equivariance("absolute")


def test_absolute_is_not_shift_invariant():
    with pytest.raises(AssertionError, match="masked left padding"):
        pt.check_shift_invariance("absolute")


@pytest.mark.parametrize("position", POSITIONS)
def test_no_input_positions_when_declared(position):
    pt.check_no_input_positions(position)


@pytest.mark.parametrize("position", POSITIONS)
def test_length_limits(position):
    pt.check_length_limit(position)


def test_plugin_encoding_runs_the_same_suite():
    """A user registers an encoding from their own code and runs posenc.testing on it; the suite
    catches a plugin whose declared properties are false."""
    import torch

    from posenc.encodings import PositionEncoding, register_position

    @register_position("test_plugin_first_token")
    class FirstTokenBias(PositionEncoding):
        """Learned per-head bias towards key position 0 (claims, wrongly, translation invariance)."""

        translation_invariant = True
        has_layer_bias = True

        def __init__(self, config, options):
            super().__init__(config, options)
            self.w = torch.nn.Parameter(torch.zeros(self.num_heads))

        def layer_bias(self, layer, ctx):
            bias = torch.zeros(1, self.num_heads, ctx.seq_len, ctx.seq_len, device=self.w.device)
            bias[..., 0] = 1.0
            return bias * self.w[None, :, None, None]

    try:
        assert "test_plugin_first_token" in posenc.list_encodings("test_plugin*")
        pt.check_forward_backward("test_plugin_first_token", "diet")
        pt.check_eager_equals_fused("test_plugin_first_token", "input")
        pt.check_save_load("test_plugin_first_token")
        with pytest.raises(AssertionError, match="varies along offset"):
            pt.check_bias_depends_on_offset("test_plugin_first_token")
    finally:
        POSITION_ENCODINGS.unregister("test_plugin_first_token")

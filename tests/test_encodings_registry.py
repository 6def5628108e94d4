"""Registry-driven: every registered encoding is tested the moment it is registered."""

import pytest

import posenc
import posenc.testing as pt
from posenc.encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS
from posenc.encodings.base import Encoding

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with pt.single_threaded():
        yield


POSITIONS = posenc.list_encodings()
SEGMENTS = posenc.list_segment_encodings()
RELATIVE = [n for n in POSITIONS if POSITION_ENCODINGS.get(n).translation_invariant and POSITION_ENCODINGS.get(n).reads_positions]


def _acts_in_attention(cls) -> bool:
    return cls.has_layer_bias or any(getattr(cls, hook) is not getattr(Encoding, hook)
                                     for hook in ("rotate_qk", "content_bias", "value_term"))


def test_public_names_are_the_contract():
    """Names users' configs rely on stay registered (new encodings may join)."""
    assert {"none", "absolute", "sinusoidal", "shaw", "t5", "tupe", "deberta", "diet_abs", "diet_rel", "rotary",
            "alibi"} <= set(POSITIONS)
    assert {"diet", "input", "none"} <= set(SEGMENTS)
    assert posenc.list_encodings("diet*") == ["diet_abs", "diet_rel"]
    assert posenc.list_encodings("t5,alibi") == ["alibi", "t5"]


BUILT_IN_DECLARATIONS = {  # name: (translation invariant, extrapolation, learnable), as the literature defines them
    "none": (True, "any", False), "absolute": (False, "table", True), "sinusoidal": (False, "any", False),
    "shaw": (True, "clipped", True), "t5": (True, "clipped", True), "tupe": (False, "table", True),
    "deberta": (True, "clipped", True), "diet_abs": (False, "table", True), "diet_rel": (True, "clipped", True),
    "rotary": (True, "any", False), "alibi": (True, "any", False), "kerple": (True, "any", True),
    "sandwich": (True, "any", False), "fire": (False, "any", True)}


@pytest.mark.parametrize("position", sorted(BUILT_IN_DECLARATIONS))
def test_built_in_declarations(position):
    """Pins the built-ins' declarations to the literature (the registry-driven checks prove each true)."""
    cls = POSITION_ENCODINGS.get(position)
    assert (cls.translation_invariant, cls.extrapolation, cls.learnable) == BUILT_IN_DECLARATIONS[position]


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
    """Through the attention logits, so content terms (shaw, deberta) and rotations (rotary) count."""
    pt.check_bias_depends_on_offset(position)


@pytest.mark.parametrize("position", [n for n in POSITIONS if n not in RELATIVE])
def test_absolute_attention_terms_vary_with_position(position):
    """The converse: an encoding that is not translation invariant and acts in attention fails the
    offset check (so the check can fail)."""
    cls = POSITION_ENCODINGS.get(position)
    if not _acts_in_attention(cls):
        pytest.skip(f"{position} adds nothing to the attention logits (positions at the input only, or none)")
    with pytest.raises(AssertionError, match="logits vary along offset"):
        pt.check_bias_depends_on_offset(position)


@pytest.mark.parametrize("segment", SEGMENTS)
@pytest.mark.parametrize("position", POSITIONS)
def test_left_padding_with_position_ids(position, segment):
    """Issue 11 item 2: true positions, not slots (fails before contract v2 for diet_abs and tupe)."""
    pt.check_left_padding_with_position_ids(position, segment)


@pytest.mark.parametrize("segment", SEGMENTS)
@pytest.mark.parametrize("position", POSITIONS)
def test_general_path_equals_fast_path(position, segment):
    pt.check_general_path_equals_fast_path(position, segment)


@pytest.mark.parametrize("position", POSITIONS)
def test_declared_capabilities_hold(position):
    pt.check_declared_capabilities(position)


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
    """Both ways: replaces_input_positions=True leaves the input alone, False changes it by position."""
    pt.check_input_positions_as_declared(position)


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
            bias = torch.zeros(1, self.num_heads, ctx.seq_len, ctx.key_len, device=self.w.device)
            bias[..., 0] = 1.0
            return bias * self.w[None, :, None, None]

    try:
        assert "test_plugin_first_token" in posenc.list_encodings("test_plugin*")
        pt.check_forward_backward("test_plugin_first_token", "diet")
        pt.check_eager_equals_fused("test_plugin_first_token", "input")
        pt.check_save_load("test_plugin_first_token")
        with pytest.raises(AssertionError, match="vary along offset"):
            pt.check_bias_depends_on_offset("test_plugin_first_token")
    finally:
        POSITION_ENCODINGS.unregister("test_plugin_first_token")


def test_segment_encoding_hooks_are_called():
    """Issue 11 item 7: attention calls rotate_qk / content_bias / value_term on the segment encoding
    too (a plugin segment that only has a content term changes the outputs, fused == eager)."""
    import torch

    from posenc.encodings import SegmentEncoding, register_segment

    @register_segment("test_plugin_segment_content")
    class SameSegmentContent(SegmentEncoding):
        """Adds w·(q_i·k_j) for tokens of the same segment (content term, read in attention only)."""

        def __init__(self, config, options):
            super().__init__(config, options)
            self.w = torch.nn.Parameter(torch.zeros(()))

        def content_bias(self, layer, q, k, ctx):
            tt = ctx.token_type_ids
            same = (tt[:, None, :, None] == tt[:, None, None, :]).to(q.dtype)
            return self.w * (q @ k.transpose(-1, -2)) * same

    try:
        ids, mask, tt = pt.sample_inputs()
        plain = pt.tiny_model("t5", "none")
        plugged = pt.tiny_model("t5", "test_plugin_segment_content")
        plugged.load_state_dict(plain.state_dict(), strict=False)
        with torch.no_grad():
            plugged.segment_encoding.w.fill_(2.0)
            diff = (plain(ids, mask, tt).last_hidden_state - plugged(ids, mask, tt).last_hidden_state).abs().max()
        assert float(diff) > 1e-3, "the segment encoding's content_bias was not called"
        pt.check_eager_equals_fused("t5", "test_plugin_segment_content")
        pt.check_forward_backward("rotary", "test_plugin_segment_content")
    finally:
        SEGMENT_ENCODINGS.unregister("test_plugin_segment_content")


def test_segment_encoding_overriding_score_scale_is_refused():
    from posenc.encodings import SegmentEncoding, register_segment

    with pytest.raises(TypeError, match="overrides score_scale, but the scale of q·kᵀ belongs to the position encoding"):
        @register_segment("test_plugin_segment_scale")
        class Rescale(SegmentEncoding):
            def score_scale(self, head_dim):
                return 1.0
    assert "test_plugin_segment_scale" not in posenc.list_segment_encodings()


def test_causal_only_encoding_is_refused_in_an_encoder():
    from posenc.encodings import PositionEncoding, register_position

    @register_position("test_plugin_causal_only")
    class CausalOnly(PositionEncoding):
        """A decoder-only encoding (e.g. xPos, CoPE)."""

        supports_bidirectional = False
        learnable = False

    try:
        with pytest.raises(posenc.OptionError, match="'test_plugin_causal_only' cannot be used in an encoder .*causal-only"):
            posenc.PosencConfig(position="test_plugin_causal_only")
        assert POSITION_ENCODINGS.get("test_plugin_causal_only").capabilities()["bidirectional"] is False
    finally:
        POSITION_ENCODINGS.unregister("test_plugin_causal_only")


def test_capabilities_cover_every_encoding():
    """What `posenc list` renders: one row of declared properties per registered encoding."""
    for name in POSITIONS:
        caps = POSITION_ENCODINGS.get(name).capabilities()
        assert set(caps) >= {"family", "bidirectional", "causal", "learnable", "fused_kernel", "extrapolation",
                             "reads_positions"}
        assert caps["family"], f"{name}: no family declared"
        assert POSITION_ENCODINGS.get(name).paper_name, f"{name}: no paper_name declared"
    assert POSITION_ENCODINGS.get("shaw").capabilities()["fused_kernel"] is True  # values=False by default

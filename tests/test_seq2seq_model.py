"""The encoder-decoder: cache-exact decoding for every registered encoding, the training API, save/load,
config-time errors. Tiny random models (2+2 layers, width 32)."""

import math

import pytest
import torch
from transformers import AutoConfig, AutoModelForSeq2SeqLM

import posenc
import posenc.testing as pt
from posenc import PosencForConditionalGeneration, PosencSeq2SeqConfig
from posenc.encodings import POSITION_ENCODINGS
from posenc.modeling.seq2seq import shift_tokens_right

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with pt.single_threaded():
        yield


POSITIONS = [n for n in posenc.list_encodings()
             if POSITION_ENCODINGS.get(n).supports_causal and POSITION_ENCODINGS.get(n).supports_bidirectional]
WITH_BIAS = [n for n in POSITIONS if POSITION_ENCODINGS.get(n).has_layer_bias]
BOUNDED = [n for n in POSITIONS if POSITION_ENCODINGS.get(n).extrapolation == "table"]


@pytest.mark.parametrize("layer_norm_position", ["post", "pre"])
@pytest.mark.parametrize("position", POSITIONS)
def test_cached_logits_equal_full_recompute(position, layer_norm_position):
    pt.check_cache_equals_recompute(position, layer_norm_position=layer_norm_position)


@pytest.mark.parametrize("num_beams", [1, 4])
@pytest.mark.parametrize("position", POSITIONS)
def test_generate_same_tokens_with_and_without_cache(position, num_beams):
    pt.check_generate_cache_equals_no_cache(position, num_beams=num_beams)


@pytest.mark.parametrize("position", POSITIONS)
def test_decoder_is_causal(position):
    pt.check_causal_mask(position)


@pytest.mark.parametrize("position", POSITIONS)
def test_seq2seq_eager_equals_fused(position):
    pt.check_seq2seq_eager_equals_fused(position)


@pytest.mark.parametrize("position", POSITIONS)
def test_seq2seq_every_parameter_gets_gradient(position):
    pt.check_seq2seq_forward_backward(position)


@pytest.mark.parametrize("position", POSITIONS)
def test_seq2seq_save_load_through_auto_class(position):
    pt.check_seq2seq_save_load(position)


@pytest.mark.parametrize("position", WITH_BIAS)
def test_cross_attention_position_bias_option(position):
    """cross_attention_position: bias adds the encoding's content-independent term between target and
    source positions; it is recorded in the config, trained, and cache-exact."""
    model = pt.tiny_seq2seq(position, cross_attention_position="bias")
    assert model.config.cross_attention_position == "bias" and model.decoder.cross_position_encoding is not None
    pt.check_cache_equals_recompute(position, cross_attention_position="bias")
    pt.check_seq2seq_forward_backward(position, cross_attention_position="bias")
    plain = pt.tiny_seq2seq(position)
    src, mask, dec = pt.seq2seq_inputs()
    with torch.no_grad():
        diff = (model(src, mask, decoder_input_ids=dec).logits - plain(src, mask, decoder_input_ids=dec).logits).abs().max()
    assert float(diff) > 1e-3  # the option changes the function


@pytest.mark.parametrize("position", [n for n in POSITIONS if n not in WITH_BIAS])
def test_cross_attention_bias_refused_without_a_bias(position):
    with pytest.raises(posenc.OptionError, match=f"cross_attention_position 'bias' needs .*; '{position}' has none"):
        PosencSeq2SeqConfig(position=position, cross_attention_position="bias")


@pytest.mark.parametrize("position", BOUNDED)
def test_generation_longer_than_a_bounded_table_is_refused_up_front(position):
    model = pt.tiny_seq2seq(position)  # table of 64 positions
    src, mask, _ = pt.seq2seq_inputs()
    with pytest.raises(ValueError, match=f"generation may produce 65 decoder tokens .* '{position}' position table "
                                         f"has 64 positions; lower max_new_tokens"):
        model.generate(src, attention_mask=mask, max_new_tokens=64)
    with pytest.raises(ValueError, match="may produce 100 decoder tokens"):
        model.generate(src, attention_mask=mask, max_length=100, num_beams=4)
    assert model.generate(src, attention_mask=mask, max_new_tokens=3).shape == (3, 4)


def test_transformer_base_defaults_and_parameter_count():
    """Vaswani et al. (2017) transformer-base: 6+6 layers, d=512, 8 heads, FFN 2048, shared tied vocabulary."""
    cfg = PosencSeq2SeqConfig(vocab_size=37000)
    assert (cfg.encoder_layers, cfg.decoder_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size) \
        == (6, 6, 512, 8, 2048)
    assert cfg.position == {"name": "sinusoidal"} and cfg.layer_norm_position == "post"
    assert cfg.cross_attention_position == "none" and cfg.hidden_act == "relu"
    with torch.device("meta"):
        model = PosencForConditionalGeneration(cfg)
    d, f, v = 512, 2048, 37000
    attention, ffn, norm = 4 * (d * d + d), 2 * d * f + f + d, 2 * d
    expected = v * d + 6 * (attention + ffn + 2 * norm) + 6 * (2 * attention + ffn + 3 * norm)
    assert sum(p.numel() for p in model.parameters()) == expected  # tied: one v×d matrix
    assert round(expected / 1e6) == 63  # the paper's "65M" counts its own vocabulary/bias choices


def test_labels_give_cross_entropy_on_shifted_inputs():
    model = pt.tiny_seq2seq("diet_rel")
    src, mask, dec = pt.seq2seq_inputs()
    labels = dec.clone()
    labels[0, -2:] = -100
    out = model(src, mask, labels=labels)
    shifted = shift_tokens_right(labels, model.config.pad_token_id, model.config.decoder_start_token_id)
    assert shifted[:, 0].eq(model.config.decoder_start_token_id).all()
    assert torch.equal(shifted[:, 1:][labels[:, :-1] != -100], labels[:, :-1][labels[:, :-1] != -100])
    assert shifted[0, -1] == model.config.pad_token_id  # an ignored label becomes pad
    logits = model(src, mask, decoder_input_ids=shifted).logits
    keep = labels != -100
    ref = -torch.log_softmax(logits, -1)[keep].gather(-1, labels[keep][:, None]).mean()
    assert torch.allclose(out.loss, ref, atol=1e-5)
    assert out.logits.shape == (3, dec.shape[1], model.config.vocab_size)


def test_generation_config_and_encoder_api():
    cfg = PosencSeq2SeqConfig(**pt.TINY_SEQ2SEQ, position="t5", pad_token_id=0, bos_token_id=1, eos_token_id=2)
    model = PosencForConditionalGeneration(cfg).eval()
    gen = model.generation_config
    assert (gen.decoder_start_token_id, gen.eos_token_id, gen.pad_token_id) == (1, 2, 0)
    assert PosencSeq2SeqConfig(**pt.TINY_SEQ2SEQ, decoder_start_token_id=0).decoder_start_token_id == 0
    src, mask, dec = pt.seq2seq_inputs()
    with torch.no_grad():
        encoded = model.get_encoder()(src, mask)
        assert encoded.last_hidden_state.shape == (3, 7, 32)
        a = model(src, mask, decoder_input_ids=dec).logits
        b = model(attention_mask=mask, encoder_outputs=encoded, decoder_input_ids=dec).logits
    assert torch.equal(a, b)
    assert isinstance(AutoConfig.for_model("posenc_seq2seq"), PosencSeq2SeqConfig)


def test_source_left_padding_with_position_ids_matches_unpadded():
    """Source positions are true positions too: a left-padded source with position_ids decodes like
    the unpadded one."""
    model = pt.tiny_seq2seq("diet_abs")
    src, _, dec = pt.seq2seq_inputs(batch=1)
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), src], 1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones_like(src)], 1)
    with torch.no_grad():
        a = model(src, decoder_input_ids=dec).logits
        b = model(padded, mask, decoder_input_ids=dec, position_ids=(mask.cumsum(-1) - 1).clamp(min=0)).logits
    assert float((a - b).abs().max()) < 1e-4


def test_bad_seq2seq_inputs_and_configs():
    with pytest.raises(posenc.OptionError, match="layer_norm_position must be one of post, pre, got 'pst'. Did you mean 'post'"):
        PosencSeq2SeqConfig(layer_norm_position="pst")
    with pytest.raises(posenc.OptionError, match="cross_attention_position must be one of none, bias, got 'biases'"):
        PosencSeq2SeqConfig(cross_attention_position="biases")
    with pytest.raises(ValueError, match="eos_token_id 70 is outside the vocabulary 0..60"):
        PosencSeq2SeqConfig(**pt.TINY_SEQ2SEQ, eos_token_id=70)
    with pytest.raises(posenc.UnknownNameError, match="Did you mean 'diet_rel'"):
        PosencSeq2SeqConfig(position="diet_rl")
    model = pt.tiny_seq2seq("t5")
    src, mask, dec = pt.seq2seq_inputs()
    with pytest.raises(ValueError, match="decoder_attention_mask has 3 columns; it must cover the 0 cached and 6 new"):
        model(src, mask, decoder_input_ids=dec, decoder_attention_mask=torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="decoder_position_ids are not supported"):
        model(src, mask, decoder_input_ids=dec, decoder_position_ids=torch.arange(6)[None])


def test_causal_only_encoding_works_in_no_encoder_and_bidirectional_only_not_in_decoder():
    """Capabilities are enforced at config time on both sides."""
    from posenc.encodings import PositionEncoding, register_position

    @register_position("test_plugin_bidirectional_only")
    class BidirectionalOnly(PositionEncoding):
        """An encoding that has no causal form."""

        supports_causal = False
        learnable = False

    try:
        posenc.PosencConfig(position="test_plugin_bidirectional_only")  # fine in an encoder
        with pytest.raises(posenc.OptionError, match="cannot be used in the decoder .*bidirectional-only"):
            PosencSeq2SeqConfig(position="test_plugin_bidirectional_only")
    finally:
        POSITION_ENCODINGS.unregister("test_plugin_bidirectional_only")


def test_pre_layer_norm_decoder_has_final_norms():
    model = pt.tiny_seq2seq("rotary", layer_norm_position="pre")
    assert model.encoder.final_norm is not None and model.decoder.final_norm is not None
    assert all(layer.pre_norm for layer in model.decoder.layers)
    assert pt.tiny_seq2seq("rotary").decoder.final_norm is None


def test_scaled_embedding():
    model = pt.tiny_seq2seq("none", randomize=False)
    assert model.encoder.embed_scale == pytest.approx(math.sqrt(32))
    assert pt.tiny_seq2seq("none", scale_embedding=False).encoder.embed_scale == 1.0


def test_static_cache_is_refused_with_the_fix():
    """A preallocated (static) cache returns unwritten key slots that posenc would attend to."""
    model = pt.tiny_seq2seq("t5")
    src, mask, _ = pt.seq2seq_inputs(batch=2)
    with pytest.raises(ValueError, match="EncoderDecoderCache of DynamicCaches .* over StaticCache; leave cache_implementation unset"):
        model.generate(src, attention_mask=mask, max_new_tokens=4, cache_implementation="static")


@pytest.mark.parametrize("position", POSITIONS)
def test_right_padded_targets_keep_the_real_tokens_outputs(position):
    """A decoder_attention_mask that pads the end of one target row (the additive causal+padding mask
    path) leaves every real token's logits as without a mask (SDPA's is_causal path where it applies)."""
    model = pt.tiny_seq2seq(position)
    src, mask, dec = pt.seq2seq_inputs()
    dec_mask = torch.ones_like(dec)
    dec_mask[1, -2:] = 0
    with torch.no_grad():
        plain = model(src, mask, decoder_input_ids=dec).logits
        padded = model(src, mask, decoder_input_ids=dec, decoder_attention_mask=dec_mask).logits
    real = dec_mask.bool()
    assert float((plain - padded)[real].abs().max()) < 1e-5

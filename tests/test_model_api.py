"""The public model API: BERT compatibility, Auto classes, segment switching, error messages."""

import math

import pytest
import torch
from transformers import (AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification,
                          BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel)

import posenc
import posenc.testing as pt
from posenc.modeling.bert_compat import BertConversionError

BERT_SMALL = dict(vocab_size=120, hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
                  max_position_embeddings=40, type_vocab_size=2, hidden_dropout_prob=0.0,
                  attention_probs_dropout_prob=0.0)


def _inputs():
    torch.manual_seed(5)
    ids = torch.randint(1, 120, (3, 17))
    tt = torch.zeros_like(ids)
    tt[:, 9:] = 1
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    return ids, mask, tt


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_from_bert_reproduces_bertmodel(attn):
    torch.manual_seed(0)
    bert = BertModel(BertConfig(**BERT_SMALL)).eval()
    model = posenc.from_bert(bert)
    model.config._attn_implementation = attn
    assert model.config.position["name"] == "absolute" and model.config.segment["name"] == "input"
    ids, mask, tt = _inputs()
    with torch.no_grad():
        ref = bert(input_ids=ids, attention_mask=mask, token_type_ids=tt)
        out = model(ids, mask, tt)
    assert (ref.last_hidden_state - out.last_hidden_state).abs().max() < 1e-5
    assert (ref.pooler_output - out.pooler_output).abs().max() < 1e-5


def test_from_bert_masked_lm_and_classifier_heads(tmp_path):
    torch.manual_seed(1)
    ids, mask, tt = _inputs()
    mlm = BertForMaskedLM(BertConfig(**BERT_SMALL)).eval()
    ours = posenc.from_bert(mlm)
    assert isinstance(ours, posenc.PosencForMaskedLM)
    with torch.no_grad():
        assert (mlm(input_ids=ids, attention_mask=mask, token_type_ids=tt).logits - ours(ids, mask, tt).logits).abs().max() < 1e-4
    cls = BertForSequenceClassification(BertConfig(**BERT_SMALL, num_labels=3)).eval()
    ours = posenc.from_bert(cls)
    assert isinstance(ours, posenc.PosencForSequenceClassification) and ours.config.num_labels == 3
    with torch.no_grad():
        assert (cls(input_ids=ids, attention_mask=mask, token_type_ids=tt).logits - ours(ids, mask, tt).logits).abs().max() < 1e-5
    # a local checkpoint directory in the Hub's format (config.json + model.safetensors)
    cls.save_pretrained(tmp_path / "bert")
    again = posenc.from_bert(str(tmp_path / "bert"))
    with torch.no_grad():
        assert torch.allclose(again(ids, mask, tt).logits, ours(ids, mask, tt).logits)


def _v4_relative_reference(sd, cfg, ids, tt, query_term):
    """transformers v4 BERT with relative_key(_query), written out from its formulas."""
    n, h = ids.shape[1], cfg.num_attention_heads
    dh = cfg.hidden_size // h
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (cfg.hidden_size,), sd[p + ".weight"], sd[p + ".bias"], cfg.layer_norm_eps)
    lin = lambda x, p: x @ sd[p + ".weight"].T + sd[p + ".bias"]
    x = sd["embeddings.word_embeddings.weight"][ids] + sd["embeddings.token_type_embeddings.weight"][tt]
    x = ln(x, "embeddings.LayerNorm")
    pos = torch.arange(n)
    dist = pos[:, None] - pos[None, :] + cfg.max_position_embeddings - 1
    for i in range(cfg.num_hidden_layers):
        p = f"encoder.layer.{i}."
        split = lambda t: t.view(1, n, h, dh).transpose(1, 2)
        q, k, v = (split(lin(x, p + f"attention.self.{m}")) for m in ("query", "key", "value"))
        emb = sd[p + "attention.self.distance_embedding.weight"][dist]  # [L, L, d_h]
        scores = q @ k.transpose(-1, -2) + torch.einsum("bhld,lrd->bhlr", q, emb)
        if query_term:
            scores = scores + torch.einsum("bhrd,lrd->bhlr", k, emb)
        a = (scores / math.sqrt(dh)).softmax(-1) @ v
        a = lin(a.transpose(1, 2).reshape(1, n, -1), p + "attention.output.dense")
        x = ln(x + a, p + "attention.output.LayerNorm")
        f = lin(torch.nn.functional.gelu(lin(x, p + "intermediate.dense")), p + "output.dense")
        x = ln(x + f, p + "output.LayerNorm")
    return x


@pytest.mark.parametrize("kind", ["relative_key", "relative_key_query"])
def test_v4_relative_bert_checkpoints_load_into_shaw(kind):
    torch.manual_seed(2)
    cfg = BertConfig(**BERT_SMALL)
    sd = dict(BertModel(cfg, add_pooling_layer=False).state_dict())
    for i in range(cfg.num_hidden_layers):  # the tensors v4 saved for relative position types
        sd[f"encoder.layer.{i}.attention.self.distance_embedding.weight"] = torch.randn(2 * 40 - 1, 12) * 0.3
    legacy_cfg = {**cfg.to_dict(), "position_embedding_type": kind}
    model = posenc.from_bert((sd, legacy_cfg))
    assert model.config.position == {"name": "shaw", "clip": 39, "values": False, "key_query": kind == "relative_key_query"}
    ids = torch.randint(1, 120, (1, 13))
    tt = torch.zeros_like(ids)
    with torch.no_grad():
        ours = model(ids, token_type_ids=tt).last_hidden_state
    ref = _v4_relative_reference(sd, cfg, ids, tt, kind == "relative_key_query")
    assert (ours - ref).abs().max() < 1e-5


def test_from_bert_lists_unmatched_keys_and_bad_shapes():
    torch.manual_seed(0)
    bert = BertModel(BertConfig(**BERT_SMALL))
    sd = dict(bert.state_dict())
    sd["encoder.layer.0.attention.self.extra_thing.weight"] = torch.zeros(3)
    with pytest.raises(BertConversionError, match="no posenc counterpart: encoder.layer.0.attention.self.extra_thing.weight"):
        posenc.from_bert((sd, bert.config))
    sd = dict(bert.state_dict())
    sd["encoder.layer.1.intermediate.dense.weight"] = torch.zeros(5, 48)
    with pytest.raises(BertConversionError, match=r"intermediate.dense.weight has shape \(5, 48\), posenc layers.1.ffn_in.weight expects \(96, 48\)"):
        posenc.from_bert((sd, bert.config))


def test_auto_classes_and_safetensors(tmp_path):
    cfg = posenc.PosencConfig(position={"name": "diet_abs", "rank": 8}, segment="diet", num_labels=3,
                              **{**pt.TINY, "vocab_size": 50})
    model = posenc.PosencForSequenceClassification(cfg).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert AutoConfig.from_pretrained(tmp_path).position == {"name": "diet_abs", "rank": 8, "sharing": "layer", "max_length": None, "init_std": None}
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    ids = torch.randint(1, 50, (2, 9))
    assert torch.equal(model(ids).logits, loaded(ids).logits)
    assert type(AutoModel.from_pretrained(tmp_path)) is posenc.PosencModel


def test_mlm_weights_are_tied(tmp_path):
    m = posenc.PosencForMaskedLM(posenc.PosencConfig(**pt.TINY, position="t5", segment="none"))
    assert m.lm_head.decoder.weight is m.posenc.word_embeddings.weight
    m.save_pretrained(tmp_path)
    again = AutoModelForMaskedLM.from_pretrained(tmp_path)
    assert again.lm_head.decoder.weight is again.posenc.word_embeddings.weight


@pytest.mark.parametrize("new_segment", ["input", "diet"])
def test_adding_a_segment_encoding_at_finetune_keeps_the_pretrained_function(tmp_path, new_segment):
    torch.manual_seed(0)
    pre = posenc.PosencForMaskedLM(posenc.PosencConfig(**pt.TINY, position="diet_rel", segment="none")).eval()
    pre.save_pretrained(tmp_path)
    ft = AutoModelForMaskedLM.from_pretrained(tmp_path, segment=new_segment).eval()
    assert ft.config.segment["name"] == new_segment
    seg_params = dict(ft.posenc.segment_encoding.named_parameters())
    assert seg_params and all(bool((p == 0).all()) for p in seg_params.values())
    ids = torch.randint(1, 97, (2, 10))
    tt = torch.zeros_like(ids)
    tt[:, 5:] = 1
    with torch.no_grad():
        assert torch.allclose(pre(ids).logits, ft(ids, token_type_ids=tt).logits, atol=1e-6)


def test_unknown_encoding_names_close_match_and_list():
    with pytest.raises(posenc.UnknownNameError) as e:
        posenc.PosencConfig(position="diet_ab")
    msg = str(e.value)
    assert "unknown position encoding 'diet_ab'. Did you mean 'diet_abs'" in msg
    assert "Known: " + ", ".join(posenc.list_encodings()) in msg
    with pytest.raises(posenc.UnknownNameError, match="unknown segment encoding 'inputs'. Did you mean 'input'"):
        posenc.PosencConfig(segment="inputs")


def test_unknown_or_bad_option_errors():
    with pytest.raises(posenc.OptionError, match="unknown option 'rnak' for position encoding 'diet_abs'. Did you mean 'rank'\\? Valid options: rank, sharing, max_length, init_std"):
        posenc.PosencConfig(position={"name": "diet_abs", "rnak": 64})
    with pytest.raises(posenc.OptionError, match="option 'sharing': 'layers' is not one of \\['layer', 'none'\\]. Did you mean 'layer'"):
        posenc.PosencConfig(position={"name": "diet_abs", "sharing": "layers"})
    with pytest.raises(posenc.OptionError, match="option 'clip': expected an integer, got '16'"):
        posenc.PosencConfig(position={"name": "shaw", "clip": "16"})
    with pytest.raises(posenc.OptionError, match="num_buckets must be an even number >= 4, got 7"):
        posenc.PosencConfig(position={"name": "t5", "num_buckets": 7})


@pytest.mark.parametrize("position", [n for n in posenc.list_encodings()
                                      if posenc.POSITION_ENCODINGS.get(n).extrapolation == "table"])
def test_too_long_for_an_absolute_table(position):
    model = pt.tiny_model(position)
    with pytest.raises(ValueError, match=f"sequence length 65 exceeds the '{position}' table of 64 positions"):
        model(torch.ones(1, 65, dtype=torch.long))


def test_token_type_beyond_segment_table():
    model = pt.tiny_model("absolute", "input")
    ids = torch.ones(1, 6, dtype=torch.long)
    with pytest.raises(ValueError, match="token_type_ids contain segment id 2, but segment encoding 'input' has 2 segments"):
        model(ids, token_type_ids=torch.tensor([[0, 0, 1, 1, 2, 2]]))


def test_backend_without_bias_support_is_refused():
    model = pt.tiny_model("t5")
    model.config._attn_implementation = "flash_attention_2"
    with pytest.raises(ValueError, match="cannot carry posenc's additive position/segment bias \\(position 't5'\\)"):
        model(torch.ones(1, 4, dtype=torch.long))


def test_size_presets():
    assert posenc.size_preset("small") == dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, intermediate_size=2048)
    assert posenc.size_preset("base")["hidden_size"] == 768
    with pytest.raises(ValueError, match="unknown size preset 'bse'. Did you mean 'base'"):
        posenc.size_preset("bse")


def test_heads_token_classification_and_qa():
    cfg = posenc.PosencConfig(**pt.TINY, position="rotary", segment="none", num_labels=5)
    ids = torch.randint(1, 97, (2, 11))
    tok = posenc.PosencForTokenClassification(cfg)
    labels = torch.randint(0, 5, (2, 11))
    labels[:, 0] = -100
    out = tok(ids, labels=labels)
    assert out.logits.shape == (2, 11, 5) and out.loss.item() > 0
    qa = posenc.PosencForQuestionAnswering(cfg)
    out = qa(ids, start_positions=torch.tensor([2, 3]), end_positions=torch.tensor([4, 5]))
    assert out.start_logits.shape == (2, 11) and torch.isfinite(out.loss)


def test_regression_head_uses_mse():
    cfg = posenc.PosencConfig(**pt.TINY, position="absolute", segment="input", num_labels=1)
    m = posenc.PosencForSequenceClassification(cfg)
    ids = torch.randint(1, 97, (3, 8))
    y = torch.tensor([0.5, 3.0, 4.5])
    out = m(ids, labels=y)
    assert torch.allclose(out.loss, ((out.logits.squeeze(-1) - y) ** 2).mean())


def test_encoding_label():
    assert posenc.encoding_label({"name": "diet_abs", "rank": 128}, "diet") == "diet_abs(rank=128)+diet"
    assert posenc.encoding_label("absolute", "input") == "absolute+input"


def test_pre_layer_norm_encoder(tmp_path):
    """layer_norm_position: pre gives x + f(LN(x)) blocks and a final LayerNorm; post (default) is BERT's."""
    assert posenc.PosencConfig(**pt.TINY).layer_norm_position == "post"
    assert pt.tiny_model("t5").final_norm is None
    pre = pt.tiny_model("t5", layer_norm_position="pre")
    assert pre.final_norm is not None and pre.layers[0].pre_norm
    ids = torch.randint(1, 97, (2, 9))
    layer = pre.layers[0]
    x = torch.randn(2, 9, 32)
    with torch.no_grad():
        ctx = posenc.encodings.EncodingContext(2, 9, x.device, x.dtype)
        pre.encodings.prepare(ctx)
        bias = pre.encodings.static_biases(ctx, None, 2)[0]
        a, _ = layer.attention(layer.attention_norm(x), bias, 0, pre.encodings, ctx, "sdpa")
        h = x + a
        ref = h + layer.ffn_out(layer.act(layer.ffn_in(layer.ffn_norm(h))))
        ours, _ = layer(x, bias, 0, pre.encodings, ctx, "sdpa")
    assert torch.allclose(ours, ref, atol=1e-6)
    pre.save_pretrained(tmp_path)
    again = AutoModel.from_pretrained(tmp_path).eval()
    assert again.config.layer_norm_position == "pre"
    with torch.no_grad():
        assert torch.equal(again(ids).last_hidden_state, pre(ids).last_hidden_state)
    with pytest.raises(posenc.OptionError, match="layer_norm_position must be one of post, pre, got 'prenorm'"):
        posenc.PosencConfig(layer_norm_position="prenorm")

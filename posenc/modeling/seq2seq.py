"""The posenc encoder-decoder (Vaswani et al. 2017) and its generation interface.

Read top to bottom: shared embedding (×√d) → encoder [encodings' input hooks → once-per-forward
biases → N × (self-attention, FFN)] → decoder [causal positions continuing from the cache →
N × (causal self-attention with a key/value cache, cross-attention, FFN)] → tied output projection.

Positions: the encoder sees 0..Ls−1 (or ``position_ids``); the decoder's new tokens sit at
past..past+Lq−1, where past is the length of the self-attention cache, and its keys at
0..past+Lq−1. Every encoding computes with those true positions (encoding contract v2), so a
cached step and a full recompute give the same logits (``posenc.testing.check_cache_equals_recompute``).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput, BaseModelOutputWithPastAndCrossAttentions, Seq2SeqLMOutput

from ..encodings import parse_spec
from ..encodings.base import Encoding, EncodingContext
from ..encodings.stack import EncodingStack
from .attention import resolve_kernel, warn_eager_once
from .configuration_seq2seq import PosencSeq2SeqConfig
from .layers import PosencDecoderLayer, PosencLayer, has_padding, padding_mask, run_layers


def shift_tokens_right(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """Decoder inputs from labels [b, L]: [start, y₁, …, y_{L−1}], with −100 (ignored labels) → pad."""
    shifted = labels.new_zeros(labels.shape)
    shifted[:, 1:] = labels[:, :-1].clone()
    shifted[:, 0] = decoder_start_token_id
    return shifted.masked_fill(shifted == -100, pad_token_id)


class PosencSeq2SeqPreTrainedModel(PreTrainedModel):
    config: PosencSeq2SeqConfig
    config_class = PosencSeq2SeqConfig
    base_model_prefix = "posenc"
    _supports_sdpa = True
    _no_split_modules = ["PosencLayer", "PosencDecoderLayer"]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, Encoding):
            module.init_weights(self.config.initializer_range)


class _Side(nn.Module):
    """What encoder and decoder share: the scaled token embedding E[x]·s (s = √d with
    ``scale_embedding``), their own position encoding instance, the blocks, a final LayerNorm if pre-LN."""

    def __init__(self, config: PosencSeq2SeqConfig, which: str, layer_cls):
        super().__init__()
        self.config = config
        side = config.side(which)
        pos_cls, pos_opts = parse_spec("position", config.position)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.embed_scale = math.sqrt(config.hidden_size) if config.scale_embedding else 1.0
        self.position_encoding = pos_cls(side, pos_opts)
        self.embed_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(layer_cls(side) for _ in range(side.num_hidden_layers))
        pre_norm = side.layer_norm_position == "pre"
        self.final_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps) if pre_norm else None

    def tokens(self, input_ids, inputs_embeds) -> torch.Tensor:
        return (self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds) * self.embed_scale

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_norm(x) if self.final_norm is not None else x


class PosencSeq2SeqEncoder(_Side):
    """Bidirectional encoder: x = E[src]·s (+ input positions) → dropout → N encoder blocks (→ LN if pre-LN)."""

    main_input_name = "input_ids"  # read by generate()

    def __init__(self, config: PosencSeq2SeqConfig):
        super().__init__(config, "encoder", PosencLayer)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None,
                output_attentions=False, output_hidden_states=False, return_dict=None, **kwargs) -> BaseModelOutput:
        x = self.tokens(input_ids, inputs_embeds)
        b, n = x.shape[:2]
        stack = EncodingStack(self.position_encoding)
        ctx = EncodingContext(b, n, x.device, x.dtype, position_ids=position_ids, attention_mask=attention_mask)
        stack.check_positions(ctx)
        x = self.embed_dropout(stack.embed_input(x, ctx))
        stack.prepare(ctx)
        biases = stack.static_biases(ctx, padding_mask(attention_mask, x.dtype), len(self.layers))
        kernel = resolve_kernel(self.config, stack)
        warn_eager_once(self, kernel, stack)
        x, hidden, attentions, _ = run_layers(self.layers, x, biases, output_attentions, output_hidden_states,
                                              encodings=stack, ctx=ctx, kernel=kernel)
        return BaseModelOutput(last_hidden_state=self.finish(x), hidden_states=hidden, attentions=attentions)


def causal_padding_mask(ctx: EncodingContext, attention_mask: torch.Tensor | None, padded: bool, dtype):
    """Additive [b|1, 1, Lq, Lk] mask: −∞-like where the key comes after the query (by position) or is
    padding (``padded``: ``attention_mask`` masks some key); None when nothing is masked."""
    masked = None
    if ctx.seq_len > 1:
        masked = (ctx.k_positions[:, None, None, :] > ctx.q_positions[:, None, :, None])
    if padded:
        pad = (attention_mask == 0)[:, None, None, :]
        masked = pad if masked is None else masked | pad
    if masked is None:
        return None
    return torch.zeros(masked.shape, dtype=dtype, device=masked.device).masked_fill(masked, torch.finfo(dtype).min)


class PosencSeq2SeqDecoder(_Side):
    """Causal decoder with a key/value cache: x = E[tgt]·s (+ input positions at their true
    positions) → dropout → N decoder blocks (→ LN if pre-LN)."""

    def __init__(self, config: PosencSeq2SeqConfig):
        super().__init__(config, "decoder", PosencDecoderLayer)
        # cross-attention is bidirectional (every source position is visible)
        cross = config.cross_attention_position == "bias"
        pos_cls, pos_opts = parse_spec("position", config.position)
        self.cross_position_encoding = pos_cls(config.side("cross"), pos_opts) if cross else None

    def forward(self, input_ids=None, encoder_hidden_states=None, encoder_attention_mask=None, attention_mask=None,
                cache: EncoderDecoderCache | None = None, inputs_embeds=None, output_attentions=False,
                output_hidden_states=False) -> BaseModelOutputWithPastAndCrossAttentions:
        """``attention_mask`` [b, past + Lq] (1 = real decoder token) covers cached and new tokens."""
        x = self.tokens(input_ids, inputs_embeds)
        b, n = x.shape[:2]
        past = cache.get_seq_length() if cache is not None else 0
        if attention_mask is not None and attention_mask.shape[-1] != past + n:
            raise ValueError(f"decoder_attention_mask has {attention_mask.shape[-1]} columns; it must cover the "
                             f"{past} cached and {n} new decoder tokens ({past + n})")
        dev = x.device
        q_pos = torch.arange(past, past + n, device=dev)[None]
        k_pos = torch.arange(past + n, device=dev)[None]
        ctx = EncodingContext(b, n, dev, x.dtype, position_ids=q_pos, k_positions=k_pos, causal=True,
                              canonical=past == 0, attention_mask=attention_mask)
        stack = EncodingStack(self.position_encoding)
        stack.check_positions(ctx)
        x = self.embed_dropout(stack.embed_input(x, ctx))
        stack.prepare(ctx)
        padded = has_padding(attention_mask)
        mask = causal_padding_mask(ctx, attention_mask, padded, x.dtype)
        # only the causal mask and no logit term: let SDPA apply it (is_causal, its fastest kernel)
        is_causal = n > 1 and past == 0 and not padded and not stack.adds_logit_terms
        biases = stack.static_biases(ctx, None if is_causal else mask, len(self.layers))

        cross_biases = self._cross_biases(ctx, encoder_hidden_states, encoder_attention_mask, past)
        kernel = resolve_kernel(self.config, stack)
        warn_eager_once(self, kernel, stack)
        hidden = [x] if output_hidden_states else None
        self_attn, cross_attn = ([], []) if output_attentions else (None, None)
        for i, layer in enumerate(self.layers):
            x, w_self, w_cross = layer(x, biases[i], i, stack, ctx, kernel, encoder_hidden_states, cross_biases[i],
                                       need_weights=output_attentions, cache=cache, is_causal=is_causal)
            if output_hidden_states:
                hidden.append(x)
            if output_attentions:
                self_attn.append(w_self)
                cross_attn.append(w_cross)
        x = self.finish(x)
        as_tuple = lambda v: tuple(v) if v is not None else None  # noqa: E731
        return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=x, cache=cache, hidden_states=as_tuple(hidden),
                                                         attentions=as_tuple(self_attn), cross_attentions=as_tuple(cross_attn))

    def _cross_biases(self, ctx: EncodingContext, memory, memory_mask, past: int) -> list:
        pad = padding_mask(memory_mask, memory.dtype)
        if self.cross_position_encoding is None:
            return [pad] * len(self.layers)
        # target positions (queries) against source positions 0..Ls−1 (keys), bidirectional
        cross = EncodingContext(ctx.batch_size, ctx.seq_len, ctx.device, ctx.dtype, position_ids=ctx.q_positions,
                                k_positions=torch.arange(memory.shape[1], device=ctx.device)[None], canonical=past == 0)
        stack = EncodingStack(self.cross_position_encoding)
        stack.check_positions(cross)
        stack.prepare(cross)
        return stack.static_biases(cross, pad, len(self.layers))


class PosencForConditionalGeneration(PosencSeq2SeqPreTrainedModel, GenerationMixin):
    """Encoder-decoder for translation: ``forward(input_ids, attention_mask, decoder_input_ids, labels)``
    returns ``Seq2SeqLMOutput`` with the cross-entropy loss (labels −100 ignored, no label smoothing) when
    labels are given; ``generate()`` does greedy and beam search with an ``EncoderDecoderCache``."""

    _tied_weights_keys = {
        "encoder.embed_tokens.weight": "shared.weight",
        "decoder.embed_tokens.weight": "shared.weight",
        "lm_head.weight": "shared.weight",
    }

    def __init__(self, config: PosencSeq2SeqConfig):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.encoder = PosencSeq2SeqEncoder(config)
        self.decoder = PosencSeq2SeqDecoder(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.shared

    def set_input_embeddings(self, value):
        self.shared = value
        self.encoder.embed_tokens = value
        self.decoder.embed_tokens = value

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    def get_encoder(self, modality=None):
        return self.encoder

    def get_decoder(self):
        return self.decoder

    @property
    def attention_kernel(self) -> str:
        return resolve_kernel(self.config, EncodingStack(self.decoder.position_encoding))

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        encoder_outputs=None,
        cache: EncoderDecoderCache | None = None,
        use_cache: bool | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        decoder_inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool | None = None,
        **kwargs,
    ) -> Seq2SeqLMOutput:
        """input_ids/attention_mask [b, Ls]: source; decoder_input_ids [b, Lt] (default: ``labels``
        shifted right behind ``decoder_start_token_id``); labels [b, Lt] with −100 ignored.
        ``position_ids``: source positions (see :class:`~posenc.PosencModel`)."""
        cache = cache if cache is not None else kwargs.pop("past_key_values", None)
        if kwargs.get("decoder_position_ids") is not None:
            raise ValueError("decoder_position_ids are not supported: decoder positions are 0.. continuing from "
                             "the cache length; left-pad sources (with position_ids), not decoder inputs")
        if labels is not None:
            use_cache = False
            if decoder_input_ids is None and decoder_inputs_embeds is None:
                decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, position_ids, inputs_embeds,
                                           output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        elif not isinstance(encoder_outputs, BaseModelOutput):
            encoder_outputs = BaseModelOutput(*encoder_outputs)
        if use_cache and cache is None:
            cache = EncoderDecoderCache(DynamicCache(config=self.config), DynamicCache(config=self.config))
        if cache is not None:
            self._check_cache(cache)
        if not use_cache:
            cache = None
        dec = self.decoder(decoder_input_ids, encoder_outputs.last_hidden_state, attention_mask, decoder_attention_mask,
                           cache, decoder_inputs_embeds, output_attentions, output_hidden_states)
        logits = self.lm_head(dec.last_hidden_state)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        return Seq2SeqLMOutput(
            loss=loss, logits=logits, cache=dec.cache,
            decoder_hidden_states=dec.hidden_states, decoder_attentions=dec.attentions, cross_attentions=dec.cross_attentions,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state, encoder_hidden_states=encoder_outputs.hidden_states,
            encoder_attentions=encoder_outputs.attentions,
        )

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor):
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    @staticmethod
    def _check_cache(cache) -> None:
        if not isinstance(cache, EncoderDecoderCache) or cache.self_attention_cache.is_compileable:
            raise ValueError(
                f"posenc's decoder takes an EncoderDecoderCache of DynamicCaches (generate()'s default), got "
                f"{type(cache).__name__}"
                + ("" if not isinstance(cache, EncoderDecoderCache) else
                   f" over {type(cache.self_attention_cache).__name__}")
                + "; leave cache_implementation unset")

    def max_decoder_length(self, generation_config=None, decoder_input_length: int = 1, **kwargs) -> int:
        """The longest decoder sequence (start token included) ``generate`` may produce with these settings."""
        gen = copy.deepcopy(generation_config if generation_config is not None else self.generation_config)
        for key in ("max_new_tokens", "max_length"):
            if key in kwargs and kwargs[key] is not None:
                setattr(gen, key, kwargs[key])
        if gen.max_new_tokens is not None:
            return decoder_input_length + gen.max_new_tokens
        if gen.max_length is None:  # transformers' default: 20 new tokens, capped by max_position_embeddings
            return min(decoder_input_length + 20, self.config.max_position_embeddings)
        return gen.max_length

    def generate(self, inputs=None, generation_config=None, **kwargs):
        """transformers' ``generate`` (greedy, beam search, sampling; cached by default), after checking
        that the longest possible output fits a bounded decoder position table."""
        limit = self.decoder.position_encoding.max_length
        if limit is not None:
            start = kwargs.get("decoder_input_ids")
            longest = self.max_decoder_length(generation_config, 1 if start is None else start.shape[-1], **kwargs)
            if longest > limit:
                raise ValueError(
                    f"generation may produce {longest} decoder tokens (start token included), but the decoder's "
                    f"{self.config.position['name']!r} position table has {limit} positions; lower max_new_tokens / "
                    f"max_length to at most {limit} decoder tokens or build the model with max_position_embeddings "
                    f">= {longest}")
        return super().generate(inputs, generation_config=generation_config, **kwargs)


__all__ = ["PosencSeq2SeqPreTrainedModel", "PosencForConditionalGeneration", "PosencSeq2SeqConfig", "shift_tokens_right"]

"""The posenc encoder (BERT-style, post-LayerNorm) and its task heads.

Read top to bottom: embeddings → the encodings' input hooks → once-per-forward biases →
N × [attention + residual + LayerNorm, FFN + residual + LayerNorm] → heads.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

from ..encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS, normalize_spec, parse_spec
from ..encodings.base import Encoding, EncodingContext
from .attention import EAGER, FUSED, PosencSelfAttention
from .configuration import PosencConfig
from .linformer import LinformerProjection, check_attention_compatible, normalize_attention

logger = logging.getLogger(__name__)


class PosencLayer(nn.Module):
    """x = LN(x + Attn(x)); x = LN(x + W₂·act(W₁·x)) — BERT's post-LN block."""

    def __init__(self, config):
        super().__init__()
        self.attention = PosencSelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ffn_in = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACT2FN[config.hidden_act]
        self.ffn_out = nn.Linear(config.intermediate_size, config.hidden_size)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, bias, layer, position, ctx, kernel, need_weights=False, projection=None):
        a, weights = self.attention(x, bias, layer, position, ctx, kernel, need_weights, projection)
        x = self.attention_norm(x + self.dropout(a))
        x = self.ffn_norm(x + self.dropout(self.ffn_out(self.act(self.ffn_in(x)))))
        return x, weights


class PosencPreTrainedModel(PreTrainedModel):
    config: PosencConfig
    config_class = PosencConfig
    base_model_prefix = "posenc"
    _supports_sdpa = True
    _no_split_modules = ["PosencLayer"]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, Encoding):
            module.init_weights(self.config.initializer_range)
        if isinstance(module, LinformerProjection):
            module.init_weights()
        if isinstance(module, PosencMLMHead):
            from transformers import initialization as init

            init.zeros_(module.bias)


class PosencModel(PosencPreTrainedModel):
    """The encoder. ``position_encoding`` and ``segment_encoding`` are built once from the config's
    ``position`` and ``segment`` slots; the layers receive them, never a name."""

    def __init__(self, config: PosencConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        # from_pretrained(..., segment="diet") sets a plain string: validate and resolve it here
        config.position = normalize_spec("position", config.position)
        config.segment = normalize_spec("segment", config.segment)
        config.attention = normalize_attention(getattr(config, "attention", "full"))
        check_attention_compatible(config.attention, config.position, config.segment)
        pos_cls, pos_opts = parse_spec("position", config.position)
        seg_cls, seg_opts = parse_spec("segment", config.segment)
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_encoding = pos_cls(config, pos_opts)
        self.segment_encoding = seg_cls(config, seg_opts)
        self.embed_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.embed_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(PosencLayer(config) for _ in range(config.num_hidden_layers))
        linformer = config.attention["name"] == "linformer"
        self.kv_projection = LinformerProjection(config, config.attention) if linformer else None
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self._warned_eager = False
        self.post_init()

    def get_input_embeddings(self):
        return self.word_embeddings

    def set_input_embeddings(self, value):
        self.word_embeddings = value

    @property
    def attention_kernel(self) -> str:
        """``"sdpa"`` (fused) or ``"eager"``: what the attention layers will actually run."""
        requested = getattr(self.config, "_attn_implementation", None) or FUSED
        if requested not in (FUSED, EAGER):
            raise ValueError(
                f"attention implementation {requested!r} cannot carry posenc's additive position/segment "
                f"bias (position {self.config.position['name']!r}); use attn_implementation='sdpa' or 'eager'"
            )
        if requested == FUSED and self.position_encoding.eager_reason:
            return EAGER
        return requested

    def _static_biases(self, ctx: EncodingContext, pad: torch.Tensor | None) -> list[torch.Tensor | None]:
        """Per-layer sum of the content-independent terms; built once when every term is shared."""
        pos, seg = self.position_encoding, self.segment_encoding

        def build(layer):
            bias = pad
            for enc in (pos, seg):
                term = enc.layer_bias(layer, ctx) if enc.has_layer_bias else None
                if term is not None:
                    bias = term if bias is None else bias + term
            return bias

        shared = all(e.shared_across_layers or not e.has_layer_bias for e in (pos, seg))
        if shared:
            return [build(0)] * self.config.num_hidden_layers
        return [build(layer) for layer in range(self.config.num_hidden_layers)]

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPooling:
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        b, n = x.shape[:2]
        self.position_encoding.check_length(n)
        if not torch.compiler.is_compiling():  # reads ids on the host: eager only, keeps compiled graphs whole
            self.segment_encoding.check_segments(token_type_ids)
        if self.kv_projection is not None:
            self.kv_projection.check_length(n)
        if position_ids is None:
            position_ids = torch.arange(n, device=x.device)[None].expand(b, n)
        ctx = EncodingContext(
            batch_size=b, seq_len=n, device=x.device, dtype=x.dtype,
            position_ids=position_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
        )
        x = self.position_encoding.embed_input(x, ctx)
        x = self.segment_encoding.embed_input(x, ctx)
        x = self.embed_dropout(self.embed_norm(x))

        self.position_encoding.prepare(ctx)
        self.segment_encoding.prepare(ctx)
        pad = None  # with Linformer, padded keys are zeroed before the projection instead
        # An all-ones mask is dropped so SDPA runs unmasked (its fastest kernel); that check reads the
        # mask on the host, so under torch.compile the mask is always applied (one graph, no sync).
        if attention_mask is not None and self.kv_projection is None and (
                torch.compiler.is_compiling() or not bool(attention_mask.all())):
            # [b, 1, 1, L]: −∞-like on padded keys, in the model's float dtype
            pad = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        biases = self._static_biases(ctx, pad)

        kernel = self.attention_kernel
        if kernel == EAGER and self.position_encoding.eager_reason and not self._warned_eager and not torch.compiler.is_compiling():
            logger.warning("posenc: eager attention for %s: %s", self.config.position["name"], self.position_encoding.eager_reason)
            self._warned_eager = True
        hidden, attentions = ([x] if output_hidden_states else None), ([] if output_attentions else None)
        for i, layer in enumerate(self.layers):
            x, weights = layer(x, biases[i], i, self.position_encoding, ctx, kernel, output_attentions, self.kv_projection)
            if output_hidden_states:
                hidden.append(x)
            if output_attentions:
                attentions.append(weights)
        pooled = torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else None
        return BaseModelOutputWithPooling(
            last_hidden_state=x, pooler_output=pooled,
            hidden_states=tuple(hidden) if hidden is not None else None,
            attentions=tuple(attentions) if attentions is not None else None,
        )


class PosencMLMHead(nn.Module):
    """BERT's MLM head: LN(act(W·h)) · E_tokᵀ + b (decoder tied to the word embeddings)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = ACT2FN[config.hidden_act]
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, h):
        return self.decoder(self.norm(self.act(self.dense(h)))) + self.bias


class PosencForMaskedLM(PosencPreTrainedModel):
    _tied_weights_keys = {"lm_head.decoder.weight": "posenc.word_embeddings.weight"}

    def __init__(self, config):
        super().__init__(config)
        self.posenc = PosencModel(config, add_pooling_layer=False)
        self.lm_head = PosencMLMHead(config)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head.decoder

    def set_output_embeddings(self, value):
        self.lm_head.decoder = value

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, **kwargs):
        out = self.posenc(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        h = out.last_hidden_state
        loss = None
        if labels is not None:
            # only masked positions (label != -100) go through the vocabulary projection
            keep = labels != -100
            logits_masked = self.lm_head(h[keep])
            loss = F.cross_entropy(logits_masked.float(), labels[keep]) if keep.any() else h.sum() * 0.0
            logits = None if kwargs.get("skip_logits") else self.lm_head(h)
        else:
            logits = self.lm_head(h)
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class PosencForSequenceClassification(PosencPreTrainedModel):
    """[CLS] → pooler → dropout → linear. ``num_labels == 1`` or ``problem_type="regression"``: MSE."""

    def __init__(self, config):
        super().__init__(config)
        self.posenc = PosencModel(config)
        drop = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(drop)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, **kwargs):
        out = self.posenc(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None
        if labels is not None:
            problem = self.config.problem_type
            if problem is None:
                problem = "regression" if self.config.num_labels == 1 else (
                    "single_label_classification" if labels.dtype in (torch.long, torch.int) else "multi_label_classification")
            if problem == "regression":
                loss = F.mse_loss(logits.squeeze(-1).float(), labels.float().view(-1))
            elif problem == "single_label_classification":
                loss = F.cross_entropy(logits.float().view(-1, self.config.num_labels), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits.float(), labels.float())
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class PosencForTokenClassification(PosencPreTrainedModel):
    """Per-token linear classifier (NER, POS); label −100 is ignored."""

    def __init__(self, config):
        super().__init__(config)
        self.posenc = PosencModel(config, add_pooling_layer=False)
        drop = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(drop)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False, **kwargs):
        out = self.posenc(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.float().view(-1, self.config.num_labels), labels.view(-1), ignore_index=-100)
        return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class PosencForQuestionAnswering(PosencPreTrainedModel):
    """Extractive QA: a linear layer gives start and end logits per token (SQuAD-style)."""

    def __init__(self, config):
        super().__init__(config)
        self.posenc = PosencModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, start_positions=None, end_positions=None,
                output_attentions=False, output_hidden_states=False, **kwargs):
        out = self.posenc(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        start, end = self.qa_outputs(out.last_hidden_state).split(1, dim=-1)
        start, end = start.squeeze(-1).contiguous(), end.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            n = start.shape[1]
            s, e = start_positions.clamp(0, n), end_positions.clamp(0, n)  # out-of-span answers are ignored
            loss = (F.cross_entropy(start.float(), s, ignore_index=n) + F.cross_entropy(end.float(), e, ignore_index=n)) / 2
        return QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end,
                                            hidden_states=out.hidden_states, attentions=out.attentions)


__all__ = [
    "PosencPreTrainedModel", "PosencModel", "PosencForMaskedLM", "PosencForSequenceClassification",
    "PosencForTokenClassification", "PosencForQuestionAnswering", "POSITION_ENCODINGS", "SEGMENT_ENCODINGS",
]

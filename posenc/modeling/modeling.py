"""The posenc encoder (BERT-style, post-LayerNorm by default) and its task heads.

Read top to bottom: embeddings → the encodings' input hooks → once-per-forward biases →
N × [attention + residual + LayerNorm, FFN + residual + LayerNorm] → heads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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

from ..encodings import POSITION_ENCODINGS, SEGMENT_ENCODINGS, check_supports, normalize_spec, parse_spec, randomization
from ..encodings.randomized import PositionSampler
from ..encodings.base import Encoding, EncodingContext
from ..encodings.stack import EncodingStack
from .attention import resolve_kernel, warn_eager_once
from .configuration import PosencConfig
from .layers import PosencLayer, check_layer_norm_position, padding_mask, run_layers
from .linformer import LinformerProjection, check_attention_compatible, normalize_attention

logger = logging.getLogger(__name__)


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
        config.layer_norm_position = check_layer_norm_position(getattr(config, "layer_norm_position", "post"))
        check_attention_compatible(config.attention, config.position, config.segment)
        check_supports("position", config.position, causal=False, where="an encoder (bidirectional attention)")
        pos_cls, pos_opts = parse_spec("position", config.position)
        seg_cls, seg_opts = parse_spec("segment", config.segment)
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_encoding = pos_cls(config, pos_opts)
        self.segment_encoding = seg_cls(config, seg_opts)
        randomized = randomization(config.position)  # Ruoss et al. (2023); None: positions 0..n−1
        self.position_sampler = PositionSampler(randomized, self.position_encoding) if randomized else None
        self.embed_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.embed_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(PosencLayer(config) for _ in range(config.num_hidden_layers))
        pre_norm = config.layer_norm_position == "pre"
        self.final_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps) if pre_norm else None
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
    def encodings(self) -> EncodingStack:
        """The position then segment encoding, behind one hook interface."""
        return EncodingStack(self.position_encoding, self.segment_encoding)

    @property
    def attention_kernel(self) -> str:
        """``"sdpa"`` (fused) or ``"eager"``: what the attention layers will actually run."""
        return resolve_kernel(self.config, self.encodings)

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
        """``position_ids`` [b, L]: true positions of the tokens (e.g. 0 at the first real token of a
        left-padded row); default 0..L−1, the fast path."""
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        b, n = x.shape[:2]
        encodings = self.encodings
        if self.position_sampler is not None:  # randomized positions: sampled in training (and by default at eval)
            position_ids = self.position_sampler(b, n, position_ids, x.device, self.training)
        # position_ids given: the general (gather) path, unless they are plain 0..L−1 (one host read, eager only)
        ctx = EncodingContext(
            batch_size=b, seq_len=n, device=x.device, dtype=x.dtype,
            position_ids=position_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
        )
        encodings.check_positions(ctx)
        if not torch.compiler.is_compiling():  # reads ids on the host: eager only, keeps compiled graphs whole
            self.segment_encoding.check_segments(token_type_ids)
        if self.kv_projection is not None:
            self.kv_projection.check_length(n)
        x = encodings.embed_input(x, ctx)
        x = self.embed_dropout(self.embed_norm(x))

        encodings.prepare(ctx)
        # with Linformer, padded keys are zeroed before the projection instead of masked
        pad = padding_mask(attention_mask, x.dtype) if self.kv_projection is None else None
        biases = encodings.static_biases(ctx, pad, self.config.num_hidden_layers)

        kernel = self.attention_kernel
        warn_eager_once(self, kernel, encodings)
        x, hidden, attentions, _ = run_layers(self.layers, x, biases, output_attentions, output_hidden_states,
                                              encodings=encodings, ctx=ctx, kernel=kernel, projection=self.kv_projection)
        if self.final_norm is not None:
            x = self.final_norm(x)
        pooled = torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else None
        return BaseModelOutputWithPooling(last_hidden_state=x, pooler_output=pooled, hidden_states=hidden, attentions=attentions)


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


@dataclass
class PosencMaskedLMOutput(MaskedLMOutput):
    """``MaskedLMOutput`` plus ``masked_logits`` [n, V]: the logits of the n labelled tokens, in the
    row-major order of ``labels != -100`` (row r belongs to example ``(labels != -100).nonzero()[r, 0]``)."""

    masked_logits: torch.FloatTensor | None = None


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
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_logits: bool | None = None, **kwargs) -> PosencMaskedLMOutput:
        """Masked-LM forward.

        ``labels`` [b, L] (−100: not predicted): ``loss`` is the mean cross-entropy over the labelled
        tokens, and only those go through the vocabulary projection (``masked_logits`` [n, V]) —
        in pre-training ~15% of the tokens, so the [b·L, d] × [d, V] product shrinks ~7×.
        ``return_logits``: also project every token (``logits`` [b, L, V]); default (None): only
        when no ``labels`` are given. Pass True to get full logits together with the loss.
        """
        out = self.posenc(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                          output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        h = out.last_hidden_state
        loss = masked = None
        if labels is not None:
            keep = labels != -100
            masked = self.lm_head(h[keep])  # [n, V]
            loss = F.cross_entropy(masked.float(), labels[keep]) if masked.shape[0] else h.sum() * 0.0
        full = return_logits if return_logits is not None else labels is None
        logits = self.lm_head(h) if full else None
        return PosencMaskedLMOutput(loss=loss, logits=logits, masked_logits=masked, hidden_states=out.hidden_states,
                                    attentions=out.attentions)


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
    "PosencPreTrainedModel", "PosencModel", "PosencForMaskedLM", "PosencMaskedLMOutput", "PosencForSequenceClassification",
    "PosencForTokenClassification", "PosencForQuestionAnswering", "POSITION_ENCODINGS", "SEGMENT_ENCODINGS",
]

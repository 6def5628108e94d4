"""The posenc model family (a transformers ``PreTrainedModel`` family)."""

from .configuration import SIZE_PRESETS, PosencConfig, size_preset
from .configuration_seq2seq import PosencSeq2SeqConfig
from .modeling import (
    PosencForMaskedLM,
    PosencForQuestionAnswering,
    PosencForSequenceClassification,
    PosencForTokenClassification,
    PosencModel,
    PosencPreTrainedModel,
)
from .seq2seq import PosencForConditionalGeneration, PosencSeq2SeqPreTrainedModel

__all__ = [
    "PosencConfig", "size_preset", "SIZE_PRESETS", "PosencPreTrainedModel", "PosencModel", "PosencForMaskedLM",
    "PosencForSequenceClassification", "PosencForTokenClassification", "PosencForQuestionAnswering",
    "PosencSeq2SeqConfig", "PosencSeq2SeqPreTrainedModel", "PosencForConditionalGeneration",
]

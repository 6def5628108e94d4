"""The posenc model family (a transformers ``PreTrainedModel`` family)."""

from .configuration import SIZE_PRESETS, PosencConfig, size_preset
from .modeling import (
    PosencForMaskedLM,
    PosencForQuestionAnswering,
    PosencForSequenceClassification,
    PosencForTokenClassification,
    PosencModel,
    PosencPreTrainedModel,
)

__all__ = [
    "PosencConfig", "size_preset", "SIZE_PRESETS", "PosencPreTrainedModel", "PosencModel", "PosencForMaskedLM",
    "PosencForSequenceClassification", "PosencForTokenClassification", "PosencForQuestionAnswering",
]

"""posenc: compare position and segment encodings in Transformer encoders.

    import posenc
    posenc.list_encodings("diet*")          # ['diet_abs', 'diet_rel']
    cfg = posenc.PosencConfig(position={"name": "diet_abs", "rank": 128}, segment="diet", **posenc.size_preset("base"))
    model = posenc.PosencForMaskedLM(cfg)
    mt = posenc.PosencForConditionalGeneration(posenc.PosencSeq2SeqConfig(position="diet_rel", vocab_size=8000))

Importing posenc registers the model family with transformers' Auto classes, so
``AutoModel.from_pretrained(saved_dir)`` works without ``trust_remote_code``.
"""

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForQuestionAnswering,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)

from .encodings import (
    POSITION_ENCODINGS,
    SEGMENT_ENCODINGS,
    PositionEncoding,
    SegmentEncoding,
    encoding_label,
    list_encodings,
    list_segment_encodings,
    register_position,
    register_segment,
)
from .modeling import (
    PosencConfig,
    PosencForConditionalGeneration,
    PosencForMaskedLM,
    PosencForQuestionAnswering,
    PosencForSequenceClassification,
    PosencForTokenClassification,
    PosencModel,
    PosencPreTrainedModel,
    PosencSeq2SeqConfig,
    size_preset,
)
from .modeling.bert_compat import from_bert
from .options import OptionError
from .registry import Registry, UnknownNameError

__version__ = "0.1.0"

# Registration with transformers is the one import-time side effect: without it, a fresh process
# cannot load a saved posenc model through the Auto classes (docs/training.md, "Pitfalls of the stack").
AutoConfig.register(PosencConfig.model_type, PosencConfig, exist_ok=True)
AutoModel.register(PosencConfig, PosencModel, exist_ok=True)
AutoModelForMaskedLM.register(PosencConfig, PosencForMaskedLM, exist_ok=True)
AutoModelForSequenceClassification.register(PosencConfig, PosencForSequenceClassification, exist_ok=True)
AutoModelForTokenClassification.register(PosencConfig, PosencForTokenClassification, exist_ok=True)
AutoModelForQuestionAnswering.register(PosencConfig, PosencForQuestionAnswering, exist_ok=True)
AutoConfig.register(PosencSeq2SeqConfig.model_type, PosencSeq2SeqConfig, exist_ok=True)
AutoModelForSeq2SeqLM.register(PosencSeq2SeqConfig, PosencForConditionalGeneration, exist_ok=True)

__all__ = [
    "PosencConfig", "PosencModel", "PosencForMaskedLM", "PosencForSequenceClassification",
    "PosencForTokenClassification", "PosencForQuestionAnswering", "PosencPreTrainedModel", "size_preset",
    "list_encodings", "list_segment_encodings", "register_position", "register_segment", "PositionEncoding",
    "SegmentEncoding", "POSITION_ENCODINGS", "SEGMENT_ENCODINGS", "encoding_label", "from_bert",
    "OptionError", "Registry", "UnknownNameError", "PosencSeq2SeqConfig", "PosencForConditionalGeneration",
]

"""The ``kind: translate`` experiment config: an encoder-decoder trained from scratch on a
translation task (:mod:`posenc.training.translate`).

    kind: translate
    task: multi30k_en_de            # a translation task (posenc list tasks) or a task YAML
    model: {preset: tiny, position: diet_rel, layer_norm_position: post, cross_attention_position: none}
    tokenizer: {train: sentencepiece, vocab_size: 8000, lowercase: false}   # one vocabulary, both sides
    train: {max_steps: 3000, max_tokens: 4096, lr: 7e-4, warmup_steps: 400, label_smoothing: 0.1,
            schedule: inverse_sqrt, average_checkpoints: 0}
    generate: {num_beams: 4, length_penalty: 1.0}      # overrides of the task's decoding options
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

from .config import DataSection, TokenizerSection, TrainSection, _f
from .schema import FieldProblem

# Sizes of the encoder-decoder presets (``model.preset``). base is transformer-base and big
# transformer-big (Vaswani et al. 2017, Table 3); tiny and small are for CPUs and tests.
SEQ2SEQ_PRESETS = {
    "tiny": dict(hidden_size=128, encoder_layers=2, decoder_layers=2, num_attention_heads=4, intermediate_size=512),
    "small": dict(hidden_size=256, encoder_layers=3, decoder_layers=3, num_attention_heads=4, intermediate_size=1024),
    "base": dict(hidden_size=512, encoder_layers=6, decoder_layers=6, num_attention_heads=8, intermediate_size=2048),
    "big": dict(hidden_size=1024, encoder_layers=6, decoder_layers=6, num_attention_heads=16, intermediate_size=4096,
                hidden_dropout_prob=0.3),
}
SIZE_KEYS = ("hidden_size", "encoder_layers", "decoder_layers", "num_attention_heads", "intermediate_size",
             "max_position_embeddings", "hidden_dropout_prob", "attention_probs_dropout_prob")


@dataclass
class Seq2SeqModelSection:
    """The encoder-decoder (:class:`posenc.PosencSeq2SeqConfig`): a size preset, overrides of any
    size field, the position encoding both sides use, and the architecture switches."""

    preset: Literal["tiny", "small", "base", "big"] | None = _f("base", "size preset: tiny (2+2 layers, 128 wide), small (3+3, 256), base = transformer-base (6+6, 512, 8 heads, FFN 2048), big = transformer-big")
    position: Union[str, dict] = _f("sinusoidal", "position encoding of encoder and decoder self-attention: a name or {name: ..., **options}")
    cross_attention_position: Literal["none", "bias"] = _f("none", "none (Vaswani et al.; the default) or bias: the encoding's content-independent bias between target and source positions")
    layer_norm_position: Literal["post", "pre"] = _f("post", "post-LN (the paper's era) or pre-LN")
    hidden_size: int | None = _f(None, "overrides the preset")
    encoder_layers: int | None = _f(None, "overrides the preset")
    decoder_layers: int | None = _f(None, "overrides the preset")
    num_attention_heads: int | None = _f(None, "overrides the preset")
    intermediate_size: int | None = _f(None, "overrides the preset")
    max_position_embeddings: int | None = _f(None, "rows of absolute position tables (default 1024)")
    hidden_dropout_prob: float | None = _f(None, "dropout (default 0.1)")
    attention_probs_dropout_prob: float | None = _f(None, "attention dropout (default 0.0)")
    attn_implementation: Literal["sdpa", "eager"] = _f("sdpa", "attention kernel")
    config: dict = _f({}, "any other PosencSeq2SeqConfig field, e.g. {scale_embedding: false}")

    def config_kwargs(self) -> dict:
        """Preset sizes, then overrides and the switches (PosencSeq2SeqConfig kwargs)."""
        kw = dict(SEQ2SEQ_PRESETS[self.preset]) if self.preset else {}
        kw.update({k: getattr(self, k) for k in SIZE_KEYS if getattr(self, k) is not None})
        kw.update(position=self.position, cross_attention_position=self.cross_attention_position,
                  layer_norm_position=self.layer_norm_position)
        kw.update(self.config)
        return kw

    def validate(self):
        if isinstance(self.position, dict) and "name" not in self.position:
            raise FieldProblem("position", "a mapping needs a 'name' key, e.g. {name: t5, num_buckets: 32}")


@dataclass
class TranslateTrainSection(TrainSection):
    """The Transformer recipe (Vaswani et al. 2017, §5.3–5.4): Adam β2 0.98, inverse-square-root
    warm-up, label smoothing 0.1, batches by token count; plus checkpoint averaging."""

    lr: float = _f(7e-4, "peak learning rate (Vaswani et al.: d^-0.5 · warmup^-0.5 = 7e-4 for d=512, 4000 steps)")
    warmup_ratio: float = _f(0.0, "fraction of steps with linear warm-up (ignored if warmup_steps is set)")
    warmup_steps: int | None = _f(4000, "linear warm-up steps")
    weight_decay: float = _f(0.0, "AdamW weight decay (0: plain Adam, as the Transformer)")
    adam_beta2: float = _f(0.98, "")
    adam_eps: float = _f(1e-9, "")
    max_grad_norm: float | None = _f(None, "gradient clipping; null = off (the Transformer recipe)")
    schedule: Literal["inverse_sqrt", "linear"] = _f("inverse_sqrt", "after warm-up: lr·sqrt(warmup/step) (the Transformer) or linear decay to 0")
    label_smoothing: float = _f(0.1, "label smoothing ε of the cross-entropy (Szegedy et al. 2016; 0.1 in the Transformer)")
    max_tokens: int | None = _f(None, "batches by token count: at most this many padded source or target tokens per micro-batch, pairs of similar length together; null = batch_size sentences")
    accumulate: int = _f(1, "with max_tokens: micro-batches per optimizer step (gradient accumulation)")
    average_checkpoints: int = _f(0, "average the weights of the last N checkpoints (the final weights and N−1 saved ones) and score that model too; 0 = off")

    def validate(self):
        super().validate()
        if not 0.0 <= self.label_smoothing < 1.0:
            raise FieldProblem("label_smoothing", f"must be in [0, 1), got {self.label_smoothing}")
        if self.max_tokens is not None and self.max_tokens < 16:
            raise FieldProblem("max_tokens", f"must be ≥ 16, got {self.max_tokens}")
        if self.accumulate < 1:
            raise FieldProblem("accumulate", f"must be ≥ 1, got {self.accumulate}")
        if self.accumulate > 1 and self.max_tokens is None:
            raise FieldProblem("accumulate", "accumulate counts token batches (max_tokens); with sentence batches use "
                                             "batch_size / per_device_batch_size")
        if self.average_checkpoints < 0 or self.average_checkpoints == 1:
            raise FieldProblem("average_checkpoints", f"must be 0 (off) or ≥ 2, got {self.average_checkpoints}")
        if self.average_checkpoints and self.keep_checkpoints < self.average_checkpoints - 1:
            raise FieldProblem("keep_checkpoints", f"average_checkpoints {self.average_checkpoints} needs the last "
                                                   f"{self.average_checkpoints - 1} checkpoints: set keep_checkpoints ≥ "
                                                   f"{self.average_checkpoints - 1}")


@dataclass
class TranslateTokenizerSection(TokenizerSection):
    """One SentencePiece vocabulary for both sides, cased (BLEU is scored on cased text)."""

    train: Literal["wordpiece", "sentencepiece"] | None = _f("sentencepiece", "train a SentencePiece unigram model on both sides of the training split (or wordpiece)")
    lowercase: bool = _f(False, "lowercase the text (BLEU is cased: keep false)")


@dataclass
class GenerateSection:
    """Decoding for the scores, overriding the task's options (null = the task's value)."""

    num_beams: int | None = _f(None, "beam size of the final scores (task default 4; the paper: 10)")
    length_penalty: float | None = _f(None, "α of transformers' beam score log p(Y)/|Y|^α (the paper: 0.6 in GNMT's ((5+|Y|)/6)^α, which transformers does not implement)")
    max_target_length: int | None = _f(None, "longest target (pieces, </s> included): training pairs beyond it are dropped, generation stops there")
    decode_length_ratio: float | None = _f(None, "generate at most ratio·|source| + extra new tokens")
    decode_length_extra: int | None = _f(None, "see decode_length_ratio")
    select_num_beams: int = _f(1, "beam size of the validation BLEU that selects checkpoints during training (1 = greedy, num_beams× cheaper); the final scores use num_beams")

    def overrides(self) -> dict:
        keys = ("num_beams", "length_penalty", "max_target_length", "decode_length_ratio", "decode_length_extra")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}

    def validate(self):
        for k in ("num_beams", "select_num_beams"):
            if getattr(self, k) is not None and getattr(self, k) < 1:
                raise FieldProblem(k, f"must be ≥ 1, got {getattr(self, k)}")


@dataclass
class TranslateConfig:
    """Train an encoder-decoder from scratch on one translation task and score it with sacreBLEU."""

    kind: Literal["translate"]
    task: str = _f("multi30k_en_de", "a translation task (posenc list tasks) or a path to a task YAML")
    name: str = _f("", "run name; empty = <task>-<encoding>-s<seed>")
    description: str = _f("", "free text")
    output_dir: str = _f("runs", "parent directory of run directories (and of the shared tokenizers/)")
    seed: int = _f(1, "seeds model init, data order and dropout")
    data: DataSection = field(default_factory=DataSection)
    model: Seq2SeqModelSection = field(default_factory=Seq2SeqModelSection)
    tokenizer: TranslateTokenizerSection = field(default_factory=TranslateTokenizerSection)
    train: TranslateTrainSection = field(default_factory=TranslateTrainSection)
    generate: GenerateSection = field(default_factory=GenerateSection)

    def validate(self):
        if (self.train.max_steps is None) == (self.train.num_epochs is None):
            raise FieldProblem("train.num_epochs", "give exactly one of train.max_steps / train.num_epochs")
        if not (self.tokenizer.train or self.tokenizer.load):
            raise FieldProblem("tokenizer", "a translation run needs `tokenizer.train: sentencepiece` (trained on both "
                                            "sides of the task's training split) or `tokenizer.load: <path>`")
        if self.data.source == "local" and not self.data.dir:
            raise FieldProblem("data.dir", "source: local needs data.dir")

    # ---- checks that need the registries (posenc.training.checks calls this)
    def config_problems(self, at, inputs: bool) -> None:
        """Task kind, encoding, model fields, lengths against bounded position tables."""
        from .checks import _local_source

        if inputs:
            _local_source(self.tokenizer.load, "tokenizer.load", "tokenizer_config.json", at)
        spec = self._task(at, inputs)
        model_cfg = self._model_config(at)
        if spec is not None and model_cfg is not None:
            self._lengths(spec, model_cfg, at)

    def task_spec(self):
        """The task with this config's decoding overrides applied to its options."""
        import dataclasses

        from posenc.tasks import get_task

        spec = get_task(self.task)
        overrides = self.generate.overrides()
        if not overrides or not dataclasses.is_dataclass(spec.options):  # another kind: _task says so
            return spec
        return dataclasses.replace(spec, options=dataclasses.replace(spec.options, **overrides))

    def _task(self, at, inputs: bool):
        from pathlib import Path

        try:
            spec = self.task_spec()
        except (ValueError, KeyError, OSError) as e:
            at("task", str(e))
            return None
        if spec.kind != "translation":
            at("task", f"task {spec.name!r} is a {spec.kind} task; `kind: translate` trains translation tasks "
                       f"(posenc list tasks), fine-tune it with `kind: finetune`")
            return None
        if inputs and self.data.source == "local" and self.data.dir and not Path(self.data.dir).is_dir():
            at("data.dir", f"{self.data.dir}: no such directory (relative paths are taken from {Path.cwd()})")
        return spec

    def _model_config(self, at):
        import posenc

        from ..options import OptionError
        from ..registry import UnknownNameError

        try:
            return posenc.PosencSeq2SeqConfig(vocab_size=8, **self.model.config_kwargs())
        except (OptionError, UnknownNameError) as e:
            key = "model.cross_attention_position" if "cross_attention" in str(e) else "model.position"
            at(key, str(e))
        except (ValueError, TypeError) as e:
            at("model", str(e))
        return None

    def _lengths(self, spec, model_cfg, at) -> None:
        """Source (max_length) and decoder (start token + max_target_length) lengths against the
        tables the built model has: the decoder refuses longer generation only mid-run otherwise."""
        import copy

        import torch

        import posenc

        small = copy.deepcopy(model_cfg)
        small.encoder_layers = small.decoder_layers = 1
        with torch.device("meta"):
            model = posenc.PosencForConditionalGeneration(small)
        kind = spec.task_kind
        name = model_cfg.position["name"]
        enc_limit = model.encoder.position_encoding.max_length
        dec_limit = model.decoder.position_encoding.max_length
        if enc_limit is not None and spec.max_length > enc_limit:
            at("model.max_position_embeddings", f"task {spec.name!r} feeds sources of up to max_length {spec.max_length} "
                                                 f"pieces, but the encoder's {name!r} table holds {enc_limit} positions; "
                                                 f"raise model.max_position_embeddings to ≥ {spec.max_length}")
        longest = kind.max_target_length(spec) + 1  # the decoder start token, then at most max_target_length tokens
        if dec_limit is not None and longest > dec_limit:
            at("generate.max_target_length",
               f"generation may run to {longest} decoder positions (start token + max_target_length "
               f"{kind.max_target_length(spec)}), but the decoder's {name!r} table holds {dec_limit}; lower "
               f"generate.max_target_length to ≤ {dec_limit - 1} or raise model.max_position_embeddings to ≥ {longest}")

"""Translation: an encoder-decoder trained from scratch on parallel text, scored by BLEU and chrF
(WMT; Chen et al. 2021, §4.3 and Table 4).

Examples: ``source``, ``target`` (one segment each, detokenised text as released) and ``idx``. The
task's ``train_language`` is its direction, ``en-de``: source language, then target language.
Source and target share one SentencePiece vocabulary (train it on both sides: :meth:`texts`
yields both). Model inputs: ``input_ids`` = source pieces + ``</s>``; ``labels`` = target pieces
+ ``</s>`` (the decoder input is the labels shifted right behind the start token). The tokenizer's
``[SEP]`` is ``</s>`` and ``[CLS]`` the decoder start token, so a BERT-style posenc tokenizer serves.

Predictions come from ``generate()`` (beam ``num_beams``, ``length_penalty`` α as transformers
defines it: a finished hypothesis scores log p(Y) / |Y|^α — not GNMT's ((5 + |Y|)/6)^α of Wu et
al. 2016, §7, which Tensor2Tensor uses), at most ``decode_length_ratio``·|x| +
``decode_length_extra`` new tokens, capped at ``max_target_length``. They are decoded to text
and scored with sacreBLEU (Post 2018) against the references as released: BLEU (tokenizer chosen
by the target language unless ``bleu_tokenize`` says otherwise) and chrF, both on sacreBLEU's 0–100
scale; :meth:`signatures` gives the strings to publish with them. Trivial baseline: copy the
source (BLEU of the untranslated input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from posenc.metrics import METRICS, Metric

from ..files import TaskDataError
from .base import TaskKind, register_kind

SAMPLE_FOR_UNKNOWN_RATE = 500  # examples whose pieces are counted for the unknown-token check


@dataclass(frozen=True)
class TranslationOptions:
    max_target_length: int | None = field(default=None, metadata={
        "help": "longest target in pieces (</s> included): longer training pairs are dropped, and generation stops "
                "there; null = max_length"})
    num_beams: int = field(default=4, metadata={"help": "beam size at evaluation (1 = greedy)"})
    length_penalty: float = field(default=1.0, metadata={
        "help": "α of transformers' beam score log p(Y)/|Y|^α (not GNMT's ((5+|Y|)/6)^α)"})
    decode_length_ratio: float = field(default=1.5, metadata={"help": "generate at most ratio·|source| + extra tokens"})
    decode_length_extra: int = field(default=10, metadata={"help": "see decode_length_ratio"})
    bleu_tokenize: str | None = field(default=None, metadata={
        "help": "sacreBLEU tokenizer (13a, intl, zh, ja-mecab, ...); null = sacreBLEU's default for the target language"})
    max_unknown_rate: float = field(default=0.02, metadata={
        "help": "refuse a side whose text the tokenizer maps to [UNK] more often than this (a language it never saw)"})


def directions(spec) -> tuple[str, str]:
    """(source language, target language) from the task's direction ``train_language: en-de``."""
    parts = spec.train_language.split("-")
    return parts[0], parts[-1]


@register_kind
class Translation(TaskKind):
    name = "translation"
    baseline_name = "copy source"
    description = "source → target text with an encoder-decoder (WMT, Multi30k); sacreBLEU BLEU and chrF"
    auto_model = "AutoModelForSeq2SeqLM"
    Options = TranslationOptions

    # ---- the spec
    def validate(self, spec, fail) -> None:
        self.refuse_fields(spec, fail, ("text_fields", "label_names"), "examples are source and target segments")
        parts = spec.train_language.split("-")
        if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
            fail("train_language", f"a translation task's train_language is its direction, source-target such as "
                                   f"'en-de'; got {spec.train_language!r}")
        o = spec.options
        if o.num_beams < 1:
            fail("num_beams", f"num_beams must be ≥ 1, got {o.num_beams}")
        if o.max_target_length is not None and o.max_target_length < 2:
            fail("max_target_length", f"max_target_length must be ≥ 2 (a piece and </s>), got {o.max_target_length}")
        if not 0.0 < o.max_unknown_rate <= 1.0:
            fail("max_unknown_rate", f"max_unknown_rate must be in (0, 1], got {o.max_unknown_rate}")
        if o.bleu_tokenize is not None:
            from sacrebleu.metrics.bleu import _TOKENIZERS

            if o.bleu_tokenize not in _TOKENIZERS:
                from posenc.registry import did_you_mean

                fail("bleu_tokenize", f"unknown sacreBLEU tokenizer {o.bleu_tokenize!r}."
                                      f"{did_you_mean(o.bleu_tokenize, list(_TOKENIZERS))} Known: {', '.join(_TOKENIZERS)}")

    def max_target_length(self, spec) -> int:
        return spec.options.max_target_length or spec.max_length

    # ---- examples
    def features(self, spec):
        import datasets

        return datasets.Features({"source": datasets.Value("string"), "target": datasets.Value("string"),
                                  "idx": datasets.Value("int64")})

    def from_rows(self, spec, ds, where: str, *, labelled: bool = True):
        """Rows with ``source``, ``target`` (and ``idx``) columns, from the ``parallel`` reader or a
        WMT hub adapter."""
        missing = [c for c in ("source", "target") if c not in ds.column_names]
        if missing:
            raise TaskDataError(f"{where}: translation rows need columns source and target; has {ds.column_names}")
        if "idx" not in ds.column_names:
            ds = ds.add_column("idx", list(range(len(ds))))
        if len(ds) == 0:
            raise TaskDataError(f"{where}: no segment pairs")
        return ds.select_columns(["source", "target", "idx"]).cast(self.features(spec))

    def reader_options(self, spec, *, labelled: bool) -> dict:
        src, tgt = directions(spec)
        return {"source_language": src, "target_language": tgt}

    def texts(self, spec, ds):
        """Both sides (one shared vocabulary)."""
        yield from ds["source"]
        yield from ds["target"]

    # ---- model inputs
    def special_ids(self, tokenizer) -> tuple[int, int, int]:
        """(pad, decoder start, end of sequence): ``[PAD]``, ``[CLS]`` (or bos), ``[SEP]`` (or eos)."""
        start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        eos = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        if tokenizer.pad_token_id is None or start is None or eos is None:
            raise ValueError(f"a translation tokenizer needs pad, a start ([CLS] or bos) and an end ([SEP] or eos) "
                             f"token; {type(tokenizer).__name__} has pad={tokenizer.pad_token}, "
                             f"start={tokenizer.cls_token or tokenizer.bos_token}, end={tokenizer.sep_token or tokenizer.eos_token}")
        return tokenizer.pad_token_id, start, eos

    def model_kwargs_for(self, tokenizer) -> dict:
        """The special-token fields of :class:`posenc.PosencSeq2SeqConfig` for ``tokenizer``."""
        pad, start, eos = self.special_ids(tokenizer)
        return {"vocab_size": len(tokenizer), "pad_token_id": pad, "bos_token_id": start, "eos_token_id": eos,
                "decoder_start_token_id": start}

    def check_unknown_rate(self, spec, ds, tokenizer) -> dict[str, float]:
        """Fraction of pieces that are ``[UNK]`` on each side (first examples); a side above
        ``max_unknown_rate`` is a language the tokenizer never saw: refuse it, naming the fix."""
        unk = tokenizer.unk_token_id
        if unk is None or len(ds) == 0:
            return {}
        rows = ds.select(range(min(SAMPLE_FOR_UNKNOWN_RATE, len(ds))))
        rates = {}
        for side, lang in zip(("source", "target"), directions(spec)):
            ids = tokenizer(list(rows[side]), add_special_tokens=False)["input_ids"]
            total = sum(len(x) for x in ids)
            rates[side] = sum(x.count(unk) for x in ids) / max(total, 1)
            if rates[side] > spec.options.max_unknown_rate:
                raise ValueError(
                    f"task {spec.name!r}: the tokenizer maps {100 * rates[side]:.1f}% of the {side} side ({lang}) to "
                    f"{tokenizer.unk_token} (limit max_unknown_rate {spec.options.max_unknown_rate:g}); it was not "
                    f"trained on {lang} text. Train one on this task (tokenizer.train: sentencepiece) or load a "
                    "tokenizer that covers both languages")
        return rates

    def encoder(self, spec, ds, tokenizer, max_length: int, *, training: bool):
        import datasets

        missing = [c for c in ("source", "target") if c not in ds.column_names]
        if missing:
            raise ValueError(f"split lacks column(s) {missing}; load it with posenc.tasks.load_task")
        _, _, eos = self.special_ids(tokenizer)
        self.check_unknown_rate(spec, ds, tokenizer)
        max_target = self.max_target_length(spec)

        def encode(batch, indices):
            src = tokenizer(batch["source"], add_special_tokens=False)["input_ids"]
            tgt = tokenizer(batch["target"], add_special_tokens=False)["input_ids"]
            out = {"input_ids": [], "attention_mask": [], "labels": [], "example": []}
            for i, s, t in zip(indices, src, tgt):
                if training and (len(s) + 1 > max_length or len(t) + 1 > max_target):
                    continue  # fairseq's --skip-invalid-size-inputs-valid-test: a cut target teaches early </s>
                s = s[:max_length - 1] + [eos]
                out["input_ids"].append(s)
                out["attention_mask"].append([1] * len(s))
                out["labels"].append(t[:max_target - 1] + [eos])
                out["example"].append(i)
            return out

        features = datasets.Features({"input_ids": datasets.Sequence(datasets.Value("int32")),
                                      "attention_mask": datasets.Sequence(datasets.Value("int8")),
                                      "labels": datasets.Sequence(datasets.Value("int32")),
                                      "example": datasets.Value("int64")})
        return encode, features

    def model_columns(self, spec, *, training: bool, labelled: bool = True) -> list[str]:
        return ["input_ids", "attention_mask"] + (["labels"] if labelled else [])

    def collator(self, tokenizer):
        from transformers import DataCollatorForSeq2Seq

        return DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)

    # ---- evaluation
    def generation_kwargs(self, spec, source_length: int) -> dict:
        """``generate()`` arguments for a batch whose longest source has ``source_length`` pieces."""
        o = spec.options
        budget = int(o.decode_length_ratio * source_length) + o.decode_length_extra
        out = {"num_beams": o.num_beams, "max_new_tokens": max(1, min(budget, self.max_target_length(spec)))}
        if o.num_beams > 1:  # stop a sentence's search once num_beams hypotheses are finished
            out.update(length_penalty=o.length_penalty, early_stopping=True)
        return out

    def predict_batch(self, spec, model, batch, extra: dict):
        """Teacher-forced loss on the references (when labelled) and the generated pieces."""
        inner = getattr(model, "module", model)
        loss = model(**batch, **extra).loss if "labels" in batch else None
        kwargs = self.generation_kwargs(spec, int(batch["attention_mask"].sum(-1).max()))
        generated = inner.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **kwargs)
        return SimpleNamespace(loss=loss, generated=generated)

    def outputs(self, spec, out, batch) -> dict:
        return {"generated": out.generated}

    def predictions(self, spec, examples, features, outputs):
        raise NotImplementedError("translation predictions are decoded text: call hypotheses(..., tokenizer) "
                                  "(posenc.training.translate evaluates translation tasks)")

    def hypotheses(self, spec, examples, features, outputs, tokenizer) -> list[str]:
        """Detokenised hypotheses, one per example, from the generated pieces of each feature."""
        texts = tokenizer.batch_decode([list(map(int, x)) for x in outputs["generated"]], skip_special_tokens=True)
        hyps = [""] * len(examples)
        for ex, text in zip(features["example"], texts):
            hyps[ex] = text.strip()
        return hyps

    def references(self, spec, examples):
        return list(examples["target"])

    def score(self, spec, predictions, references, *, language=None) -> dict[str, float]:
        """sacreBLEU corpus BLEU and chrF (0–100) of detokenised ``predictions`` against one
        reference per segment."""
        hyps, refs = [str(p) for p in predictions], [str(r) for r in references]
        if len(hyps) != len(refs):
            raise ValueError(f"task {spec.name!r}: {len(hyps)} hypotheses for {len(refs)} references")
        if not refs:
            raise ValueError("cannot compute BLEU on zero segments")
        target = directions(spec)[1]
        return {m: float(sacrebleu_metric(m, target, spec.options.bleu_tokenize).corpus_score(hyps, [refs]).score)
                for m in spec.metrics}

    def signatures(self, spec) -> dict[str, str]:
        """sacreBLEU's signature of each metric (publish it with the score)."""
        target = directions(spec)[1]
        out = {}
        for m in spec.metrics:
            metric = sacrebleu_metric(m, target, spec.options.bleu_tokenize)
            metric.corpus_score(["."], [["."]])  # the signature names the number of references: one
            out[m] = str(metric.get_signature())
        return out

    def baseline(self, spec, train, examples, *, language=None):
        """Copy the source: the BLEU/chrF of not translating at all."""
        return self.score(spec, list(examples["source"]), self.references(spec, examples))

    def format_prediction(self, spec, prediction) -> str:
        return str(prediction)


def sacrebleu_metric(name: str, target_language: str | None = None, tokenize: str | None = None):
    """The sacreBLEU metric object behind ``name``: ``bleu`` (tokenizer ``tokenize``, or sacreBLEU's
    choice for ``target_language``: zh, ja-mecab, ko-mecab, else 13a) or ``chrf``."""
    from sacrebleu.metrics import BLEU, CHRF

    if name == "bleu":
        return BLEU(tokenize=tokenize, trg_lang=target_language or "")
    if name == "chrf":
        return CHRF()
    raise ValueError(f"no sacreBLEU metric {name!r} (bleu, chrf)")


def _register_metric(name: str, help: str) -> None:
    def fn(predictions, references) -> float:
        return float(sacrebleu_metric(name).corpus_score([str(p) for p in predictions],
                                                          [[str(r) for r in references]]).score)

    if name not in METRICS.names():
        METRICS.register(name, Metric(name, fn, "translation", True, help, (), vector=False))


_register_metric("bleu", "sacreBLEU corpus BLEU (0–100, tokenizer 13a) of detokenised text, one reference per segment")
_register_metric("chrf", "sacreBLEU chrF (0–100): character n-gram F-score of detokenised text")

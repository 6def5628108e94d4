"""Tokenizers: train WordPiece (``tokenizers``) or a SentencePiece unigram or BPE model
(``sentencepiece``) from text, or load any tokenizer by name/path.

Both trained kinds come back as a transformers fast tokenizer with BERT's special tokens
(``[PAD] [UNK] [CLS] [SEP] [MASK]``), pair template ``[CLS] A [SEP] B [SEP]`` and
``token_type_ids``, so ``save_pretrained(run_dir)`` + ``AutoTokenizer.from_pretrained(run_dir)``
round-trips. The SentencePiece model is converted to a ``tokenizers`` Unigram model with its
exact pieces and scores, or to a BPE model with its pieces and merges in SentencePiece's merge
order (transformers' spm classes silently ignore ``vocab_file`` in v5, see docs/training.md); the
original ``spiece.model`` is saved beside it for reference.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
INPUT_NAMES = ["input_ids", "token_type_ids", "attention_mask"]


def _bert_template(tok: Tokenizer) -> processors.TemplateProcessing:
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    return processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )


def _wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_input_names=INPUT_NAMES,
    )


def train_wordpiece(texts: Iterable[str], vocab_size: int, lowercase: bool = True) -> PreTrainedTokenizerFast:
    """BERT-style WordPiece (BertNormalizer + BertPreTokenizer, ``##`` continuations)."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase or None)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # The trainer breaks count ties in hash order, so ids (and, on exact ties, a few tokens) vary
    # between trainings. Re-number deterministically: specials, then the rest sorted. Full
    # reproducibility comes from the tokenizer saved in every run dir (reuse it with tokenizer.load).
    vocab = tok.get_vocab()
    ordered = SPECIALS + sorted(t for t in vocab if t not in SPECIALS)
    tok.model = models.WordPiece({t: i for i, t in enumerate(ordered)}, unk_token="[UNK]")
    tok.post_processor = _bert_template(tok)
    return _wrap(tok)


def train_sentencepiece(texts: Iterable[str], vocab_size: int, lowercase: bool = False,
                        save_model_to: str | Path | None = None, model_type: str = "unigram") -> PreTrainedTokenizerFast:
    """SentencePiece ``unigram`` (Kudo, 2018) or ``bpe`` (Sennrich et al., 2016) for multilingual
    text and translation, converted to a fast tokenizer that splits exactly as SentencePiece does.

    ``hard_vocab_limit=False`` lets a small corpus yield fewer pieces instead of failing;
    ``character_coverage=0.9995`` (SentencePiece's advice for large character sets such as CJK)
    leaves the rarest characters to ``[UNK]``.
    """
    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "spiece")
        spm.SentencePieceTrainer.train(
            # one sentence per paragraph line: spm silently skips "sentences" over max_sentence_length
            sentence_iterator=(ln for t in texts for ln in t.split("\n") if ln.strip()), model_prefix=prefix,
            vocab_size=vocab_size, model_type=model_type, hard_vocab_limit=False,
            pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, pad_piece="[PAD]", unk_piece="[UNK]",
            control_symbols=["[CLS]", "[SEP]", "[MASK]"], character_coverage=0.9995,
            max_sentence_length=1 << 16,
            normalization_rule_name="nmt_nfkc_cf" if lowercase else "nmt_nfkc",
            num_threads=os.cpu_count() or 1, minloglevel=2,
        )
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
        if save_model_to is not None:
            Path(save_model_to).mkdir(parents=True, exist_ok=True)
            Path(save_model_to, "spiece.model").write_bytes(Path(prefix + ".model").read_bytes())
    if model_type == "bpe":
        from transformers.convert_slow_tokenizer import generate_merges

        ids = {piece: i for i, (piece, _) in enumerate(vocab)}
        # SentencePiece BPE numbers pieces in merge order: sorting merges by the merged piece's id
        # replays them in the trainer's order
        merges = generate_merges(ids, skip_tokens=SPECIALS)
        tok = Tokenizer(models.BPE(ids, merges, unk_token="[UNK]", fuse_unk=True, byte_fallback=False))
    else:
        tok = Tokenizer(models.Unigram(vocab, unk_id=1, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(_spm_normalizer() + ([normalizers.Lowercase()] if lowercase else []))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.post_processor = _bert_template(tok)
    return _wrap(tok)


def _spm_normalizer() -> list:
    """SentencePiece's ``nmt_nfkc`` rule as ``tokenizers`` normalizers: NFKC; zero-width space,
    zero-width non-joiner and BOM become spaces; other control and direction marks vanish; runs of
    whitespace collapse to one space and the ends are stripped. On real text the converted
    tokenizer then gives SentencePiece's ids, except where NFKC reorders combining marks (Arabic
    harakat) and where two segmentations score exactly the same."""
    return [normalizers.NFKC(),
            normalizers.Replace(Regex(r"[\x{200b}\x{200c}\x{feff}]"), " "),
            normalizers.Replace(Regex(r"[\x00-\x08\x0e-\x1f\x7f\x{200e}\x{200f}]"), ""),
            normalizers.Replace(Regex(r"\s+"), " "),
            normalizers.Strip()]


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """Any tokenizer ``AutoTokenizer`` can load (a run dir, its best/ dir, a hub id)."""
    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as e:
        raise OSError(f"cannot load tokenizer {name_or_path!r}: {e}. Give a directory holding "
                      "tokenizer.json/tokenizer_config.json, or a hub id (needs network; "
                      "HF_HUB_OFFLINE=1 forbids it)") from None


def build_tokenizer(kind: str, texts: Iterator[str] | Iterable[str], vocab_size: int, lowercase: bool,
                    save_model_to: str | Path | None = None, model_type: str = "unigram") -> PreTrainedTokenizerFast:
    """Train a tokenizer of ``kind`` (``wordpiece`` | ``sentencepiece`` with ``model_type``
    ``unigram`` | ``bpe``)."""
    if kind == "wordpiece":
        return train_wordpiece(texts, vocab_size, lowercase)
    if kind == "sentencepiece":
        return train_sentencepiece(texts, vocab_size, lowercase, save_model_to, model_type)
    raise ValueError(f"unknown tokenizer kind {kind!r}; use wordpiece or sentencepiece")


def check_for_mlm(tok: PreTrainedTokenizerBase, where: str) -> None:
    """Fail early, naming the missing special token, instead of deep inside the collator."""
    missing = [t for t in ("mask_token", "pad_token") if getattr(tok, t) is None]
    if tok.cls_token is None and tok.bos_token is None:
        missing.append("cls_token (or bos_token)")
    if tok.sep_token is None and tok.eos_token is None:
        missing.append("sep_token (or eos_token)")
    if missing:
        raise ValueError(f"{where}: the tokenizer has no {', '.join(missing)}; masked-LM pre-training needs them")

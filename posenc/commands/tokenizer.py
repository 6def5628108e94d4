"""``posenc tokenizer OUT_DIR FILES...``: train a WordPiece or SentencePiece (unigram / BPE) tokenizer."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "tokenizer", help="train a tokenizer from text files (AutoTokenizer.from_pretrained(OUT_DIR) loads it)",
        description="Train a WordPiece (tokenizers) or SentencePiece unigram/BPE (sentencepiece; multilingual, "
                    "translation) tokenizer with BERT special tokens and segment ids. Files: plain text or .gz "
                    "(one line per paragraph), .jsonl (--text-field), or 'posenc:corpus/inaugural.txt.gz' "
                    "for a bundled corpus. Example: posenc tokenizer runs/tok posenc:corpus/inaugural.txt.gz "
                    "--kind wordpiece --vocab-size 8000")
    p.add_argument("out_dir", help="directory to save the tokenizer in")
    p.add_argument("files", nargs="+", help="training text files or globs")
    p.add_argument("--kind", choices=["wordpiece", "sentencepiece"], default="wordpiece")
    p.add_argument("--model-type", choices=["unigram", "bpe"], default="unigram", help="SentencePiece model type")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--cased", action="store_true", help="keep case (default: lowercase)")
    p.add_argument("--text-field", default="text", help="field of .jsonl rows holding the text")
    p.add_argument("--max-lines", type=int, default=None, help="train on N evenly spaced lines only")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..training.config import CorpusSection
    from ..training.corpus import iter_texts, load_text
    from ..training.tokenizer import build_tokenizer

    try:
        text = load_text(CorpusSection(files=args.files, text_field=args.text_field))
    except (FileNotFoundError, KeyError) as e:
        print(f"posenc tokenizer: {e}", file=sys.stderr)
        return 2
    tok = build_tokenizer(args.kind, iter_texts(text, args.max_lines), args.vocab_size, not args.cased,
                          save_model_to=args.out_dir, model_type=args.model_type)
    tok.save_pretrained(args.out_dir)
    print(f"{args.kind} tokenizer with {len(tok)} tokens saved to {args.out_dir}")
    return 0

"""Pre-training corpus → tokenised, packed MLM blocks, cached through ``datasets``.

Packing follows RoBERTa's FULL-SENTENCES: the token stream of consecutive lines is cut into
blocks of ``seq_len - 2`` tokens, each wrapped as ``[CLS] ... [SEP]``; a ``[SEP]`` marks every
document boundary (a blank line in text files, a row in .jsonl / hub data). No NSP, no padding.
"""

from __future__ import annotations

import glob
import hashlib
from importlib import resources
from pathlib import Path
from typing import Iterator

import datasets

from .config import CorpusSection

BUNDLED_PREFIX = "posenc:"
PACK_VERSION = "pack-v1"  # bump when packing changes, so old cached blocks are not reused


def bundled_path(rel: str) -> Path:
    """Path of a file shipped in ``posenc/resources``."""
    return Path(str(resources.files("posenc.resources").joinpath(rel)))


def resolve_files(patterns: list[str]) -> list[Path]:
    """Expand globs and the ``posenc:`` prefix; an unmatched pattern is an error, not a skip."""
    out: list[Path] = []
    for pat in patterns:
        if pat.startswith(BUNDLED_PREFIX):
            p = bundled_path(pat[len(BUNDLED_PREFIX):])
            if not p.exists():
                have = sorted(str(q.relative_to(bundled_path(""))) for q in bundled_path("corpus").glob("*.gz"))
                raise FileNotFoundError(f"no bundled file {pat!r}; bundled corpora: {', '.join('posenc:' + h for h in have)}")
            out.append(p)
            continue
        matches = sorted(glob.glob(pat, recursive=True))
        if not matches:
            raise FileNotFoundError(f"corpus file {pat!r} matches nothing (relative paths are taken from {Path.cwd()})")
        out += [Path(m) for m in matches]
    return out


def _is_json(p: Path) -> bool:
    return p.name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz"))


def load_text(corpus: CorpusSection) -> datasets.Dataset:
    """A Dataset with one ``text`` column; in text files each line is a row (blank = doc end)."""
    if corpus.hub:
        ds = datasets.load_dataset(corpus.hub, corpus.hub_config, split=corpus.split, cache_dir=corpus.cache_dir)
        if corpus.text_field not in ds.column_names:
            raise KeyError(f"corpus.text_field {corpus.text_field!r} is not a column of {corpus.hub}: {ds.column_names}")
        ds = ds.select_columns([corpus.text_field]).rename_column(corpus.text_field, "text") \
            if corpus.text_field != "text" else ds.select_columns(["text"])
    else:
        files = resolve_files(corpus.files)
        parts = []
        for p in files:
            if _is_json(p):
                d = datasets.load_dataset("json", data_files=str(p), split="train", cache_dir=corpus.cache_dir)
                if corpus.text_field not in d.column_names:
                    raise KeyError(f"{p}: no field {corpus.text_field!r} (has {d.column_names}); set corpus.text_field")
                d = d.select_columns([corpus.text_field])
                if corpus.text_field != "text":
                    d = d.rename_column(corpus.text_field, "text")
                # a jsonl row is a document: end it with an empty line (= boundary)
                d = datasets.Dataset.from_dict({"text": [t for x in d["text"] for t in (x, "")]})
            else:
                d = datasets.load_dataset("text", data_files=str(p), split="train", cache_dir=corpus.cache_dir)
            parts.append(d)
        ds = datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    if corpus.max_lines is not None:
        ds = ds.select(range(min(corpus.max_lines, len(ds))))
    return ds


def iter_texts(ds: datasets.Dataset, max_lines: int | None = None) -> Iterator[str]:
    """Non-empty lines of a text Dataset (for tokenizer training)."""
    n = len(ds) if max_lines is None else min(max_lines, len(ds))
    for start in range(0, n, 10_000):
        for t in ds[start:min(n, start + 10_000)]["text"]:
            if t and t.strip():
                yield t


def _special_ids(tokenizer) -> tuple[int, int]:
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return cls, sep


def pack_blocks(ds: datasets.Dataset, tokenizer, seq_len: int) -> datasets.Dataset:
    """Tokenise and pack into ``input_ids`` blocks of exactly ``seq_len`` tokens (cached)."""
    cls, sep = _special_ids(tokenizer)
    body = seq_len - 2

    def pack(batch):
        enc = tokenizer(batch["text"], add_special_tokens=False)["input_ids"]
        stream: list[int] = []
        for text, ids in zip(batch["text"], enc):
            if not text.strip():
                if stream and stream[-1] != sep:
                    stream.append(sep)
            else:
                stream.extend(ids)
        blocks = [[cls] + stream[i:i + body] + [sep] for i in range(0, len(stream) - body + 1, body)]
        return {"input_ids": blocks}

    # An explicit fingerprint: hashing a tokenizer object is fragile, and a random fingerprint
    # would silently disable the cache.
    tok_state = tokenizer.backend_tokenizer.to_str() if hasattr(tokenizer, "backend_tokenizer") else repr(tokenizer)
    fp = hashlib.sha256("|".join([ds._fingerprint, tok_state, str(seq_len), str(cls), str(sep), PACK_VERSION])
                        .encode()).hexdigest()[:32]
    return ds.map(pack, batched=True, batch_size=2000, remove_columns=ds.column_names,
                  new_fingerprint=fp, desc="tokenise + pack")


def split_blocks(blocks: datasets.Dataset, eval_fraction: float, max_eval: int | None, seed: int):
    """(train, eval) held-out split of packed blocks, each with an ``idx`` column (masking seeds)."""
    n_eval = max(1, int(round(len(blocks) * eval_fraction)))
    if max_eval is not None:
        n_eval = min(n_eval, max_eval)
    if len(blocks) - n_eval < 1:
        raise ValueError(f"the corpus gives only {len(blocks)} blocks; add text or lower mlm.seq_len")
    parts = blocks.train_test_split(test_size=n_eval, seed=seed, shuffle=True)
    train, ev = parts["train"], parts["test"]
    train = train.add_column("idx", list(range(len(train))))
    ev = ev.add_column("idx", list(range(len(ev))))
    return train, ev

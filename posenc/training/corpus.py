"""Pre-training corpus → tokenised, packed MLM blocks, cached through ``datasets``.

Packing follows RoBERTa's FULL-SENTENCES: the token stream of consecutive lines is cut into
blocks of ``seq_len - 2`` tokens, each wrapped as ``[CLS] ... [SEP]``; a ``[SEP]`` marks every
document boundary (a blank line in text files, a row in .jsonl / hub data). No NSP, no padding.

A multilingual corpus is rebalanced by exponential smoothing (Conneau & Lample, 2019, §3.1):
language l with n_l non-empty lines receives q_l = n_l^α / Σ_k n_k^α of the N = Σ_k n_k lines,
so α < 1 up-samples small languages (whole documents repeated) and down-samples large ones (a
seeded subset of documents). Languages follow each other in the text, a blank line (document
boundary) between them, so packed blocks stay single-language.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import math
import random
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


def _bundled_corpora() -> list[str]:
    root = bundled_path("corpus")
    files = sorted(f"posenc:corpus/{q.name}" for q in root.glob("*.gz"))
    folders = sorted(f"posenc:corpus/{d.name}/*.gz ({len(list(d.glob('*.gz')))} files)"
                     for d in root.iterdir() if d.is_dir() and any(d.glob("*.gz")))
    return files + folders


def resolve_files(patterns: list[str]) -> list[Path]:
    """Expand globs and the ``posenc:`` prefix; an unmatched pattern is an error, not a skip."""
    out: list[Path] = []
    for pat in patterns:
        if pat.startswith(BUNDLED_PREFIX):
            rel = pat[len(BUNDLED_PREFIX):]
            matches = sorted(bundled_path("").glob(rel)) if glob.has_magic(rel) else [bundled_path(rel)]
            if not matches or not matches[0].exists():
                raise FileNotFoundError(f"no bundled file {pat!r}; bundled corpora: {', '.join(_bundled_corpora())}")
            out += matches
            continue
        matches = sorted(glob.glob(pat, recursive=True))
        if not matches:
            raise FileNotFoundError(f"corpus file {pat!r} matches nothing (relative paths are taken from {Path.cwd()})")
        out += [Path(m) for m in matches]
    return out


def _is_json(p: Path) -> bool:
    return p.name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz"))


def language_files(patterns: str | list[str]) -> list[str]:
    """The file patterns of one ``corpus.languages`` entry (a string or a list)."""
    return [patterns] if isinstance(patterns, str) else list(patterns)


def load_text(corpus: CorpusSection, seed: int = 0) -> datasets.Dataset:
    """A Dataset with one ``text`` column; in text files each line is a row (blank = doc end).

    Multilingual corpora come back rebalanced (:func:`rebalance_languages`, ``corpus.sampling_alpha``)."""
    if corpus.languages:
        # resolve every language's files before reading any: a missing file stops the run at once
        files = {}
        for lang, pats in sorted(corpus.languages.items()):
            try:
                files[lang] = resolve_files(language_files(pats))
            except FileNotFoundError as e:
                raise FileNotFoundError(f"corpus.languages.{lang}: {e}") from None
        parts = {lang: _read_files(paths, corpus) for lang, paths in files.items()}
        if corpus.max_lines is not None:
            parts = {lang: d.select(range(min(corpus.max_lines, len(d)))) for lang, d in parts.items()}
        return rebalance_languages(parts, corpus.sampling_alpha, seed)
    if corpus.hub:
        ds = datasets.load_dataset(corpus.hub, corpus.hub_config, split=corpus.split, cache_dir=corpus.cache_dir)
        if corpus.text_field not in ds.column_names:
            raise KeyError(f"corpus.text_field {corpus.text_field!r} is not a column of {corpus.hub}: {ds.column_names}")
        if corpus.language_field:
            return _rebalance_hub(ds, corpus, seed)
        ds = ds.select_columns([corpus.text_field]).rename_column(corpus.text_field, "text") \
            if corpus.text_field != "text" else ds.select_columns(["text"])
    else:
        ds = _read_files(resolve_files(corpus.files), corpus)
    if corpus.max_lines is not None:
        ds = ds.select(range(min(corpus.max_lines, len(ds))))
    return ds


def _read_files(files: list[Path], corpus: CorpusSection) -> datasets.Dataset:
    """Text files (a row per line) and .jsonl files (a row per document, then a blank row), in order."""
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
    return datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def language_probabilities(counts: dict[str, int], alpha: float) -> dict[str, float]:
    """Sampling shares q_l = n_l^α / Σ_k n_k^α (= p_l^α / Σ_k p_k^α with p_l = n_l / N)."""
    weights = {lang: float(n) ** alpha for lang, n in counts.items()}
    total = sum(weights.values())
    return {lang: w / total for lang, w in weights.items()}


def _documents(ds: datasets.Dataset) -> tuple[list[list[int]], int]:
    """Row indices of each document (its lines and the blank line ending it) and the number of
    non-empty lines. A text without blank lines has one document per line (FLORES, Tatoeba)."""
    texts = [t for start in range(0, len(ds), 10_000) for t in ds[start:start + 10_000]["text"]]
    blank = [not (t and t.strip()) for t in texts]
    lines = len(blank) - sum(blank)
    if not any(blank):
        return [[i] for i in range(len(texts))], lines
    docs, current = [], []
    for i, is_blank in enumerate(blank):
        current.append(i)
        if is_blank:
            if len(current) > 1:
                docs.append(current)
            current = []
    if any(not blank[i] for i in current):
        docs.append(current)
    return docs, lines


def rebalance_languages(parts: dict[str, datasets.Dataset], alpha: float, seed: int = 0) -> datasets.Dataset:
    """Concatenate per-language text so that language l holds q_l·N of the N lines.

    With r_l = q_l·N / n_l, every document of l appears ⌊r_l⌋ times, plus a seeded sample of
    round((r_l − ⌊r_l⌋)·D_l) of its D_l documents (in their original order): α = 1 gives the
    corpus back unchanged. Deterministic in ``seed`` (and cached by ``datasets`` fingerprints).
    """
    plan, counts, pieces = {}, {}, []
    for lang, ds in parts.items():
        plan[lang] = _documents(ds)
        counts[lang] = plan[lang][1]
        if counts[lang] == 0:
            raise ValueError(f"corpus language {lang!r} has no text")
    shares = language_probabilities(counts, alpha)
    total = sum(counts.values())
    blank = datasets.Dataset.from_dict({"text": [""]})
    for lang in sorted(parts):
        docs, n = plan[lang]
        ratio = shares[lang] * total / n
        whole = math.floor(ratio)
        extra = round((ratio - whole) * len(docs))
        rng = random.Random(f"{seed}:{lang}")
        chosen = sorted(rng.sample(range(len(docs)), extra))
        rows = [i for _ in range(whole) for d in docs for i in d] + [i for k in chosen for i in docs[k]]
        logging.getLogger(__name__).info("corpus language %s: %d lines, share %.3f, ×%.2f", lang, n, shares[lang], ratio)
        if rows:
            pieces += [parts[lang].select_columns(["text"]).select(rows), blank]
    return datasets.concatenate_datasets(pieces[:-1])


def _rebalance_hub(ds: datasets.Dataset, corpus: CorpusSection, seed: int) -> datasets.Dataset:
    """A hub corpus with a language column: split by language, then :func:`rebalance_languages`."""
    if corpus.language_field not in ds.column_names:
        raise KeyError(f"corpus.language_field {corpus.language_field!r} is not a column of {corpus.hub}: "
                       f"{ds.column_names}")
    ds = ds.select_columns([corpus.text_field, corpus.language_field])
    if corpus.text_field != "text":
        ds = ds.rename_column(corpus.text_field, "text")
    rows: dict[str, list[int]] = {}
    for i, lang in enumerate(ds[corpus.language_field]):
        rows.setdefault(str(lang), []).append(i)
    cap = corpus.max_lines if corpus.max_lines is not None else None
    return rebalance_languages({lang: ds.select(idx[:cap]) for lang, idx in rows.items()}, corpus.sampling_alpha, seed)


def iter_texts(ds: datasets.Dataset, max_lines: int | None = None) -> Iterator[str]:
    """Non-empty lines of a text Dataset (for tokenizer training). With ``max_lines`` below the
    corpus size, evenly spaced lines (row ⌊i·n/max_lines⌋), so every part of the corpus — every
    language of a multilingual one — is represented in its share."""
    rows = range(len(ds)) if max_lines is None or max_lines >= len(ds) else \
        [i * len(ds) // max_lines for i in range(max_lines)]
    for start in range(0, len(rows), 10_000):
        chunk = rows[start:start + 10_000]
        texts = ds[chunk.start:chunk.stop]["text"] if isinstance(chunk, range) else ds.select(chunk)["text"]
        for t in texts:
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

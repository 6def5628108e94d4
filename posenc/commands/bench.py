"""``posenc bench``: step time and peak memory of every encoding vs. BERT and the HF peers.

Times a training step (forward + backward + AdamW) and inference (forward, no_grad) for each
model × batch size × sequence length on this machine, in interleaved rounds after warm-up, and
writes bench.md (overhead table like the paper's Table 1 + details), bench.csv and bench.png
(time and memory vs length). Example, the paper's BERT_SMALL at lengths 128 and 512::

    posenc bench --shape small --lengths 128,512 --out bench-small
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to an argparse ``subparsers`` object."""
    from ..bench.cases import DEFAULT_ENCODINGS, DEFAULT_PEERS
    from ..bench.shapes import SHAPES

    p = subparsers.add_parser("bench", help="time and memory of each encoding vs. BERT and HF peers",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="small", choices=list(SHAPES),
                   help="model size preset: small = the paper's BERT_SMALL, base = BERT_BASE (default small)")
    p.add_argument("--encodings", nargs="+", default=list(DEFAULT_ENCODINGS), metavar="SPEC",
                   help="posenc models: NAME, NAME(key=value,...) or NAME@linformer(k=32); 'all' = every "
                        f"registered encoding (default: {' '.join(DEFAULT_ENCODINGS)})")
    p.add_argument("--peers", type=_names, default=None,
                   help=f"HF models to compare, comma-separated, '' for none (default {','.join(DEFAULT_PEERS)}; "
                        f"none with --head mlm)")
    p.add_argument("--head", default="encoder", choices=["encoder", "mlm"],
                   help="encoder: time the base model (default); mlm: time PosencForMaskedLM's pre-training step "
                        "(15%% of the tokens labelled, its own loss)")
    p.add_argument("--mlm-logits", type=_names, default=["masked"],
                   help="with --head mlm: 'masked' (only labelled tokens projected onto the vocabulary), 'all' "
                        "(every token, as before), or 'masked,all' to compare both in one run")
    p.add_argument("--linformer", type=int, default=0, metavar="K",
                   help="also run absolute and diet_abs with Linformer attention projected to length K")
    p.add_argument("--segment", default="input", help="segment encoding of the posenc models (default input, as BERT)")
    p.add_argument("--lengths", type=_ints, default=None, help="sequence lengths, e.g. 128,512,1024 (default: the shape's)")
    p.add_argument("--vocab-size", type=int, default=None,
                   help="vocabulary of every model (default: the shape's; e.g. 4000 for the quickstart's tokenizer)")
    p.add_argument("--batch-sizes", type=_ints, default=None, help="batch sizes, e.g. 8,32 (default: the shape's)")
    p.add_argument("--modes", type=_names, default=["train", "infer"], help="train,infer (default both)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 … (default: cuda if available)")
    p.add_argument("--dtype", default="float32", help="float32 or bf16 (autocast; weights stay float32)")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds per measurement; the median is reported (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls before timing (default 2)")
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"], help="posenc attention kernel to request")
    p.add_argument("--compile", action="store_true", help="torch.compile every model (full graph where it traces as one)")
    p.add_argument("--compile-backend", default="inductor", help="torch.compile backend (default inductor)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass (the plot then has time panels only)")
    p.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                   help="wall time (default) or process CPU time; on a shared machine, --clock cpu --threads 1 "
                        "ignores the time other processes hold the cores")
    p.add_argument("--profile", action="store_true",
                   help="also profile one call per measurement and write the top operators to profile.md")
    p.add_argument("--max-seconds", type=float, default=60.0,
                   help="skip longer lengths of a model once one call takes longer than this (default 60)")
    p.add_argument("--sequential", action="store_true",
                   help="build and time one model at a time (less memory; ratios more exposed to load drift)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="output directory (default bench-results)")
    p.add_argument("--seq2seq", action="store_true",
                   help="encoder-decoder mode (posenc.bench.seq2seq): training step vs HF MarianMTModel of the same size, "
                        "and generation tokens/s with and without the cache; --shape small|base (or --seq2seq-preset)")
    p.add_argument("--seq2seq-preset", default=None, choices=["tiny", "small", "base", "big"],
                   help="encoder-decoder size for --seq2seq (default: --shape)")
    p.add_argument("--new-tokens", type=int, default=64, help="--seq2seq: tokens generated per source (default 64)")
    p.add_argument("--generate-encodings", nargs="+", default=None, metavar="NAME",
                   help="--seq2seq: the posenc models whose generation is timed (default: every one of --encodings; "
                        "uncached beam search is the slow part)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the tables, write bench.md/.csv/.png; returns the exit code."""
    import torch

    if args.seq2seq:
        from ..bench.seq2seq import run as run_seq2seq

        return run_seq2seq(args)
    from ..bench.cases import DEFAULT_PEERS, parse_case
    from ..bench.report import add_ratios, detail_table, overhead_table, plot, write_csv
    from ..bench.run import BenchConfig, load_average, run_bench
    from ..bench.shapes import get_shape
    from ..encodings import list_encodings

    if args.threads:
        torch.set_num_threads(args.threads)
    encodings = list_encodings() if args.encodings == ["all"] else list(args.encodings)
    if args.linformer:
        encodings += [f"absolute@linformer(k={args.linformer})", f"diet_abs@linformer(k={args.linformer})"]
    peers = args.peers if args.peers is not None else ([] if args.head == "mlm" else list(DEFAULT_PEERS))
    models = encodings + [f"hf:{p}" for p in peers]
    for m in models:
        parse_case(m)  # fail before any timing on a typo
    shape = get_shape(args.shape, lengths=args.lengths, batch_sizes=args.batch_sizes, vocab_size=args.vocab_size)
    cfg = BenchConfig(shape=shape, models=models, segment=args.segment, device=args.device, dtype=args.dtype,
                      modes=tuple(args.modes), rounds=args.rounds, warmup=args.warmup, memory=not args.no_memory,
                      compile=args.compile, compile_backend=args.compile_backend, attn_implementation=args.attn,
                      max_seconds=args.max_seconds, interleave=not args.sequential, clock=args.clock,
                      profile=args.profile, head=args.head, mlm_logits=tuple(args.mlm_logits))
    load_before = load_average()
    rows = add_ratios(run_bench(cfg, log=lambda line: print(line, flush=True)))
    header = (f"posenc bench — {shape.describe()}; {rows[0]['device'] if rows else args.device}, {args.dtype}, "
              f"{torch.get_num_threads()} threads, {args.clock} clock, median of {args.rounds} interleaved rounds; "
              f"before: {load_before}; after: {load_average()}")
    with_bert = any(r.get("x_bert") is not None for r in rows)  # no hf:bert in the run: no empty table
    text = "\n\n".join([
        f"# {header}",
        "## Step-time overhead vs posenc `absolute` (training = fwd+bwd+AdamW, inference = fwd)",
        overhead_table(rows, "x_absolute"),
        *(["## vs HF BertModel (sdpa)", overhead_table(rows, "x_bert")] if with_bert else []),
        "## All measurements",
        detail_table(rows),
    ])
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.md").write_text(text + "\n")
    write_csv(rows, args.out / "bench.csv")
    png = plot(rows, args.out / "bench.png")
    if args.profile:
        from ..bench.profile import profile_markdown

        profiles = [dict(r, ops=r["profile"]) for r in rows if r.get("profile")]
        (args.out / "profile.md").write_text(f"# Operator profiles — {header}\n\n{profile_markdown(profiles)}\n")
    print(f"\nwrote {args.out / 'bench.md'}, {args.out / 'bench.csv'}" + (f", {png}" if png else ""))
    return 0

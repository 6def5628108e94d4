"""``posenc bench --seq2seq``: the encoder-decoder's training step against HF ``MarianMTModel`` of the
same size, and generation throughput with and without the key/value cache.

- **Training step**: forward with labels (the model's cross-entropy) + backward + ``AdamW.step()``
  + ``zero_grad``; train mode. ``MarianMTModel`` (post-LN, sinusoidal positions, ReLU, scaled tied
  embeddings: the same architecture as posenc's ``sinusoidal`` default) is built with the same
  width, depth, heads, FFN and vocabulary, SDPA attention. Rounds of all models are interleaved;
  each model's median and IQR are reported, with its ratio to Marian's median.
- **Kernel**: the attention kernel each posenc model runs in training (``attention_kernel``):
  ``sdpa`` is the fused kernel; an encoding whose terms need the eager path says so.
- **Generation**: ``generate()`` of exactly ``new_tokens`` tokens (end-of-sequence suppressed by
  ``min_new_tokens``) for a batch of sources, greedy and beam 4, ``use_cache`` on and off;
  tokens/s counts the returned tokens of the best hypotheses (batch × new_tokens).
- **Clock** (``--clock``): wall time, or the process's CPU time on a shared machine.
- **Profile** (``--profile``): the top operators of one training step per model and of one greedy
  generation call with and without the cache, in ``profile.md``: where a ratio's time goes.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

import torch

from .profile import op_table, profile_markdown
from .timing import CLOCKS, merge, timed_once


@dataclass
class Seq2SeqBenchConfig:
    encodings: list[str]
    preset: str = "small"
    batch_size: int = 16
    source_length: int = 32
    target_length: int = 32
    vocab_size: int = 8000
    new_tokens: int = 64
    rounds: int = 5
    warmup: int = 2
    generation: bool = True
    generate_encodings: list[str] | None = None  # None: every one of ``encodings``
    clock: str = "wall"
    profile: bool = False


def default_encodings() -> list[str]:
    """Every registered position encoding that works in both directions (the registry decides)."""
    from ..encodings import POSITION_ENCODINGS

    return [n for n in POSITION_ENCODINGS.names()
            if POSITION_ENCODINGS.get(n).supports_causal and POSITION_ENCODINGS.get(n).supports_bidirectional]


def _sizes(cfg: Seq2SeqBenchConfig) -> dict:
    from ..training.translate_config import SEQ2SEQ_PRESETS

    return dict(SEQ2SEQ_PRESETS[cfg.preset])


def build_posenc(cfg: Seq2SeqBenchConfig, position: str):
    import posenc

    sizes = _sizes(cfg)
    config = posenc.PosencSeq2SeqConfig(vocab_size=cfg.vocab_size, position=position, hidden_dropout_prob=0.1,
                                        max_position_embeddings=max(256, cfg.new_tokens + 2), **sizes)
    return posenc.PosencForConditionalGeneration._from_config(config, attn_implementation="sdpa")


def build_marian(cfg: Seq2SeqBenchConfig):
    """``MarianMTModel`` with posenc's sizes (post-LN, sinusoidal, ReLU, tied, √d-scaled embeddings)."""
    from transformers import MarianConfig, MarianMTModel

    s = _sizes(cfg)
    config = MarianConfig(vocab_size=cfg.vocab_size, decoder_vocab_size=cfg.vocab_size, d_model=s["hidden_size"],
                          encoder_layers=s["encoder_layers"], decoder_layers=s["decoder_layers"],
                          encoder_attention_heads=s["num_attention_heads"], decoder_attention_heads=s["num_attention_heads"],
                          encoder_ffn_dim=s["intermediate_size"], decoder_ffn_dim=s["intermediate_size"],
                          activation_function="relu", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
                          max_position_embeddings=max(256, cfg.new_tokens + 2), scale_embedding=True,
                          share_encoder_decoder_embeddings=True, tie_word_embeddings=True, pad_token_id=0,
                          eos_token_id=2, decoder_start_token_id=1, forced_eos_token_id=None)
    return MarianMTModel._from_config(config, attn_implementation="sdpa")


def _inputs(cfg: Seq2SeqBenchConfig, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, cfg.vocab_size, (cfg.batch_size, cfg.source_length), generator=g)
    labels = torch.randint(3, cfg.vocab_size, (cfg.batch_size, cfg.target_length), generator=g)
    return {"input_ids": src, "attention_mask": torch.ones_like(src), "labels": labels}


def _train_step(model, inputs):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step():
        model(**inputs).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def _quantiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[1], q[2] - q[0]


def bench_training(cfg: Seq2SeqBenchConfig, log=print, profiles: list | None = None) -> list[dict]:
    """Interleaved training-step rounds of every posenc encoding and Marian → rows (with
    ``cfg.profile``, one profiled step per model is appended to ``profiles``)."""
    inputs = _inputs(cfg)
    models = {"hf:marian": build_marian(cfg), **{f"posenc:{e}": build_posenc(cfg, e) for e in cfg.encodings}}
    steps = {name: _train_step(m, inputs) for name, m in models.items()}
    for name, fn in steps.items():
        for _ in range(cfg.warmup):
            fn()
    times: dict[str, list] = {name: [] for name in steps}
    for r in range(cfg.rounds):
        for name, fn in steps.items():
            times[name].append(timed_once(fn, "seq2seq train", name, cfg.clock))
        log(f"  round {r + 1}/{cfg.rounds} done")
    if cfg.profile and profiles is not None:
        profiles += [dict(model=name, mode="train", batch=cfg.batch_size, length=cfg.source_length, ops=op_table(fn))
                     for name, fn in steps.items()]
    marian = merge(times["hf:marian"]).median
    rows = []
    for name, ms in times.items():
        m = merge(ms)
        kernel = models[name].attention_kernel if name.startswith("posenc:") else "sdpa"
        rows.append({"model": name, "median_ms": 1000 * m.median, "iqr_ms": 1000 * m.iqr,
                     "x_marian": m.median / marian, "kernel": kernel})
    return rows


def _generate_fn(model, src, mask, new_tokens: int, beams: int, cache: bool):
    def gen():
        with torch.no_grad():
            model.generate(input_ids=src, attention_mask=mask, num_beams=beams, max_new_tokens=new_tokens,
                           min_new_tokens=new_tokens, use_cache=cache, do_sample=False)

    return gen


def _generate_time(model, src, mask, new_tokens: int, beams: int, cache: bool, rounds: int,
                   clock: str = "wall") -> list[float]:
    gen, now, out = _generate_fn(model, src, mask, new_tokens, beams, cache), CLOCKS[clock], []
    for _ in range(rounds):
        t0 = now()
        gen()
        out.append(now() - t0)
    return out


def bench_generation(cfg: Seq2SeqBenchConfig, log=print, profiles: list | None = None) -> list[dict]:
    """Tokens/s of greedy and beam-4 generation, cache on and off, for each model (with
    ``cfg.profile``, one profiled greedy call per model and cache setting goes to ``profiles``)."""
    inputs = _inputs(cfg, seed=1)
    src, mask = inputs["input_ids"], inputs["attention_mask"]
    rows = []
    chosen = cfg.encodings if cfg.generate_encodings is None else cfg.generate_encodings
    for name in ["hf:marian"] + [f"posenc:{e}" for e in chosen]:
        model = build_marian(cfg) if name == "hf:marian" else build_posenc(cfg, name.split(":", 1)[1])
        model.eval()
        for beams in (1, 4):
            timed = {True: [], False: []}
            for cache in timed:
                _generate_time(model, src, mask, 4, beams, cache, 1)  # warm-up
            for _ in range(max(1, cfg.rounds // 2)):  # cached and uncached rounds interleaved: drift hits both
                for cache in timed:
                    timed[cache] += _generate_time(model, src, mask, cfg.new_tokens, beams, cache, 1, cfg.clock)
            tokens = cfg.batch_size * cfg.new_tokens
            med = {c: statistics.median(v) for c, v in timed.items()}
            rows.append({"model": name, "num_beams": beams, "tokens_per_s_cache": tokens / med[True],
                         "tokens_per_s_no_cache": tokens / med[False], "cache_speedup": med[False] / med[True]})
        if cfg.profile and profiles is not None:
            profiles += [dict(model=name, mode=f"greedy, {'cached' if cache else 'uncached'}", batch=cfg.batch_size,
                              length=cfg.new_tokens, ops=op_table(_generate_fn(model, src, mask, cfg.new_tokens, 1, cache)))
                         for cache in (True, False)]
        log(f"  generation {name} done")
        del model
    return rows


def markdown(cfg: Seq2SeqBenchConfig, train_rows: list[dict], gen_rows: list[dict], header: str) -> str:
    lines = [f"# {header}", "", "## Training step (fwd + bwd + AdamW) vs HF MarianMTModel of the same size", "",
             "| model | median ms | IQR ms | × Marian | attention kernel |", "|---|---|---|---|---|"]
    for r in train_rows:
        lines.append(f"| {r['model']} | {r['median_ms']:.1f} | {r['iqr_ms']:.1f} | {r['x_marian']:.3f} | {r['kernel']} |")
    if gen_rows:
        lines += ["", f"## Generation: {cfg.new_tokens} new tokens, batch {cfg.batch_size} (tokens/s, median of {max(1, cfg.rounds // 2)} rounds)", "",
                  "| model | beams | cached | uncached | cached ÷ uncached speed |", "|---|---|---|---|---|"]
        for r in gen_rows:
            lines.append(f"| {r['model']} | {r['num_beams']} | {r['tokens_per_s_cache']:,.0f} | "
                         f"{r['tokens_per_s_no_cache']:,.0f} | {r['cache_speedup']:.2f}× |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    """The ``--seq2seq`` mode of ``posenc bench`` (see the module docstring)."""
    from ..bench.cases import DEFAULT_ENCODINGS

    if args.threads:
        torch.set_num_threads(args.threads)
    encodings = default_encodings() if list(args.encodings) in (list(DEFAULT_ENCODINGS), ["all"]) else list(args.encodings)
    preset = args.seq2seq_preset or (args.shape if args.shape in ("tiny", "small", "base", "big") else "small")
    lengths = args.lengths or [32]
    cfg = Seq2SeqBenchConfig(encodings=encodings, preset=preset, batch_size=(args.batch_sizes or [16])[0],
                             vocab_size=args.vocab_size or Seq2SeqBenchConfig.vocab_size,
                             source_length=lengths[0], target_length=lengths[0], new_tokens=args.new_tokens,
                             rounds=args.rounds, warmup=args.warmup, generation="infer" in args.modes,
                             clock=args.clock, profile=args.profile,
                             generate_encodings=list(args.generate_encodings) if args.generate_encodings else None)
    load_before = os.getloadavg()
    print(f"seq2seq bench: preset {preset}, batch {cfg.batch_size}, source/target {cfg.source_length} tokens, "
          f"{len(encodings)} encodings + MarianMTModel, {torch.get_num_threads()} threads", flush=True)
    profiles: list[dict] = []
    train_rows = bench_training(cfg, profiles=profiles) if "train" in args.modes else []
    gen_rows = bench_generation(cfg, profiles=profiles) if cfg.generation else []
    load_after = os.getloadavg()
    header = (f"posenc bench --seq2seq — preset {preset}, vocabulary {cfg.vocab_size}, batch {cfg.batch_size}, "
              f"length {cfg.source_length}; CPU, "
              f"{torch.get_num_threads()} threads, {cfg.clock} clock, median of {cfg.rounds} interleaved rounds; load average "
              f"{load_before[0]:.1f} → {load_after[0]:.1f}")
    text = markdown(cfg, train_rows, gen_rows, header)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_seq2seq.md").write_text(text)
    print(f"wrote {args.out / 'bench_seq2seq.md'}")
    if profiles:
        (args.out / "profile.md").write_text(profile_markdown(profiles) + "\n")
        print(f"wrote {args.out / 'profile.md'}")
    return 0

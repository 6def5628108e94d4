"""Recipe: train an encoder-decoder from scratch on a translation task, then score it with sacreBLEU.

    from posenc.training import load_config
    from posenc.training.translate import run_translate
    results = run_translate(load_config("configs/wmt/tiny.yaml", ["model.position=diet_rel"]))

setup (the task's splits through ``posenc.tasks``; one SentencePiece vocabulary trained on both
sides of the training split, shared by every run with the same task and settings; the
encoder-decoder from ``model:``; batches by token count) → train (the shared loop, with
label-smoothed cross-entropy; every ``eval_every`` steps the first eval split is translated —
greedily by default, ``generate.select_num_beams`` — and the best checkpoint by BLEU kept in
``best/``) → evaluate (the selected checkpoint, and with ``train.average_checkpoints`` the average
of the last checkpoints, translate every eval split with the final beam; copy-the-source BLEU as
the trivial baseline; decoding speed) → cleanup (results.json with the sacreBLEU signatures).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from torch.utils.data import DataLoader

from . import rundir
from .engine import EpochSampler, flat_config, make_accelerator, micro_batch_plan, peak_memory_mb, total_steps_for
from .loop import LoopParts, LoopState, run_loop
from .optim import build_optimizer
from .progress import summary_line
from .session import RunSession
from .token_batches import TokenBatchSampler
from .tokenizer import build_tokenizer, load_tokenizer
from .translate_config import TranslateConfig

AVERAGED = "averaged"  # RUN_DIR/averaged/: the checkpoint average (train.average_checkpoints)


def encoding_name(position, cross_attention_position: str) -> str:
    """The comparand's label: the position encoding (as ``posenc.encoding_label`` writes it), plus
    ``+cross_bias`` when cross-attention carries its bias too."""
    from posenc import encoding_label

    label = encoding_label(position, "none").rpartition("+")[0]
    return label + ("+cross_bias" if cross_attention_position == "bias" else "")


def run_name(cfg: TranslateConfig, spec) -> str:
    if cfg.name:
        return cfg.name
    from ..sweep.plan import slug

    return f"{spec.name}-{slug(encoding_name(cfg.model.position, cfg.model.cross_attention_position))}-s{cfg.seed}"


# ---------------------------------------------------------------- setup
def shared_tokenizer_dir(cfg: TranslateConfig, spec) -> Path:
    """OUTPUT_DIR/tokenizers/<task>-<hash of what decides the vocabulary>: every run (every
    encoding, every seed of a sweep) with the same task, data and settings reads one vocabulary."""
    t = cfg.tokenizer
    key = json.dumps({"task": spec.name, "source": cfg.data.source, "dir": cfg.data.dir, "train": t.train,
                      "vocab_size": t.vocab_size, "lowercase": t.lowercase, "max_lines": t.max_lines,
                      "max_train_examples": cfg.data.max_train_examples}, sort_keys=True)
    return Path(cfg.output_dir) / "tokenizers" / f"{spec.name}-{t.train}{t.vocab_size}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def _tokenizer(cfg: TranslateConfig, acc, spec, train):
    """Load ``tokenizer.load``, or train one SentencePiece model on both sides of the training
    split (the main process, once per shared directory, renamed into place when complete)."""
    if cfg.tokenizer.load:
        return load_tokenizer(cfg.tokenizer.load)
    shared = shared_tokenizer_dir(cfg, spec)
    if acc.is_main_process and not (shared / "tokenizer_config.json").exists():
        if cfg.tokenizer.max_lines is not None:  # both sides alike: the first max_lines / 2 pairs
            train = train.select(range(min(max(1, cfg.tokenizer.max_lines // 2), len(train))))
        texts = spec.task_kind.texts(spec, train)
        shared.parent.mkdir(parents=True, exist_ok=True)
        tmp = shared.with_name(f".{shared.name}.{os.getpid()}.tmp")
        tok = build_tokenizer(cfg.tokenizer.train, texts, cfg.tokenizer.vocab_size, cfg.tokenizer.lowercase,
                              save_model_to=tmp)
        tok.save_pretrained(tmp)
        if (shared / "tokenizer_config.json").exists():  # another run won the race
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, shared)
    acc.wait_for_everyone()
    return load_tokenizer(str(shared))


def build_model(cfg: TranslateConfig, spec, tokenizer):
    """A fresh :class:`posenc.PosencForConditionalGeneration` sized by ``model:``, its special
    tokens from the tokenizer (pad, decoder start = [CLS], end = [SEP])."""
    from transformers import AutoModelForSeq2SeqLM

    import posenc

    config = posenc.PosencSeq2SeqConfig(**cfg.model.config_kwargs(), **spec.task_kind.model_kwargs_for(tokenizer))
    return AutoModelForSeq2SeqLM.from_config(config, attn_implementation=cfg.model.attn_implementation)


def _train_loader(cfg: TranslateConfig, train_ds, collator, acc):
    """(loader, sampler, accumulation, prepared): ``batch_size`` sentences (split across processes
    by ``acc.prepare``), or token batches of ``max_tokens`` *per process* (``prepared``: already
    sharded, each process taking every N-th batch — Accelerate's batch splitting needs equal sizes)."""
    if cfg.train.max_tokens is None:
        micro, accum = micro_batch_plan(cfg.train, acc.num_processes)
        sampler = EpochSampler(len(train_ds), cfg.seed)
        return DataLoader(train_ds, batch_size=micro, sampler=sampler, collate_fn=collator, drop_last=True,
                          generator=torch.Generator()), sampler, accum, False
    from accelerate.data_loader import prepare_data_loader

    lengths = [max(len(s), len(t)) for s, t in zip(train_ds["input_ids"], train_ds["labels"])]
    sampler = TokenBatchSampler(lengths, cfg.train.max_tokens, cfg.seed)
    if acc.is_main_process:
        print(f"token batches: {sampler.describe()}", flush=True)
    # a private generator: creating the iterator must not draw from the global RNG (dropout), or a
    # resumed run (a new iterator after the checkpoint) would diverge from an uninterrupted one
    loader = DataLoader(train_ds, batch_sampler=sampler, collate_fn=collator, generator=torch.Generator())
    loader = prepare_data_loader(loader, acc.device, num_processes=acc.num_processes, process_index=acc.process_index,
                                 split_batches=False, put_on_device=True, even_batches=True)
    return loader, sampler, cfg.train.accumulate, True


def label_smoothed_loss(epsilon: float):
    """``loss_fn(outputs, batch)``: mean token cross-entropy with label smoothing ε (ε spread
    uniformly over the vocabulary, ``torch.nn.functional.cross_entropy``), −100 labels ignored."""

    def loss(out, batch):
        logits = out.logits.float()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), batch["labels"].reshape(-1), ignore_index=-100,
                               label_smoothing=epsilon)

    return loss


# ---------------------------------------------------------------- evaluation
def with_beams(spec, num_beams: int):
    return dataclasses.replace(spec, options=dataclasses.replace(spec.options, num_beams=num_beams))


def translate_set(evalset, model, tokenizer, spec=None) -> dict:
    """Translate one evaluation set: sacreBLEU metrics, reference loss, examples, and the decoding
    speed (generated tokens per second, the forward pass for the loss included)."""
    if spec is not None:
        evalset.spec = spec
    spec, kind = evalset.spec, evalset.spec.task_kind
    t0 = time.perf_counter()
    outputs, loss = evalset.predict(model)
    seconds = time.perf_counter() - t0
    hyps = kind.hypotheses(spec, evalset.examples, evalset.features, outputs, tokenizer)
    metrics = kind.score(spec, hyps, kind.references(spec, evalset.examples))
    generated = sum(int((x != tokenizer.pad_token_id).sum()) - 1 for x in outputs["generated"])  # minus the start token
    metrics.update(loss=loss, eval_examples=len(hyps), decode_tokens_per_s=generated / max(seconds, 1e-9),
                   decode_seconds=seconds, num_beams=spec.options.num_beams)
    evalset.hypotheses = hyps
    return metrics


def _evaluator(evalset, model, tokenizer, spec):
    def evaluate() -> dict:
        return translate_set(evalset, model, tokenizer, spec)

    return evaluate


def average_checkpoints(acc, model, run_dir: Path, n: int) -> list[str]:
    """Load into ``model`` the mean of its current weights and those of the last ``n − 1``
    checkpoints (Accelerate's ``model.safetensors``); returns the averaged checkpoints' names."""
    from safetensors.torch import load_file

    inner = acc.unwrap_model(model)
    ckpts = rundir.checkpoint_dirs(run_dir)[-(n - 1):]
    states = [load_file(str(c / "model.safetensors")) for c in ckpts]
    with torch.no_grad():
        for name, p in inner.state_dict().items():
            if not p.is_floating_point():
                continue
            found = [s[name] for s in states if name in s]
            p.copy_((p + sum(t.to(p.device, p.dtype) for t in found)) / (1 + len(found)))
    return [c.name for c in ckpts] + ["final"]


def write_translations(run_dir: Path, split: str, evalset) -> str:
    """RUN_DIR/translations/<split>.<target language>: one hypothesis per line (sacreBLEU's input)."""
    from posenc.tasks.kinds.translation import directions

    path = run_dir / "translations" / f"{split}.{directions(evalset.spec)[1]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(h.replace("\n", " ") + "\n" for h in evalset.hypotheses), encoding="utf-8")
    return str(path.relative_to(run_dir))


def _final_scores(evalsets, model, tokenizer, spec, acc, run_dir: Path) -> dict:
    """Every eval split translated with the final decoding settings; hypotheses written."""
    out = {}
    for split, evalset in evalsets.items():
        metrics = translate_set(evalset, model, tokenizer, spec)
        if acc.is_main_process:
            metrics["translations"] = write_translations(run_dir, split, evalset)
            print(f"  {spec.name} {split}: BLEU {metrics['bleu']:.2f} chrF {metrics.get('chrf', float('nan')):.2f} "
                  f"(beam {spec.options.num_beams}, {metrics['eval_examples']} segments, "
                  f"{metrics['decode_tokens_per_s']:,.0f} tokens/s)", flush=True)
        out[split] = metrics
    return out


# ---------------------------------------------------------------- the run
def run_translate(cfg: TranslateConfig, run_dir: str | Path | None = None, resume: bool = False,
                  overwrite: bool = False) -> dict:
    """Train one encoder-decoder on one translation task and score it; returns the results.json
    dict (docs/wmt.md)."""
    import sacrebleu

    from posenc.tasks.evaluation import EvalSet
    from posenc.tasks.protocol import load_task_data

    from .finetune import _load_best

    spec = cfg.task_spec()
    kind = spec.task_kind
    name = run_name(cfg, spec)
    run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / name
    cache_dir = cfg.data.cache_dir or str(Path(cfg.output_dir) / ".cache" / "features")
    acc = make_accelerator(cfg.train, run_dir)
    session = RunSession(acc, run_dir, resume, overwrite)
    session.open(cfg, {"kind": "translate", "run_name": name, "task": spec.name})
    try:
        # ---------------------------------------------------------------- setup
        set_seed(cfg.seed)
        with acc.main_process_first():
            data = load_task_data(spec, cfg.data.source, cfg.data.dir, max_train_examples=cfg.data.max_train_examples,
                                  max_eval_examples=cfg.data.max_eval_examples)
        messages = data.warnings + [m for r in data.reports.values() for m in r["messages"]]
        if acc.is_main_process:
            for m in messages:
                print(f"note: {m}", flush=True)
        tokenizer = _tokenizer(cfg, acc, spec, data.train)
        set_seed(cfg.seed)
        model = build_model(cfg, spec, tokenizer)
        from posenc.tasks import tokenize_task

        with acc.main_process_first():
            train_ds = tokenize_task(spec, {spec.train_split: data.train}, tokenizer, spec.max_length, training=True,
                                     cache_dir=cache_dir)[spec.train_split]
        dropped = len(data.train) - len(train_ds)
        if dropped and acc.is_main_process:
            print(f"note: {dropped} of {len(data.train)} training pairs are longer than max_length {spec.max_length} / "
                  f"max_target_length {kind.max_target_length(spec)} pieces and were left out", flush=True)
        train_ds = train_ds.select_columns(kind.model_columns(spec, training=True))
        collator = kind.collator(tokenizer)
        loader, sampler, accum, sharded = _train_loader(cfg, train_ds, collator, acc)
        total = total_steps_for(cfg.train, len(loader), accum)
        optimizer, scheduler = build_optimizer(model, cfg.train, total)
        if sharded:
            model, optimizer, scheduler = acc.prepare(model, optimizer, scheduler)
        else:
            model, optimizer, loader, scheduler = acc.prepare(model, optimizer, loader, scheduler)
        eval_bs = (cfg.train.eval_batch_size or 64) * acc.num_processes
        with acc.main_process_first():
            evalsets = {s: EvalSet.build(spec, ds, tokenizer, batch_size=eval_bs, max_length=spec.max_length, acc=acc,
                                         cache_dir=cache_dir) for s, ds in data.evals.items()}
        main_split = spec.eval_splits[0]
        select_spec = with_beams(spec, cfg.generate.select_num_beams)
        if cfg.train.log_with != "none":
            from .config import config_to_dict
            acc.init_trackers(name, config=flat_config(config_to_dict(cfg)))
        log = rundir.MetricsLog(run_dir, enabled=acc.is_main_process)
        state = session.restore(log, total)

        # ---------------------------------------------------------------- train
        parts = LoopParts(acc=acc, model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
                          sampler=sampler, collator=None, tokenizer=tokenizer,
                          evaluate=_evaluator(evalsets[main_split], model, tokenizer, select_spec),
                          main_metric=spec.main_metric, greater_is_better=spec.greater_is_better, accum=accum,
                          total_steps=total, run_dir=run_dir, desc=f"translate {name}",
                          loss_fn=label_smoothed_loss(cfg.train.label_smoothing))
        state = run_loop(parts, cfg.train, state, log)

        # ---------------------------------------------------------------- evaluate
        averaged = None
        if cfg.train.average_checkpoints:
            members = average_checkpoints(acc, model, run_dir, cfg.train.average_checkpoints)
            scores = _final_scores(evalsets, model, tokenizer, spec, acc, run_dir / AVERAGED)
            from .engine import save_best

            save_best(acc, model, tokenizer, run_dir / AVERAGED)  # RUN_DIR/averaged/best: model + tokenizer
            averaged = {"checkpoints": members, "splits": scores, "model_dir": f"{AVERAGED}/{rundir.BEST}"}
        if state.best is not None:
            _load_best(acc, model, run_dir)
        scores = _final_scores(evalsets, model, tokenizer, spec, acc, run_dir)
        baselines = {s: kind.baseline(spec, data.train, ds) for s, ds in data.evals.items()}

        # ---------------------------------------------------------------- cleanup
        inner = acc.unwrap_model(model)
        o = spec.options
        results = {
            "schema": 1, "status": "complete", "kind": "translate", "run_name": name,
            "position": dict(inner.config.position), "segment": {"name": "none"},
            "encoding": encoding_name(inner.config.position, inner.config.cross_attention_position),
            "cross_attention_position": inner.config.cross_attention_position,
            "layer_norm_position": inner.config.layer_norm_position,
            "task": spec.name, "task_kind": spec.kind, "direction": spec.train_language, "trained": True,
            "seed": cfg.seed, "learning_rate": cfg.train.lr,
            "main_metric": spec.main_metric, "greater_is_better": spec.greater_is_better,
            "metrics": list(spec.metrics), "report_columns": kind.report_columns(spec),
            "best": state.best, "final": state.last_eval,
            "selection": {"split": main_split, "num_beams": cfg.generate.select_num_beams},
            "scores": {"model": "best" if state.best is not None else "final", "step": (state.best or {}).get("step", state.step),
                       "splits": scores},
            "averaged": averaged,
            "generation": {"num_beams": o.num_beams, "length_penalty": o.length_penalty,
                           "length_penalty_form": "transformers: log p(Y) / |Y|^alpha (not GNMT's ((5+|Y|)/6)^alpha)",
                           "max_target_length": kind.max_target_length(spec),
                           "max_new_tokens": f"min({o.decode_length_ratio:g}*|x| + {o.decode_length_extra}, max_target_length)",
                           "early_stopping": True},
            "sacrebleu": {"version": sacrebleu.__version__, "signatures": kind.signatures(spec)},
            "majority_baseline": baselines[main_split], "copy_source_baseline": baselines,
            "baseline_name": kind.baseline_name,
            "protocol": data.protocol, "data_warnings": messages,
            "num_parameters": sum(p.numel() for p in inner.parameters()),
            "tokens_per_s": state.tokens / max(state.train_time_s, 1e-9),
            "step_time_s": state.train_time_s / max(state.step, 1), "train_time_s": state.train_time_s,
            "steps": state.step, "peak_memory_mb": peak_memory_mb(acc.device), "world_size": acc.num_processes,
            "gradient_accumulation": accum, "batch_size": cfg.train.batch_size, "max_tokens": cfg.train.max_tokens,
            "label_smoothing": cfg.train.label_smoothing, "schedule": cfg.train.schedule,
            "train_examples": len(train_ds), "train_pairs_dropped": dropped,
            "tokenizer": str(cfg.tokenizer.load or shared_tokenizer_dir(cfg, spec)), "vocab_size": len(tokenizer),
            "pretrained_from": None, "model_dir": rundir.BEST,
        }
        session.finish(results)
        acc.end_training()
        if acc.is_main_process:
            print(summary_line(results, run_dir), flush=True)
        return results
    except BaseException as e:
        session.mark_failed(e)
        raise
    finally:
        session.close()

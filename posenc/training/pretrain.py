"""Recipe: masked-LM pre-training (no NSP, full sentences packed to ``mlm.seq_len``).

    from posenc.training import load_config, run_pretrain
    results = run_pretrain(load_config("configs/pretrain/tiny.yaml", ["train.max_steps=50"]))

Reads top to bottom: setup (run dir, tokenizer, blocks, model, optimizer, resume) → train
(:func:`posenc.training.loop.run_loop`) → cleanup (results.json, summary line).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from transformers import AutoModelForMaskedLM

from . import rundir
from .config import PretrainConfig
from .corpus import iter_texts, load_text, pack_blocks, split_blocks
from .engine import EpochSampler, flat_config, make_accelerator, micro_batch_plan, peak_memory_mb, save_best
from .loop import LoopParts, run_loop
from .mlm import SeededMLMCollator
from .models import build_config, resolve_pretrained
from .optim import build_optimizer
from .progress import summary_line
from .session import RunSession
from .tokenizer import build_tokenizer, check_for_mlm, load_tokenizer
from .unigram import unigram_entropy


def default_run_dir(cfg) -> Path:
    return Path(cfg.output_dir) / cfg.name


def _tokenizer(cfg: PretrainConfig, acc, run_dir: Path, text_ds):
    """Train (main process) or load the tokenizer, save it in RUN_DIR/tokenizer, load it everywhere."""
    tok_dir = run_dir / "tokenizer"
    if acc.is_main_process and not (tok_dir / "tokenizer_config.json").exists():
        t = cfg.tokenizer
        if t.load:
            tok = load_tokenizer(t.load)
        else:
            texts = text_ds
            if t.files:
                from .config import CorpusSection
                texts = load_text(CorpusSection(files=t.files))
            tok = build_tokenizer(t.train, iter_texts(texts, t.max_lines), t.vocab_size, t.lowercase,
                                  save_model_to=tok_dir, model_type=t.model_type)
        tok.save_pretrained(tok_dir)
    acc.wait_for_everyone()
    tok = load_tokenizer(str(tok_dir))
    check_for_mlm(tok, "tokenizer")
    return tok


def _mlm_evaluator(acc, model, loader):
    """Held-out MLM loss / perplexity / masked-token accuracy; masks are fixed (seeded per
    block), and gather_for_metrics drops the duplicates that pad the last batch."""

    def evaluate() -> dict:
        sums = torch.zeros(3, dtype=torch.float64)
        n_blocks = 0
        with torch.no_grad():
            for batch in loader:
                labels = batch.pop("labels")
                with acc.autocast():
                    logits = model(**batch).logits
                mask = labels != -100
                ce = F.cross_entropy(logits.float().transpose(1, 2), labels, ignore_index=-100, reduction="none")
                correct = (logits.argmax(-1) == labels) & mask
                rows = torch.stack([ce.sum(1), mask.sum(1).float(), correct.sum(1).float()], 1)
                rows = acc.gather_for_metrics(rows)
                sums += rows.double().sum(0).cpu()
                n_blocks += rows.shape[0]
        loss = (sums[0] / sums[1]).item()
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": (sums[2] / sums[1]).item(),
                "eval_blocks": n_blocks}

    return evaluate


def run_pretrain(cfg: PretrainConfig, run_dir: str | Path | None = None, resume: bool = False,
                 overwrite: bool = False) -> dict:
    """Pre-train one model; returns the results.json dict (see docs/CONTRACTS.md)."""
    import posenc

    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
    acc = make_accelerator(cfg.train, run_dir)
    session = RunSession(acc, run_dir, resume, overwrite)
    session.open(cfg, {"kind": "pretrain", "run_name": cfg.name})
    try:
        # ---------------------------------------------------------------- setup
        set_seed(cfg.seed)
        with acc.main_process_first():
            text = load_text(cfg.corpus)
        tokenizer = _tokenizer(cfg, acc, run_dir, text)
        with acc.main_process_first():
            blocks = pack_blocks(text, tokenizer, cfg.mlm.seq_len)
        train_ds, eval_ds = split_blocks(blocks, cfg.corpus.eval_fraction, cfg.corpus.max_eval_blocks, cfg.seed)

        set_seed(cfg.seed)
        if cfg.model.from_:
            model = posenc.PosencForMaskedLM.from_pretrained(resolve_pretrained(cfg.model.from_),
                                                             attn_implementation=cfg.model.attn_implementation)
        else:
            model = AutoModelForMaskedLM.from_config(build_config(cfg.model, tokenizer),
                                                     attn_implementation=cfg.model.attn_implementation)

        micro, accum = micro_batch_plan(cfg.train, acc.num_processes)
        mlm = dict(probability=cfg.mlm.probability, mask_replace_prob=cfg.mlm.mask_replace_prob,
                   random_replace_prob=cfg.mlm.random_replace_prob)
        collator = SeededMLMCollator(tokenizer, cfg.seed, **mlm)
        eval_collator = SeededMLMCollator(tokenizer, cfg.seed + 1, **mlm)  # fixed masks: epoch stays 0
        sampler = EpochSampler(len(train_ds), cfg.seed)
        loader = DataLoader(train_ds, batch_size=micro, sampler=sampler, collate_fn=collator, drop_last=True,
                            generator=torch.Generator())  # private: iterating must not draw from the global RNG (dropout)
        eval_bs = (cfg.train.eval_batch_size or micro // acc.num_processes) * acc.num_processes
        eval_loader = DataLoader(eval_ds, batch_size=eval_bs, shuffle=False, collate_fn=eval_collator,
                                 generator=torch.Generator())
        total = cfg.train.max_steps
        optimizer, scheduler = build_optimizer(model, cfg.train, total)
        model, optimizer, loader, eval_loader, scheduler = acc.prepare(model, optimizer, loader, eval_loader, scheduler)

        if cfg.train.log_with != "none":
            acc.init_trackers(cfg.name, config=flat_config(_cfg_dict(cfg)))
        log = rundir.MetricsLog(run_dir, enabled=acc.is_main_process)
        state = session.restore(log, total)
        evaluate = _mlm_evaluator(acc, model, eval_loader)
        if state.step == 0:
            # the initial model is the first candidate for best/, so best/ is never worse than it
            model.eval()
            state.initial = evaluate()
            model.train()
            state.best = {"step": 0, "metrics": state.initial}
            save_best(acc, model, tokenizer, run_dir)
            log.write({"step": 0, "eval": state.initial, "best": True})

        # ---------------------------------------------------------------- train
        parts = LoopParts(acc=acc, model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
                          sampler=sampler, collator=collator, tokenizer=tokenizer, evaluate=evaluate,
                          main_metric="loss", greater_is_better=False, accum=accum, total_steps=total,
                          run_dir=run_dir, desc=f"pretrain {cfg.name}")
        state = run_loop(parts, cfg.train, state, log)

        # ---------------------------------------------------------------- cleanup
        inner = acc.unwrap_model(model)
        results = {
            "schema": 1, "status": "complete", "kind": "pretrain", "run_name": cfg.name,
            "position": dict(inner.config.position), "segment": dict(inner.config.segment),
            "encoding": posenc.encoding_label(inner.config.position, inner.config.segment),
            "task": "mlm", "seed": cfg.seed, "learning_rate": cfg.train.lr,
            "main_metric": "loss", "greater_is_better": False,
            "initial": {"step": 0, "metrics": state.initial}, "best": state.best, "final": state.last_eval,
            "num_parameters": sum(p.numel() for p in inner.parameters()),
            "tokens_per_s": state.tokens / max(state.train_time_s, 1e-9),
            "step_time_s": state.train_time_s / max(state.step, 1), "train_time_s": state.train_time_s,
            "tokens_seen": state.tokens, "peak_memory_mb": peak_memory_mb(acc.device),
            "world_size": acc.num_processes, "gradient_accumulation": accum, "batch_size": cfg.train.batch_size,
            "train_blocks": len(train_ds), "eval_blocks": len(eval_ds), "seq_len": cfg.mlm.seq_len,
            "pretrained_from": cfg.model.from_, "model_dir": "best",
            "unigram_entropy": unigram_entropy(train_ds, tokenizer.all_special_ids),  # nats/token: context-free MLM loss
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


def _cfg_dict(cfg):
    from .config import config_to_dict
    return config_to_dict(cfg)

"""Recipe: fine-tune sequence classification / regression on one task.

    from posenc.training import load_config, run_finetune
    results = run_finetune(load_config("configs/finetune/sst2.yaml", ["model.from=runs/tiny-absolute"]))

setup (task data through ``posenc.tasks``, model from a pre-train run or from scratch, optionally
switching the segment encoding) → train (shared loop; evaluation every ``eval_every`` steps keeps
the best checkpoint in ``best/``, as the paper reports each run's best checkpoint) → cleanup.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from . import rundir
from .config import FinetuneConfig
from .engine import (EpochSampler, flat_config, load_checkpoint, make_accelerator, micro_batch_plan,
                     peak_memory_mb, total_steps_for)
from .loop import LoopParts, LoopState, run_loop
from .models import build_config, resolve_pretrained
from .optim import build_optimizer
from .progress import summary_line
from .session import RunSession
from .tokenizer import build_tokenizer, load_tokenizer

DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob")


def run_name(cfg: FinetuneConfig, task_name: str) -> str:
    if cfg.name:
        return cfg.name
    src = Path(cfg.model.from_).name if cfg.model.from_ else "scratch"
    if src == "best" and cfg.model.from_:
        src = Path(cfg.model.from_).parent.name
    return f"{task_name}-{src}-s{cfg.seed}"


def _tokenizer(cfg: FinetuneConfig, acc, run_dir: Path, train_split, spec):
    if cfg.model.from_ and not (cfg.tokenizer.load or cfg.tokenizer.train):
        return load_tokenizer(resolve_pretrained(cfg.model.from_))
    if cfg.tokenizer.load:
        return load_tokenizer(cfg.tokenizer.load)
    tok_dir = run_dir / "tokenizer"
    if acc.is_main_process and not (tok_dir / "tokenizer_config.json").exists():
        cols = ["text_a", "text_b"] if spec.is_pair else ["text_a"]
        texts = (t for c in cols for t in train_split[c])
        tok = build_tokenizer(cfg.tokenizer.train, texts, cfg.tokenizer.vocab_size, cfg.tokenizer.lowercase,
                              save_model_to=tok_dir, model_type=cfg.tokenizer.model_type)
        tok.save_pretrained(tok_dir)
    acc.wait_for_everyone()
    return load_tokenizer(str(tok_dir))


def _model(cfg: FinetuneConfig, spec, tokenizer, verbose: bool = True):
    num_labels = 1 if spec.kind == "regression" else spec.num_labels
    task_kw = {"num_labels": num_labels,
               "problem_type": "regression" if spec.kind == "regression" else "single_label_classification"}
    if spec.kind != "regression":
        task_kw["id2label"] = dict(enumerate(spec.label_names))
        task_kw["label2id"] = {n: i for i, n in enumerate(spec.label_names)}
    if cfg.model.from_:
        kw = {k: getattr(cfg.model, k) for k in DROPOUT_KEYS if getattr(cfg.model, k) is not None}
        if cfg.model.segment is not None:
            kw["segment"] = cfg.model.segment  # switch the segment encoding (new parameters start at zero)
        return _load_pretrained(resolve_pretrained(cfg.model.from_), cfg.model.attn_implementation, verbose, **task_kw, **kw)
    return AutoModelForSequenceClassification.from_config(build_config(cfg.model, tokenizer, **task_kw),
                                                          attn_implementation=cfg.model.attn_implementation)


def _load_pretrained(path: str, attn_implementation: str, verbose: bool, **kw):
    """from_pretrained with one plain line instead of transformers' load-report table: the new head
    (and any added segment encoding) is expected to be missing, the MLM head to be unused."""
    import logging

    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity(logging.ERROR)
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            path, attn_implementation=attn_implementation, output_loading_info=True, **kw)
    finally:
        hf_logging.set_verbosity(before)

    def groups(keys):
        return sorted({".".join(k.split(".")[:2]) if k.startswith("posenc.") else k.split(".")[0] for k in keys})

    new, unused = groups(info.get("missing_keys", [])), groups(info.get("unexpected_keys", []))
    if verbose:
        print(f"loaded {path}: new (initialised) {', '.join(new) or '-'}; not used {', '.join(unused) or '-'}")
    return model


def _evaluator(acc, model, loaders: dict, spec, main_split: str):
    """Metrics on every eval split; predictions are gathered once per example."""
    from posenc.tasks import compute_metrics

    def evaluate() -> dict:
        out = {}
        for split, loader in loaders.items():
            logits, labels, loss_sum = [], [], 0.0
            with torch.no_grad():
                for batch in loader:
                    with acc.autocast():
                        res = model(**batch)
                    lg, lb = acc.gather_for_metrics((res.logits.float(), batch["labels"]))
                    logits.append(lg.cpu())
                    labels.append(lb.cpu())
                    # the batch-mean loss weighted by batch size (gathered rows = real examples)
                    loss_sum += acc.gather_for_metrics(res.loss.detach().float().repeat(len(batch["labels"]))).sum().item()
            logits_np = torch.cat(logits).numpy()
            refs = torch.cat(labels).numpy()
            metrics = compute_metrics(spec, logits_np, refs)
            metrics["loss"] = loss_sum / len(refs)
            metrics["eval_examples"] = int(len(refs))
            prefix = "" if split == main_split else f"{split}/"
            out.update({prefix + k: v for k, v in metrics.items()})
        return out

    return evaluate


def run_finetune(cfg: FinetuneConfig, run_dir: str | Path | None = None, resume: bool = False,
                 overwrite: bool = False) -> dict:
    """Fine-tune one model on one task; returns the results.json dict (docs/CONTRACTS.md)."""
    import posenc
    from posenc.tasks import MODEL_COLUMNS, get_task, load_task, tokenize_task

    spec = get_task(cfg.task)
    name = run_name(cfg, spec.name)
    run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / name
    acc = make_accelerator(cfg.train, run_dir)
    session = RunSession(acc, run_dir, resume, overwrite)
    session.open(cfg, {"kind": "finetune", "run_name": name, "task": spec.name})
    try:
        # ---------------------------------------------------------------- setup
        set_seed(cfg.seed)
        with acc.main_process_first():
            dsd = load_task(spec, source=cfg.data.source, data_dir=cfg.data.dir)
        caps = {spec.train_split: cfg.data.max_train_examples,
                **{s: cfg.data.max_eval_examples for s in spec.eval_splits}}
        for split, cap in caps.items():
            if cap is not None and split in dsd:
                dsd[split] = dsd[split].select(range(min(cap, len(dsd[split]))))
        tokenizer = _tokenizer(cfg, acc, run_dir, dsd[spec.train_split], spec)
        with acc.main_process_first():
            enc = tokenize_task(spec, dsd, tokenizer, max_length=cfg.train.max_length)
        enc = {k: v.select_columns(MODEL_COLUMNS) for k, v in enc.items()}
        train_ds = enc[spec.train_split]

        set_seed(cfg.seed)
        model = _model(cfg, spec, tokenizer, verbose=acc.is_main_process)
        micro, accum = micro_batch_plan(cfg.train, acc.num_processes)
        collator = DataCollatorWithPadding(tokenizer)
        sampler = EpochSampler(len(train_ds), cfg.seed)
        loader = DataLoader(train_ds, batch_size=micro, sampler=sampler, collate_fn=collator, drop_last=True,
                            generator=torch.Generator())  # private: iterating must not draw from the global RNG (dropout)
        eval_bs = (cfg.train.eval_batch_size or micro // acc.num_processes) * acc.num_processes
        eval_loaders = {s: DataLoader(enc[s], batch_size=eval_bs, shuffle=False, collate_fn=collator,
                                       generator=torch.Generator())
                        for s in spec.eval_splits}
        total = total_steps_for(cfg.train, len(loader), accum)
        optimizer, scheduler = build_optimizer(model, cfg.train, total)
        model, optimizer, loader, scheduler = acc.prepare(model, optimizer, loader, scheduler)
        eval_loaders = {s: acc.prepare(dl) for s, dl in eval_loaders.items()}

        if cfg.train.log_with != "none":
            from .config import config_to_dict
            acc.init_trackers(name, config=flat_config(config_to_dict(cfg)))
        log = rundir.MetricsLog(run_dir, enabled=acc.is_main_process)
        state = LoopState()
        if resume:
            ckpt = rundir.latest_checkpoint(run_dir)
            saved = load_checkpoint(acc, ckpt)
            state = LoopState(**{k: saved[k] for k in LoopState().to_dict() if k in saved})
            if acc.is_main_process:
                log.truncate_after(state.step)
                print(f"resuming {run_dir} from {ckpt.name} (step {state.step}/{total})", flush=True)
        majority = _majority(spec, dsd, spec.eval_splits[0])

        # ---------------------------------------------------------------- train
        parts = LoopParts(acc=acc, model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
                          sampler=sampler, collator=None, tokenizer=tokenizer,
                          evaluate=_evaluator(acc, model, eval_loaders, spec, spec.eval_splits[0]),
                          main_metric=spec.main_metric, greater_is_better=spec.greater_is_better, accum=accum,
                          total_steps=total, run_dir=run_dir, desc=f"finetune {name}")
        state = run_loop(parts, cfg.train, state, log)

        # ---------------------------------------------------------------- cleanup
        inner = acc.unwrap_model(model)
        results = {
            "schema": 1, "status": "complete", "kind": "finetune", "run_name": name,
            "position": dict(inner.config.position), "segment": dict(inner.config.segment),
            "encoding": posenc.encoding_label(inner.config.position, inner.config.segment),
            "task": spec.name, "seed": cfg.seed, "learning_rate": cfg.train.lr,
            "main_metric": spec.main_metric, "greater_is_better": spec.greater_is_better,
            "best": state.best, "final": state.last_eval, "majority_baseline": majority,
            "num_parameters": sum(p.numel() for p in inner.parameters()),
            "tokens_per_s": state.tokens / max(state.train_time_s, 1e-9),
            "step_time_s": state.train_time_s / max(state.step, 1), "train_time_s": state.train_time_s,
            "steps": state.step, "peak_memory_mb": peak_memory_mb(acc.device), "world_size": acc.num_processes,
            "gradient_accumulation": accum, "batch_size": cfg.train.batch_size, "train_examples": len(train_ds),
            "pretrained_from": cfg.model.from_, "model_dir": "best",
        }
        session.finish(results)
        acc.end_training()
        if acc.is_main_process:
            print(summary_line(results, run_dir), flush=True)
        return results
    except BaseException as e:
        session.mark_failed(f"{type(e).__name__}: {e}")
        raise
    finally:
        session.close()


def _majority(spec, dsd, split: str) -> dict | None:
    """Main metric of always predicting the most frequent training label (classification only)."""
    if spec.kind != "classification":
        return None
    from posenc.tasks import compute_metrics

    train = np.asarray(list(dsd[spec.train_split]["label"]))
    refs = np.asarray(list(dsd[split]["label"]))
    top = int(np.bincount(train[train >= 0]).argmax())
    return compute_metrics(spec, np.full(len(refs), top), refs)

"""Recipe: masked-LM pre-training (no NSP, full sentences packed to ``mlm.seq_len``).

    from posenc.training import load_config, run_pretrain
    results = run_pretrain(load_config("configs/pretrain/tiny.yaml", ["train.max_steps=50"]))

Reads top to bottom: setup (tokenizer, blocks, model, optimizer, resume) → train
(:func:`posenc.training.loop.run_loop`) → cleanup (results.json, summary line); the run
directory, resume and results come from the shared skeleton (:mod:`posenc.training.recipe`).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from transformers import AutoModelForMaskedLM

from .config import PretrainConfig
from .corpus import iter_texts, load_text, pack_blocks, split_blocks
from .engine import save_best
from .loop import run_loop
from .mlm import SeededMLMCollator
from .models import build_config, resolve_pretrained
from .recipe import open_run
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
    block), and gather_for_metrics drops the duplicates that pad the last batch. Only the masked
    tokens go through the vocabulary projection (the model's ``masked_logits``)."""

    def evaluate() -> dict:
        sums = torch.zeros(3, dtype=torch.float64)
        n_blocks = 0
        with torch.no_grad():
            for batch in loader:
                labels = batch["labels"]
                with acc.autocast():
                    logits = model(**batch).masked_logits.float()  # [n, V], rows of labels != -100 in order
                mask = labels != -100
                target = labels[mask]
                example = mask.nonzero(as_tuple=True)[0]  # the block each masked token belongs to
                ce = F.cross_entropy(logits, target, reduction="none")
                correct = (logits.argmax(-1) == target).float()
                rows = torch.zeros(labels.shape[0], 3, device=logits.device)
                rows[:, 0].index_add_(0, example, ce)
                rows[:, 1] = mask.sum(1).float()
                rows[:, 2].index_add_(0, example, correct)
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
    with open_run(cfg, run_dir, resume=resume, overwrite=overwrite, kind="pretrain", name=cfg.name) as run:
        acc = run.acc
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

        mlm = dict(probability=cfg.mlm.probability, mask_replace_prob=cfg.mlm.mask_replace_prob,
                   random_replace_prob=cfg.mlm.random_replace_prob)
        collator = SeededMLMCollator(tokenizer, cfg.seed, **mlm)
        eval_collator = SeededMLMCollator(tokenizer, cfg.seed + 1, **mlm)  # fixed masks: epoch stays 0
        loader, sampler = run.train_loader(train_ds, collator)
        eval_loader = DataLoader(eval_ds, batch_size=run.eval_batch_size, shuffle=False, collate_fn=eval_collator,
                                 generator=torch.Generator())
        total = cfg.train.max_steps
        model, optimizer, loader, scheduler, eval_loader = run.prepare(model, loader, total, eval_loader)
        state = run.restore(total)
        evaluate = _mlm_evaluator(acc, model, eval_loader)
        if state.step == 0:
            # the initial model is the first candidate for best/, so best/ is never worse than it
            model.eval()
            state.initial = evaluate()
            model.train()
            state.best = {"step": 0, "metrics": state.initial}
            save_best(acc, model, tokenizer, run_dir)
            run.log.write({"step": 0, "eval": state.initial, "best": True})

        # ---------------------------------------------------------------- train
        parts = run.loop_parts(model=model, optimizer=optimizer, scheduler=scheduler, loader=loader, sampler=sampler,
                               collator=collator, tokenizer=tokenizer, evaluate=evaluate, main_metric="loss",
                               greater_is_better=False, total_steps=total)
        state = run_loop(parts, cfg.train, state, run.log)

        # ---------------------------------------------------------------- cleanup
        return run.finish(run.results(
            model, state, task="mlm", main_metric="loss", greater_is_better=False,
            initial={"step": 0, "metrics": state.initial}, tokens_seen=state.tokens, train_blocks=len(train_ds),
            eval_blocks=len(eval_ds), seq_len=cfg.mlm.seq_len,
            unigram_entropy=unigram_entropy(train_ds, tokenizer.all_special_ids)))  # nats/token: context-free MLM loss



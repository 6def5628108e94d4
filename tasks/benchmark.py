"""How long zero-shot evaluation takes, per task, and what share of a fine-tune run it is.

    python -m posenc.tasks.benchmark --data-dir path/to/xtreme [--tasks xnli,panx] [--preset small]

For each multilingual task: every language present in the local layout is evaluated once with a
random-weight encoder of the preset's size (time does not depend on the weights): tokenising,
then the forward passes (length-sorted batches, no gradients), then a second evaluation of the
same sets (tokenised features come from the cache). With ``--max-examples N`` each language is cut
to its first N examples and the time of the full local sets is extrapolated linearly (columns
"full"). A few training steps of the task's recipe
are timed in the same process, and a fine-tune run is estimated as XTREME's recipe would run it
(``--epochs`` over the local training split at batch 32, plus an English-dev evaluation every
``--eval-every`` steps). Prints a Markdown table; the share is zero-shot / (fine-tune + zero-shot).
Tasks that train nothing (retrieval) have no fine-tune share.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _tokenizer(specs, data_dir, vocab_size: int):
    """One WordPiece vocabulary over the tasks' training text and a sample of every language."""
    from posenc.training.tokenizer import train_wordpiece

    from .protocol import load_task_data

    texts = []
    for spec in specs:
        data = load_task_data(spec, "local", data_dir, skip_missing=True, max_eval_examples=200)
        kind = spec.task_kind
        if data.train is not None:
            texts += list(kind.texts(spec, kind.subset(spec, data.train, 5000)))
        for ds in data.languages.values():
            texts += list(kind.texts(spec, ds))
    return train_wordpiece(texts, vocab_size, lowercase=False)


def _model(spec, tokenizer, preset: str):
    import torch

    import posenc

    kind = spec.task_kind
    cfg = posenc.PosencConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                              **{**posenc.size_preset(preset), "max_position_embeddings": 512}, **kind.model_kwargs(spec))
    torch.manual_seed(0)
    return kind.auto_class().from_config(cfg).eval()


def _train_step_time(spec, data, tokenizer, model, max_length: int, steps: int) -> float | None:
    """Seconds per optimizer step of batch 32 on the task's training features (None: no training)."""
    import torch
    from torch.utils.data import DataLoader

    from .encoding import tokenize_task

    if data.train is None:
        return None
    kind = spec.task_kind
    sample = kind.subset(spec, data.train, 32 * (steps + 1))
    feats = tokenize_task(spec, {"train": sample}, tokenizer, max_length, training=True)["train"]
    feats = feats.select_columns(kind.model_columns(spec, training=True))
    loader = DataLoader(feats, batch_size=32, shuffle=True, collate_fn=kind.collator(tokenizer), drop_last=True,
                        generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    times = []
    for i, batch in enumerate(loader):
        if i > steps:
            break
        t = time.perf_counter()
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t)
    model.eval()
    return sum(times[1:]) / max(len(times) - 1, 1)  # the first step warms up


def bench_task(spec, data_dir, tokenizer, *, preset: str, batch_size: int, train_steps: int, epochs: float,
               eval_every: int, cache_dir: Path, max_examples: int | None = None) -> dict:
    from .evaluation import EvalSet
    from .protocol import load_task_data

    full = load_task_data(spec, "local", data_dir, skip_missing=True)
    data = load_task_data(spec, "local", data_dir, skip_missing=True, max_eval_examples=max_examples)
    model = _model(spec, tokenizer, preset)
    max_length = spec.max_length
    kind = spec.task_kind
    row = {"task": spec.name, "languages": len(data.languages), "missing": len(data.missing),
           "examples": sum(kind.num_examples(spec, ds) for ds in data.languages.values()),
           "examples_full": sum(kind.num_examples(spec, ds) for ds in full.languages.values())}
    t = time.perf_counter()
    sets = [EvalSet.build(spec, ds, tokenizer, batch_size=batch_size, max_length=max_length, language=lang,
                          cache_dir=cache_dir) for lang, ds in data.languages.items()]
    row["tokenise_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for s in sets:
        s.evaluate(model)
    row["evaluate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    again = [EvalSet.build(spec, ds, tokenizer, batch_size=batch_size, max_length=max_length, language=lang,
                           cache_dir=cache_dir) for lang, ds in data.languages.items()]
    row["tokenise_cached_s"] = time.perf_counter() - t
    row["examples_per_s"] = row["examples"] / max(row["evaluate_s"], 1e-9)
    row["zero_shot_s"] = (row["tokenise_s"] + row["evaluate_s"]) * row["examples_full"] / max(row["examples"], 1)
    step = _train_step_time(spec, data, tokenizer, model, max_length, train_steps)
    if step is not None:
        from .encoding import tokenize_task

        n_train = len(tokenize_task(spec, {"train": data.train}, tokenizer, max_length, training=True,
                                    cache_dir=cache_dir)["train"])
        steps = int(epochs * n_train / 32)
        dev = next(iter(full.evals.values()))
        t = time.perf_counter()
        EvalSet.build(spec, dev, tokenizer, batch_size=batch_size, max_length=max_length).evaluate(model)
        dev_s = time.perf_counter() - t
        row.update(step_s=step, steps=steps, finetune_s=steps * step + (steps // eval_every + 1) * dev_s)
        row["share"] = row["zero_shot_s"] / (row["finetune_s"] + row["zero_shot_s"])
    del again
    return row


def main(argv=None) -> int:
    import torch

    from .registry import get_task, list_tasks

    p = argparse.ArgumentParser(prog="python -m posenc.tasks.benchmark", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="the XTREME download script's folder (xnli/, panx/, ...)")
    p.add_argument("--tasks", default=None, help="comma-separated (default: every multilingual task)")
    p.add_argument("--preset", default="small", help="model size preset (small = BERT_SMALL: 512 wide, 4 layers)")
    p.add_argument("--batch-size", type=int, default=64, help="evaluation batch size")
    p.add_argument("--train-steps", type=int, default=4, help="training steps timed per task")
    p.add_argument("--epochs", type=float, default=2.0, help="epochs of the estimated fine-tune run")
    p.add_argument("--eval-every", type=int, default=500, help="English-dev evaluations of the estimated run")
    p.add_argument("--vocab-size", type=int, default=16000)
    p.add_argument("--max-examples", type=int, default=None,
                   help="evaluate the first N examples per language and extrapolate to the full local sets")
    args = p.parse_args(argv)
    names = args.tasks.split(",") if args.tasks else [n for n in list_tasks() if get_task(n).is_multilingual]
    specs = [get_task(n) for n in names]
    specs = [s for s in specs if s.local and (Path(args.data_dir) / s.local.dir).is_dir()]
    print(f"torch threads: {torch.get_num_threads()}; preset {args.preset}; tasks: {', '.join(s.name for s in specs)}",
          flush=True)
    tokenizer = _tokenizer(specs, args.data_dir, args.vocab_size)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for spec in specs:
            rows.append(bench_task(spec, args.data_dir, tokenizer, preset=args.preset, batch_size=args.batch_size,
                                   train_steps=args.train_steps, epochs=args.epochs, eval_every=args.eval_every,
                                   cache_dir=Path(cache), max_examples=args.max_examples))
            print(_table(rows[-1:]), flush=True)
    print("\n" + _table(rows))
    return 0


def _table(rows) -> str:
    head = ("| task | languages (missing) | examples timed / full | tokenise s | forward s | examples/s "
            "| zero-shot s (full) | 2nd tokenise s | train step s | fine-tune steps | est. fine-tune s | zero-shot share |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        ft = (f"{r['step_s']:.2f} | {r['steps']} | {r['finetune_s']:.0f} | {100 * r['share']:.0f}%"
              if "step_s" in r else "– | – | – | –")
        lines.append(f"| {r['task']} | {r['languages']} ({r['missing']}) | {r['examples']} / {r['examples_full']} | "
                     f"{r['tokenise_s']:.1f} | {r['evaluate_s']:.1f} | {r['examples_per_s']:.0f} | {r['zero_shot_s']:.0f} | "
                     f"{r['tokenise_cached_s']:.1f} | {ft} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

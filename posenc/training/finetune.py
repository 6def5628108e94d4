"""Recipe: fine-tune on one task of any kind, then evaluate it (zero-shot in every language for a
multilingual task).

    from posenc.training import load_config, run_finetune
    results = run_finetune(load_config("configs/finetune/sst2.yaml", ["model.from=runs/tiny-absolute"]))

setup (the task's data through ``posenc.tasks``: everything is read before training, so a
missing language stops the run early; model from a pre-train run or from scratch, with the head
the task's kind names, optionally switching the segment encoding) → train (shared loop; the first
eval split is evaluated every ``eval_every`` steps and the best checkpoint kept in ``best/``, as
the paper reports each run's best checkpoint) → evaluate (the selected checkpoint on every
language; XTREME's protocol) → cleanup (results.json, docs/CONTRACTS.md).

Kinds that are not fine-tuned (retrieval) and evaluation-only tasks (GLUE AX, predicted with a
model fine-tuned on its ``predict_with`` task) skip training. The recipe never tests a kind's
name: everything kind-specific comes from ``spec.task_kind``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from accelerate.utils import set_seed

from . import rundir
from .config import FinetuneConfig
from .engine import total_steps_for
from .loop import LoopState, run_loop
from .models import build_config, resolve_pretrained
from .recipe import open_run
from .tokenizer import build_tokenizer, load_tokenizer

DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob")


def run_name(cfg: FinetuneConfig, task_name: str) -> str:
    if cfg.name:
        return cfg.name
    src = Path(cfg.model.from_).name if cfg.model.from_ else "scratch"
    if src == "best" and cfg.model.from_:
        src = Path(cfg.model.from_).parent.name
    return f"{task_name}-{src}-s{cfg.seed}"


def _tokenizer(cfg: FinetuneConfig, acc, run_dir: Path, spec, train):
    if cfg.model.from_ and not (cfg.tokenizer.load or cfg.tokenizer.train):
        return load_tokenizer(resolve_pretrained(cfg.model.from_))
    if cfg.tokenizer.load:
        return load_tokenizer(cfg.tokenizer.load)
    if train is None:
        raise ValueError(f"task {spec.name!r} ({spec.kind}) is not fine-tuned: it evaluates a trained encoder; "
                         "set model.from (and no tokenizer.train)")
    tok_dir = run_dir / "tokenizer"
    if acc.is_main_process and not (tok_dir / "tokenizer_config.json").exists():
        tok = build_tokenizer(cfg.tokenizer.train, spec.task_kind.texts(spec, train), cfg.tokenizer.vocab_size,
                              cfg.tokenizer.lowercase, save_model_to=tok_dir, model_type=cfg.tokenizer.model_type)
        tok.save_pretrained(tok_dir)
    acc.wait_for_everyone()
    return load_tokenizer(str(tok_dir))


def _model(cfg: FinetuneConfig, spec, tokenizer, verbose: bool = True):
    kind = spec.task_kind
    auto = kind.auto_class()
    task_kw = kind.model_kwargs(spec)
    if spec.predict_with:  # the head comes from the predict_with task's fine-tuned model
        task_kw = {}
    if cfg.model.from_:
        kw = {k: getattr(cfg.model, k) for k in DROPOUT_KEYS if getattr(cfg.model, k) is not None}
        if cfg.model.segment is not None:
            kw["segment"] = cfg.model.segment  # switch the segment encoding (new parameters start at zero)
        return _load_pretrained(auto, resolve_pretrained(cfg.model.from_), cfg.model.attn_implementation, verbose,
                                **task_kw, **kw)
    return auto.from_config(build_config(cfg.model, tokenizer, **task_kw), attn_implementation=cfg.model.attn_implementation)


def _load_pretrained(auto, path: str, attn_implementation: str, verbose: bool, **kw):
    """from_pretrained with one plain line instead of transformers' load-report table: the new head
    (and any added segment encoding) is expected to be missing, the MLM head to be unused."""
    import logging

    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity(logging.ERROR)
    try:
        model, info = auto.from_pretrained(path, attn_implementation=attn_implementation, output_loading_info=True, **kw)
    finally:
        hf_logging.set_verbosity(before)

    def groups(keys):
        return sorted({".".join(k.split(".")[:2]) if k.startswith("posenc.") else k.split(".")[0] for k in keys})

    new, unused = groups(info.get("missing_keys", [])), groups(info.get("unexpected_keys", []))
    if verbose:
        print(f"loaded {path}: new (initialised) {', '.join(new) or '-'}; not used {', '.join(unused) or '-'}")
    return model


def check_predict_with(cfg: FinetuneConfig, spec, model) -> None:
    """An evaluation-only task is predicted by a model fine-tuned on ``spec.predict_with`` with the
    same labels; anything else (a pre-trained encoder, another task's model) is refused."""
    if not spec.predict_with:
        return
    fix = (f"fine-tune {spec.predict_with!r} first (posenc finetune CONFIG task={spec.predict_with}) and pass its "
           f"run: model.from=runs/<{spec.predict_with} run>")
    if not cfg.model.from_:
        raise ValueError(f"task {spec.name!r} is evaluation-only: it is predicted by a model fine-tuned on "
                         f"{spec.predict_with!r}; {fix}")
    results = Path(cfg.model.from_) / rundir.RESULTS
    if results.is_file():
        task = json.loads(results.read_text()).get("task")
        if task != spec.predict_with:
            raise ValueError(f"task {spec.name!r} is predicted by a model fine-tuned on {spec.predict_with!r}, but "
                             f"{cfg.model.from_} was fine-tuned on {task!r}; {fix}")
    labels = [model.config.id2label.get(i) for i in range(model.config.num_labels)]
    if labels != list(spec.label_names):
        raise ValueError(f"task {spec.name!r} needs a model whose labels are {spec.label_names} (fine-tuned on "
                         f"{spec.predict_with!r}); {cfg.model.from_} predicts {labels}; {fix}")


def _load_best(acc, model, run_dir: Path) -> None:
    """Put the selected checkpoint (``best/``) back into ``model`` for the final evaluation."""
    from safetensors.torch import load_file

    acc.wait_for_everyone()
    state = load_file(str(run_dir / rundir.BEST / "model.safetensors"))
    missing, unexpected = acc.unwrap_model(model).load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if k not in state]:
        tied = getattr(acc.unwrap_model(model), "_tied_weights_keys", None) or {}
        if unexpected or any(k not in tied for k in missing):
            raise RuntimeError(f"{run_dir / rundir.BEST}: does not fit the model (missing {missing}, unexpected {unexpected})")


def _split_evaluator(evalsets: dict, model, main_split: str):
    """Metrics on every eval split (the main one un-prefixed); the loop calls it."""

    def evaluate() -> dict:
        out = {}
        for split, evalset in evalsets.items():
            prefix = "" if split == main_split else f"{split}/"
            out.update({prefix + k: v for k, v in evalset.evaluate(model).items()})
        return out

    return evaluate


def _mean(per_language: dict[str, dict], names: list[str]) -> dict:
    """Unweighted mean over languages of each metric (XTREME averages languages equally)."""
    out = {}
    for name in names:
        values = [m[name] for m in per_language.values() if isinstance(m.get(name), (int, float))]
        if values:
            out[name] = float(np.mean(values))
    return out


def _zero_shot(cfg, spec, data, model, tokenizer, acc, eval_bs: int, cache_dir, step) -> dict | None:
    """The selected checkpoint on every language of a multilingual task (results.json ``zero_shot``)."""
    from posenc.tasks.evaluation import EvalSet

    if not spec.is_multilingual:
        return None
    per_language, baseline = {}, {}
    for lang, examples in data.languages.items():
        with acc.main_process_first():  # one process writes the cached features, the others read them
            evalset = EvalSet.build(spec, examples, tokenizer, batch_size=eval_bs, max_length=cfg.train.max_length,
                                    acc=acc, language=lang, cache_dir=cache_dir)
        per_language[lang] = evalset.evaluate(model)
        baseline[lang] = evalset.baseline(data.train)
        if acc.is_main_process:
            main = per_language[lang].get(spec.main_metric, float("nan"))
            print(f"  {spec.name} {lang}: {spec.main_metric} {main:.4f} ({per_language[lang]['eval_examples']} examples)",
                  flush=True)
    names = list(spec.metrics) + (["combined"] if len(spec.metrics) > 1 else [])
    return {
        "split": spec.zero_shot_split, "protocol": data.protocol, "protocol_note": data.protocol_note,
        "train_language": spec.train_language, "step": step, "languages": per_language,
        "mean": _mean(per_language, names), "baseline": baseline,
        "baseline_mean": _mean({k: v for k, v in baseline.items() if v}, names),
        "missing": data.missing, "task_languages": list(spec.languages),
    }


def _predict_tests(spec, data, model, tokenizer, acc, eval_bs: int, run_dir: Path) -> dict:
    """Predictions of unlabelled test splits (evaluation-only tasks), written as submission files."""
    from posenc.tasks import write_glue_submission
    from posenc.tasks.evaluation import EvalSet

    out = {}
    kind = spec.task_kind
    for split, examples in data.tests.items():
        evalset = EvalSet.build(spec, examples, tokenizer, batch_size=eval_bs, acc=acc, labelled=False)
        outputs, _ = evalset.predict(model)
        preds, _ = kind.predictions(spec, examples, evalset.features, outputs)
        entry = {"rows": len(preds)}
        if split in spec.submission and acc.is_main_process:
            target = spec.submission[split]
            [path] = write_glue_submission(spec, preds, run_dir / "submission", split=split,
                                           index=list(examples["idx"]), check_rows=False)
            entry.update(file=str(path.relative_to(run_dir)), expected_rows=target.rows)
            if target.rows is not None and target.rows != len(preds):
                print(f"warning: {path} holds {len(preds)} predictions; the leaderboard expects {target.rows} "
                      "(a partial test file?)", flush=True)
        out[split] = entry
    return out


def _train(run, spec, data, model, tokenizer, cache_dir):
    """Fine-tune on the train split, evaluating the eval splits every ``eval_every`` steps; the
    best checkpoint (first eval split) is kept in best/ and, for a multilingual task, put back into
    the model. Returns (model, loop state, trivial baseline, training features)."""
    from posenc.tasks import tokenize_task
    from posenc.tasks.evaluation import EvalSet

    cfg, acc, kind = run.cfg, run.acc, spec.task_kind
    with acc.main_process_first():
        train_ds = tokenize_task(spec, {spec.train_split: data.train}, tokenizer, cfg.train.max_length,
                                 training=True)[spec.train_split]
    train_ds = train_ds.select_columns(kind.model_columns(spec, training=True))
    loader, sampler = run.train_loader(train_ds, kind.collator(tokenizer))
    total = total_steps_for(cfg.train, len(loader), run.batch_plan[1])
    model, optimizer, loader, scheduler = run.prepare(model, loader, total)
    with acc.main_process_first():
        evalsets = {s: EvalSet.build(spec, ds, tokenizer, batch_size=run.eval_batch_size, max_length=cfg.train.max_length,
                                     acc=acc, cache_dir=cache_dir) for s, ds in data.evals.items()}
    state = run.restore(total)
    main_split = spec.eval_splits[0]
    baseline = evalsets[main_split].baseline(data.train)
    parts = run.loop_parts(model=model, optimizer=optimizer, scheduler=scheduler, loader=loader, sampler=sampler,
                           tokenizer=tokenizer, evaluate=_split_evaluator(evalsets, model, main_split),
                           main_metric=spec.main_metric, greater_is_better=spec.greater_is_better, total_steps=total)
    state = run_loop(parts, cfg.train, state, run.log)
    if spec.is_multilingual and state.best is not None:
        _load_best(acc, model, run.run_dir)  # zero-shot evaluation uses the checkpoint English dev selected
    return model, state, baseline, train_ds


def _evaluate_only(run, spec, data, model, tokenizer, cache_dir):
    """No fine-tuning (retrieval, evaluation-only tasks): the eval splits once, at step 0."""
    from posenc.tasks.evaluation import EvalSet

    model = run.acc.prepare(model)
    state = LoopState()
    evalsets = {s: EvalSet.build(spec, ds, tokenizer, batch_size=run.eval_batch_size,
                                 max_length=run.cfg.train.max_length, acc=run.acc, cache_dir=cache_dir)
                for s, ds in data.evals.items()}
    if evalsets:
        metrics = _split_evaluator(evalsets, model, spec.eval_splits[0])()
        state.best = state.last_eval = {"step": 0, "metrics": metrics}
        run.log.write({"step": 0, "eval": metrics, "best": True})
    return model, state


def run_finetune(cfg: FinetuneConfig, run_dir: str | Path | None = None, resume: bool = False,
                 overwrite: bool = False) -> dict:
    """Fine-tune one model on one task and evaluate it; returns the results.json dict
    (docs/CONTRACTS.md)."""
    from posenc.tasks import get_task
    from posenc.tasks.protocol import load_task_data

    spec = get_task(cfg.task)
    name = run_name(cfg, spec.name)
    run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / name
    cache_dir = cfg.data.cache_dir or str(Path(cfg.output_dir) / ".cache" / "features")
    with open_run(cfg, run_dir, resume=resume, overwrite=overwrite, kind="finetune", name=name,
                  meta={"task": spec.name}) as run:
        acc = run.acc
        # ---------------------------------------------------------------- setup
        set_seed(cfg.seed)
        with acc.main_process_first():
            data = load_task_data(spec, cfg.data.source, cfg.data.dir, languages=cfg.data.languages,
                                  skip_missing=cfg.data.skip_missing_languages,
                                  max_train_examples=cfg.data.max_train_examples,
                                  max_eval_examples=cfg.data.max_eval_examples)
        tokenizer = _tokenizer(cfg, acc, run_dir, spec, data.train)
        set_seed(cfg.seed)
        model = _model(cfg, spec, tokenizer, verbose=acc.is_main_process)
        check_predict_with(cfg, spec, model)

        # ---------------------------------------------------------------- train (or not)
        if data.train is not None:
            model, state, baseline, train_ds = _train(run, spec, data, model, tokenizer, cache_dir)
        else:
            model, state = _evaluate_only(run, spec, data, model, tokenizer, cache_dir)
            baseline, train_ds = None, []

        # ---------------------------------------------------------------- evaluate every language
        step = (state.best or {}).get("step", state.step)
        zero_shot = _zero_shot(cfg, spec, data, model, tokenizer, acc, run.eval_batch_size, cache_dir, step)
        if zero_shot is not None and data.train is None:  # nothing was selected: the languages' mean is the score
            state.best = state.last_eval = {"step": 0, "metrics": zero_shot["mean"]}
        predictions = _predict_tests(spec, data, model, tokenizer, acc, run.eval_batch_size, run_dir)

        # ---------------------------------------------------------------- cleanup
        return run.finish(run.results(
            model, state, task=spec.name, main_metric=spec.main_metric, greater_is_better=spec.greater_is_better,
            model_dir="best" if data.train is not None else cfg.model.from_,
            task_kind=spec.kind, trained=data.train is not None, metrics=list(spec.metrics),
            report_columns=spec.task_kind.report_columns(spec), majority_baseline=baseline,
            baseline_name=spec.task_kind.baseline_name,
            protocol=data.protocol, zero_shot=zero_shot, predictions=predictions or None,
            data_warnings=data.warnings + [m for r in data.reports.values() for m in r["messages"]],
            steps=state.step, train_examples=len(train_ds)))

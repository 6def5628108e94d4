"""results.json files as posenc runs write them (docs/CONTRACTS.md), for report tests and the
report screenshot: fine-tune runs with per-language zero-shot results (XTREME protocol),
pre-train runs with their unigram entropy and metrics.jsonl, a `posenc bench` CSV.

    python tests/_report_runs.py OUT_DIR     # writes a demo sweep (GLUE + XTREME + pre-training)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SLOTS = {"absolute+input": ({"name": "absolute", "max_length": None}, {"name": "input"}),
         "diet_rel+diet": ({"name": "diet_rel"}, {"name": "diet"}),
         "diet_abs(rank=128,sharing=layer)+diet": ({"name": "diet_abs", "rank": 128, "sharing": "layer"}, {"name": "diet"}),
         "t5+input": ({"name": "t5"}, {"name": "input"}),
         "absolute+none": ({"name": "absolute", "max_length": None}, {"name": "none"})}  # a sweep's pre-training label


def write_results(root: Path, name: str, res: dict) -> Path:
    d = Path(root) / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "results.json").write_text(json.dumps(res))
    return d


def base_result(encoding: str, task: str, seed: int, kind: str = "finetune", **fields) -> dict:
    position, segment = SLOTS[encoding]
    res = {"schema": 1, "status": "complete", "kind": kind, "run_name": f"{task}-{encoding}-s{seed}",
           "position": position, "segment": segment, "encoding": encoding, "task": task, "seed": seed,
           "learning_rate": 2e-5, "greater_is_better": True, "num_parameters": 1000, "tokens_per_s": 500.0,
           "step_time_s": 0.1, "train_time_s": 3.0, "peak_memory_mb": 10.0, "world_size": 1, "model_dir": "best"}
    res.update(fields)
    return res


def zero_shot_result(encoding: str, task: str, seed: int, languages: dict[str, dict], trivial: dict[str, dict],
                     metrics: list[str], *, missing: dict | None = None, task_languages: list[str] | None = None,
                     protocol: str = "paper", protocol_note: str = "", dev: float | None = None, **fields) -> dict:
    """A fine-tune run evaluated zero-shot: ``languages`` maps language -> {metric: value}."""
    combined = len(metrics) > 1

    def with_combined(m):
        return {**m, "combined": float(np.mean([m[k] for k in metrics]))} if combined else dict(m)

    langs = {lang: with_combined(m) for lang, m in languages.items()}
    main = metrics[0]
    dev_metrics = {main: dev if dev is not None else langs[next(iter(langs))][main]}
    zs = {"split": "test", "protocol": protocol, "protocol_note": protocol_note, "train_language": "en", "step": 10,
          "languages": langs, "mean": {}, "baseline": {lang: with_combined(m) for lang, m in trivial.items()},
          "missing": missing or {}, "task_languages": task_languages or list(languages)}
    return base_result(encoding, task, seed, task_kind="span_qa" if combined else "classification", trained=True,
                       main_metric=main, metrics=metrics, report_columns=metrics, protocol=protocol, zero_shot=zs,
                       best={"step": 10, "metrics": dev_metrics}, final={"step": 20, "metrics": dev_metrics},
                       majority_baseline={main: 0.0}, **fields)


def pretrain_result(root: Path, encoding: str, seed: int, losses: list[tuple[int, float]], entropy: float | None) -> Path:
    """A pre-train run with ``metrics.jsonl`` eval rows (step, loss) and, unless None, its unigram entropy."""
    best = min(losses, key=lambda x: x[1])
    res = base_result(encoding, "mlm", seed, kind="pretrain", main_metric="loss", greater_is_better=False,
                      learning_rate=5e-4, best={"step": best[0], "metrics": {"loss": best[1]}},
                      final={"step": losses[-1][0], "metrics": {"loss": losses[-1][1]}})
    if entropy is not None:
        res["unigram_entropy"] = entropy
    d = write_results(root, f"pretrain/{encoding}-s{seed}", res)
    (d / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "eval": {"loss": v}}) + "\n" for s, v in losses))
    return d


def write_bench(path: Path, rows: list[tuple[str, str, int, int, float, str]]) -> Path:
    """A `posenc bench` CSV from (model, mode, batch, length, median_ms, status) rows."""
    head = "shape,device,dtype,mode,model,impl,counterpart,kernel,compiled,batch,length,median_ms,iqr_ms,rounds,status\n"
    body = "".join(f"small,cpu,float32,{mode},{model},posenc,{model},sdpa,no,{b},{n},{ms},1.0,5,{st}\n"
                   for model, mode, b, n, ms, st in rows)
    Path(path).write_text(head + body)
    return Path(path)


def demo_sweep(root: Path, seeds=(1, 2, 3)) -> Path:
    """A plausible small sweep: three encodings, two GLUE tasks, XNLI and MLQA in four languages,
    pre-training curves. Numbers are drawn around fixed means (seeded), not measured."""
    rng = np.random.default_rng(0)
    root = Path(root)
    encs = {"absolute+input": 0.0, "diet_rel+diet": 0.03, "diet_abs(rank=128,sharing=layer)+diet": 0.01}
    step = {"absolute+input": 0.100, "diet_rel+diet": 0.112, "diet_abs(rank=128,sharing=layer)+diet": 0.104}
    params = {"absolute+input": 1_200_000, "diet_rel+diet": 1_204_000, "diet_abs(rank=128,sharing=layer)+diet": 1_150_000}
    for enc, gain in encs.items():
        for seed in seeds:
            for task, mean, trivial in (("sst2", 0.80, 0.509), ("rte", 0.55, 0.527)):
                v = float(mean + gain + rng.normal(0, 0.01))
                res = base_result(enc, task, seed, main_metric="accuracy", step_time_s=step[enc] * rng.uniform(0.7, 1.6),
                                  num_parameters=params[enc], best={"step": 10, "metrics": {"accuracy": v}},
                                  final={"step": 20, "metrics": {"accuracy": v - 0.01}},
                                  majority_baseline={"accuracy": trivial}, task_kind="classification")
                write_results(root, f"finetune/{task}/{enc}-s{seed}", res)
            langs = {"en": 0.66, "de": 0.58, "zh": 0.52, "ar": 0.47}
            xnli = {lang: {"accuracy": float(m + gain * (1 if lang == "en" else 2) + rng.normal(0, 0.008))}
                    for lang, m in langs.items()}
            write_results(root, f"finetune/xnli/{enc}-s{seed}", zero_shot_result(
                enc, "xnli", seed, xnli, {lang: {"accuracy": 0.334} for lang in langs}, ["accuracy"],
                missing={"fr": "file not found: xtreme/xnli/dev-fr.tsv"}, task_languages=list(langs) + ["fr", "ru", "sw"],
                protocol="offline substitute", protocol_note="no MNLI offline: trains on 60% of the XNLI dev premises",
                num_parameters=params[enc], step_time_s=step[enc] * rng.uniform(0.7, 1.6)))
            qa = {lang: {"mlqa_f1": float(f + 2 * gain + rng.normal(0, 0.01)), "mlqa_exact_match": float(f - 0.18 + gain)}
                  for lang, f in {"en": 0.45, "de": 0.31, "zh": 0.26, "ar": 0.22}.items()}
            write_results(root, f"finetune/mlqa/{enc}-s{seed}", zero_shot_result(
                enc, "mlqa", seed, qa, {lang: {"mlqa_f1": 0.06, "mlqa_exact_match": 0.02} for lang in qa},
                ["mlqa_f1", "mlqa_exact_match"], task_languages=list(qa) + ["es", "hi", "vi"],
                protocol="offline substitute", protocol_note="trains on TyDiQA-GoldP English",
                num_parameters=params[enc], step_time_s=step[enc] * rng.uniform(0.7, 1.6)))
        curve = [(s, float(9.0 * np.exp(-s / 60) + 5.6 - 8 * gain + rng.normal(0, 0.02))) for s in range(0, 301, 25)]
        pretrain_result(root, enc, 1, curve, entropy=6.43)
    return root


if __name__ == "__main__":
    out = demo_sweep(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/report-demo"))
    print(f"wrote a demo sweep to {out}")

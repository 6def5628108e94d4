"""Translation (``posenc translate`` runs): BLEU per encoding × direction in the layout of Chen et al.
(2021), Table 4, with chrF, the copy-the-source baseline, decoding speed, and how every number was
made (beam, length penalty form, cross-attention position, sacreBLEU signature).

Each run contributes the sacreBLEU scores of its selected checkpoint (best validation BLEU) on the
task's last evaluation split (the test set: newstest2018 for WMT18, test_2016_flickr for
Multi30k); cells are the median over seeds. Runs are recognised by what their results.json
carries (``sacrebleu`` signatures), not by a task name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import compare
from ..display import TRIVIAL, fixed_decimals, num
from .base import (FINDING_COLUMNS, FLAG_COLUMNS, HEADLINE_COLUMNS, Block, Part, ReportSection, baseline_name, frame,
                   register_section)


def translation_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """One tidy row per translation run: encoding, task, seed, the test split's scores, the
    validation score, copy-the-source baseline, decoding speed and the settings behind them."""
    rows = []
    for _, r in runs.iterrows():
        res = r.get("results")
        if not isinstance(res, dict) or "sacrebleu" not in res:
            continue
        splits = (res.get("scores") or {}).get("splits") or {}
        if not splits:
            continue
        split = list(splits)[-1]
        test, gen = splits[split], res.get("generation") or {}
        copy = (res.get("copy_source_baseline") or {}).get(split) or {}
        select = (res.get("selection") or {}).get("split")
        rows.append({
            "encoding": r["encoding"], "task": res.get("task"), "direction": res.get("direction"), "seed": res.get("seed"),
            "split": split, "bleu": test.get("bleu"), "chrf": test.get("chrf"),
            "valid_bleu": (splits.get(select) or {}).get("bleu") if select and select != split else np.nan,
            "copy_bleu": copy.get("bleu"), "decode_tokens_per_s": test.get("decode_tokens_per_s"),
            "num_beams": gen.get("num_beams"), "length_penalty": gen.get("length_penalty"),
            "length_penalty_form": gen.get("length_penalty_form"),
            "cross_attention_position": res.get("cross_attention_position"),
            "layer_norm_position": res.get("layer_norm_position"), "steps": res.get("steps"),
            "train_step_ms": 1000 * res["step_time_s"] if res.get("step_time_s") is not None else np.nan,
            "bleu_signature": (res["sacrebleu"].get("signatures") or {}).get("bleu"),
            "chrf_signature": (res["sacrebleu"].get("signatures") or {}).get("chrf"),
        })
    return pd.DataFrame(rows)


def _two(v) -> str:
    """A BLEU/chrF cell: the display rule for MT metrics (two decimals, as MT papers print them)."""
    return num(v, fixed=fixed_decimals("bleu"))


def _baseline(encodings: list[str], wanted: str | None) -> str | None:
    for name in (wanted, "sinusoidal", "absolute"):
        if name in encodings:
            return name
    return encodings[0] if encodings else None


@register_section
class TranslationSection(ReportSection):
    name = "translation"
    order = 27

    def applies(self, report) -> bool:
        return not report.runs.empty and "results" in report.runs and not translation_rows(report.runs).empty

    def build(self, report, plot_dir) -> Part:
        rows = translation_rows(report.runs)
        tasks = list(dict.fromkeys(rows["task"]))
        encodings = sorted(rows["encoding"].unique())
        base = _baseline(encodings, report.baseline)
        grouped = rows.groupby(["encoding", "task"])
        med = grouped[["bleu", "chrf", "valid_bleu", "copy_bleu", "decode_tokens_per_s", "train_step_ms"]].median()
        n = grouped.size()

        table4 = []
        for enc in encodings:
            row = {"Model": enc}
            for task in tasks:
                if (enc, task) in med.index:
                    v, copy = med.loc[(enc, task), "bleu"], med.loc[(enc, task), "copy_bleu"]
                    row[task] = _two(v) + (f" {TRIVIAL}" if pd.notna(copy) and v <= copy else "")
                    row[task] += f" (n={n[(enc, task)]})" if n[(enc, task)] != 1 else ""
                else:
                    row[task] = "–"
            table4.append(row)

        details, heads, flags, findings = [], [], [], []
        for (enc, task), m in med.iterrows():
            sub = rows[(rows["encoding"] == enc) & (rows["task"] == task)]
            first = sub.iloc[0]
            details.append({"Encoding": enc, "Task": task, "split": first["split"], "n": int(n[(enc, task)]),
                            "BLEU": _two(m["bleu"]), "chrF": _two(m["chrf"]),
                            "valid BLEU": _two(m["valid_bleu"]), "copy-source BLEU": _two(m["copy_bleu"]),
                            "decode tok/s": num(m["decode_tokens_per_s"]), "train step ms (uncontrolled)": num(m["train_step_ms"]),
                            "beam": num(first["num_beams"]), "α": num(first["length_penalty"]),
                            "cross-attention position": first["cross_attention_position"],
                            "LN": first["layer_norm_position"], "steps": num(first["steps"])})
            not_above = int((sub["bleu"] <= sub["copy_bleu"]).sum())
            heads.append({"encoding": enc, "task": task, "metric": "bleu", "median": m["bleu"],
                          "std": float(sub["bleu"].std(ddof=1)) if len(sub) > 1 else np.nan, "n": len(sub),
                          "greater_is_better": True, "percent": False, "trivial": not_above > 0})
            if not_above:
                flags.append({"encoding": enc, "task": task, "scope": "", "metric": "bleu", "percent": False,
                              "median": m["bleu"], "trivial": m["copy_bleu"], "baseline_name": baseline_name(report.runs, task),
                              "seeds_not_above": not_above, "n": len(sub)})
            if base is not None and enc != base:
                ref = rows[(rows["encoding"] == base) & (rows["task"] == task)]["bleu"].to_numpy()
                if len(ref):
                    stats = compare.compare_samples(sub["bleu"].to_numpy(), ref, True)
                    findings.append({"encoding": enc, "task": task, "scope": "", "metric": "bleu", "percent": False,
                                     "greater_is_better": True, **stats})
        found = compare.mark_clear(frame(findings, FINDING_COLUMNS)) if findings else frame([], FINDING_COLUMNS)

        forms = sorted(set(rows["length_penalty_form"].dropna()))
        crosses = sorted(set(rows["cross_attention_position"].dropna()))
        sigs = sorted(set(rows["bleu_signature"].dropna()) | set(rows["chrf_signature"].dropna()))
        text = [f"sacreBLEU BLEU (0–100) of each run's selected checkpoint (best validation BLEU) on the task's test "
                f"split, median over seeds; {TRIVIAL} = not above copying the source untranslated.",
                f"Cross-attention position term: {', '.join(crosses)} (none = Vaswani et al.; the paper does not say).",
                f"Beam search length penalty: {'; '.join(forms) or 'not recorded'} — Chen et al. (2021) decode with "
                "Tensor2Tensor's GNMT form ((5+|Y|)/6)^α, α 0.6, beam 10.",
                "Signatures: " + "; ".join(f"`{s}`" for s in sigs),
                "Paper (WMT18 newstest2018, transformer-base, 250k steps): EN-DE Vaswani 39.00, Shaw 40.10, DIET-REL "
                "39.47; EN-CS 18.55 / 18.74 / 18.68 — NOT these runs."]
        blocks = [Block("translation", "Translation (BLEU, Table 4 layout)", text, pd.DataFrame(table4),
                        standalone="table4"),
                  Block("translation_details", "Translation details", [], pd.DataFrame(details))]
        return Part(blocks=blocks, csv={"translation": rows}, headlines=frame(heads, HEADLINE_COLUMNS),
                    findings=found, flags=frame(flags, FLAG_COLUMNS))

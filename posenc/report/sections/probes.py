"""Length generalisation of the pre-trained models (probe.json): MLM loss at longer inputs."""

from __future__ import annotations

import pandas as pd

from .. import plots
from ..display import num
from .base import Block, Part, ReportSection, register_section
from .pretrain import corpus_entropy


@register_section
class ProbesSection(ReportSection):
    name = "probes"
    order = 70

    def applies(self, report) -> bool:
        return not report.probes.empty

    def build(self, report, plot_dir) -> Part:
        rows = []
        for enc, g in report.probes.groupby("encoding", sort=True):
            sup = g[g["supported"].astype(bool) & g["length"].notna()]
            unsup = g[~g["supported"].astype(bool)]
            reasons = "; ".join(sorted({str(x) for x in unsup["reason"].dropna() if str(x)})) or ("not supported" if len(unsup) else "")
            if sup.empty:
                rows.append({"Encoding": enc, "Supported": "no", "MLM loss by length (median)": "–", "Reason": reasons})
                continue
            med = sup.assign(mlm_loss=pd.to_numeric(sup["mlm_loss"], errors="coerce")).groupby("length")["mlm_loss"].median()
            rows.append({"Encoding": enc, "Supported": f"up to {int(med.index.max())}" if len(unsup) else "yes",
                         "MLM loss by length (median)": ", ".join(f"{int(n)}: {num(v)}" for n, v in med.items()), "Reason": reasons})
        entropy, _ = corpus_entropy(report.runs)
        figures = []
        if plot_dir is not None:
            fig = plots.length_generalisation(report.probes, plot_dir / "length_generalisation.png", entropy)
            figures = [fig] if fig is not None else []
        text = ["MLM loss of each pre-trained model at longer evaluation lengths (probe.json); "
                "encodings that cannot run longer inputs are listed as unsupported with the reason."]
        if entropy is not None:
            text.append(f"Reference: the corpus's unigram entropy, {entropy:.3f} nats/token (a model that ignores context).")
        return Part(blocks=[Block("probes", "Length generalisation", text, pd.DataFrame(rows), figures)],
                    csv={"probes": report.probes})

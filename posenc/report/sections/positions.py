"""What the pre-trained models learned about positions: bias-vs-offset curves, bias heat maps
and position-table similarity, drawn from each encoding's saved checkpoint."""

from __future__ import annotations

from .base import Block, Part, ReportSection, register_section


@register_section
class PositionsSection(ReportSection):
    name = "positions"
    order = 75

    def applies(self, report) -> bool:
        return not report.runs.empty and bool((report.runs["kind"] == "pretrain").any())

    def build(self, report, plot_dir) -> Part:
        if plot_dir is None:
            return Part()
        from ..checkpoint_plots import checkpoint_figures

        figures, errors = checkpoint_figures(report.runs, plot_dir, report.bias_length)
        report.figure_errors.extend(errors)
        blocks = []
        if figures:
            blocks.append(Block("positions", "Learned positions", [
                f"Drawn from each encoding's pre-trained checkpoint (lowest seed) at length {report.bias_length}. "
                "A relative bias is drawn against the offset i − j (paper Fig. 7), any other bias as per-head heat "
                "maps (Fig. 4), an input position table as the cosine similarity of its rows (Fig. 5)."], figures=figures))
        if errors:
            blocks.append(Block("figure_errors", "Checkpoints not drawn", errors, bullets=True))
        return Part(blocks=blocks)

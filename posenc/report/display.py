"""Display conventions shared by every report section and exporter.

Metrics whose values all lie in [−1, 1] (accuracy, F1, MCC, correlations) are shown ×100 like the
papers; losses, BLEU and counts as they are. The CSV export keeps raw values. Cells carry plain-text
markers that every format can show (the HTML exporter also colours them):

* ``▲`` / ``▼``: clearly better / worse than the baseline (see :data:`CLEAR_RULE`);
* ``≤triv``: at or below the task's trivial baseline (majority class, most frequent tag, first
  words of the context, ...) for at least one seed.
"""

from __future__ import annotations

import math

import pandas as pd

DISPLAY_NOTE = "Metrics in [−1, 1] (accuracy, F1, MCC, correlations) are shown ×100; losses as they are."
BETTER, WORSE, TRIVIAL = "▲", "▼", "≤triv"
MARKER_NOTE = (f"{BETTER}/{WORSE} = clearly better/worse than the baseline; {TRIVIAL} = at or below the trivial "
               "baseline (majority class, most frequent tag, ...) for at least one seed.")


def is_percent(metric: str, values) -> bool:
    """Show ×100? True for metrics that are not losses and whose values all lie in [−1, 1]."""
    name = str(metric).lower()
    if any(s in name for s in ("loss", "perplexity", "ppl", "bleu", "chrf", "mse", "mae", "entropy")):
        return False
    v = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()
    return len(v) > 0 and bool((v.abs() <= 1).all())


FIXED_DECIMALS = {"bleu": 2, "chrf": 2, "ter": 2}  # as MT papers print them


def fixed_decimals(metric) -> int | None:
    """Decimals a metric is always printed with (BLEU, chrF, TER: 2), or None (4 significant digits)."""
    name = str(metric).lower()
    return next((d for key, d in FIXED_DECIMALS.items() if key in name), None)


def num(v, percent: bool = False, decimals: int = 1, fixed: int | None = None) -> str:
    """Format a number for display (×100 with ``decimals`` when ``percent``; ``fixed`` decimals
    otherwise when given, e.g. from :func:`fixed_decimals`); NaN/None -> '–'."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–" if v is None else str(v)
    if math.isnan(f):
        return "–"
    if percent:
        return f"{100 * f:.{decimals}f}"
    if fixed is not None:
        return f"{f:,.{fixed}f}"
    return f"{f:,.0f}" if abs(f) >= 1000 else f"{f:.4g}"


def signed(v, percent: bool = False, decimals: int = 1) -> str:
    """``+1.2`` / ``−0.4`` (×100 when ``percent``); NaN -> '–'."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(f):
        return "–"
    text = f"{(100 * f if percent else f):+.{decimals}f}"
    return text.replace("-", "−")


def ratio_text(r, decimals: int = 0) -> str:
    """A ratio as a change: 1.13 -> ``+13%`` (``decimals`` after the point); NaN -> '–'."""
    try:
        f = float(r)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(f):
        return "–"
    if abs(f - 1) < 0.5 * 10 ** -(decimals + 2):
        return "±0%"
    return f"{100 * (f - 1):+.{decimals}f}%".replace("-", "−")


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def is_false(v) -> bool:
    """True for an explicit False (Python or numpy), False for True, None and NaN: "every seed beats
    the trivial baseline" is unknown, not failed, when there is no baseline."""
    if v is None:
        return False
    try:
        if pd.isna(v):
            return False
    except (TypeError, ValueError):
        pass
    return not bool(v)

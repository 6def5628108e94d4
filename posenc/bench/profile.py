"""Where one call's time goes: the operators ``torch.profiler`` records, grouped by name.

``posenc bench --profile`` runs this once per model and shape after the timed rounds and writes
the tables to ``profile.md``: the place to look when an encoding costs more than ``absolute``
(e.g. a bias copied by the fused kernel in every layer shows up as ``aten::clone`` under
``scaled_dot_product_attention``).
"""

from __future__ import annotations

from typing import Callable


def op_table(fn: Callable[[], None], top: int = 12) -> list[dict]:
    """Run ``fn`` once under the profiler; the ``top`` operators by self CPU time as dicts with
    ``op``, ``calls``, ``self_ms``, ``share`` (of the summed self time) and ``total_ms``."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [dict(op=e.key, calls=e.count, self_ms=e.self_cpu_time_total / 1e3, share=e.self_cpu_time_total / total,
                 total_ms=e.cpu_time_total / 1e3) for e in ranked]


def profile_markdown(profiles: list[dict]) -> str:
    """One section per (model, mode, batch, length): its operator table."""
    parts = []
    for p in profiles:
        lines = [f"### {p['model']} — {p['mode']} b={p['batch']} L={p['length']}", "",
                 "| operator | calls | self ms | share | total ms |", "|---|---|---|---|---|"]
        lines += [f"| `{r['op']}` | {r['calls']} | {r['self_ms']:.1f} | {r['share']:.1%} | {r['total_ms']:.1f} |"
                  for r in p["ops"]]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)

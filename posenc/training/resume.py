"""What ``--resume`` may change: the config a run resumes with is compared with the one it started
with (``RUN_DIR/config.yaml``), key by key.

A resumed run must be the run its directory describes, so only keys that change *where* or *how
often* things are written, or how long training goes on, may differ:

- ``description``, ``output_dir``, ``corpus.cache_dir``, ``data.cache_dir``: names and locations,
  not the model;
- ``train.eval_every``, ``train.save_every``, ``train.log_every``, ``train.keep_checkpoints``,
  ``train.log_with``, ``train.eval_batch_size``: cadence and bookkeeping (evaluation sums over
  examples, so its batch size does not change the metrics);
- ``train.per_device_batch_size``: the global batch stays ``train.batch_size``, only its split into
  micro-batches changes (e.g. resuming on more GPUs);
- ``train.max_steps`` / ``train.num_epochs``: train longer (or shorter, but past the checkpoint).
  The linear learning-rate decay is re-planned from the resumed step for the new total, so the run
  no longer equals an uninterrupted one of either length; the change and its step are recorded.

Anything else (learning rate, seed, batch size, model, tokenizer, data, masking) would make the
recorded config describe a run that never happened, so the resume is refused with the list of
differing keys. Allowed changes are appended to ``meta.json`` → ``resume_changes`` and copied to
``results.json``.
"""

from __future__ import annotations

SAFE_ON_RESUME = frozenset({
    "description", "output_dir", "corpus.cache_dir", "data.cache_dir",
    "train.eval_every", "train.save_every", "train.log_every", "train.keep_checkpoints", "train.log_with",
    "train.eval_batch_size", "train.per_device_batch_size", "train.max_steps", "train.num_epochs",
})
LENGTH_KEYS = ("train.max_steps", "train.num_epochs")


class ResumeConfigError(ValueError):
    """``--resume`` with a config that differs from the run's in keys that change the run."""


def flatten(d: dict, prefix: str = "") -> dict:
    """``{"train": {"lr": 1}}`` → ``{"train.lr": 1}``; lists and scalars are leaves."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_changes(old: dict, new: dict, defaults: dict | None = None) -> dict[str, tuple]:
    """``{key: (old value, new value)}`` for every leaf that differs. A key the recorded config
    lacks (written by an older posenc) counts as unchanged while it holds its default."""
    a, b, d = flatten(old), flatten(new), flatten(defaults or {})
    missing = object()
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b))
            if a.get(k, missing) != b.get(k, missing)
            and not (k not in a and k in d and b.get(k) == d[k])}


def check_resume(old: dict, new: dict, step: int, run_dir, defaults: dict | None = None) -> dict[str, tuple]:
    """The allowed changes of a resume from ``step``; raises ResumeConfigError listing the others."""
    changes = config_changes(old, new, defaults)
    refused = {k: v for k, v in changes.items() if k not in SAFE_ON_RESUME}
    if refused:
        lines = "\n".join(f"  {k}: {a!r} in the run, {b!r} now" for k, a, b in
                          ((k, *v) for k, v in refused.items()))
        raise ResumeConfigError(
            f"--resume: the config differs from the one {run_dir} was trained with:\n{lines}\n"
            f"A resumed run keeps its config (only {', '.join(sorted(SAFE_ON_RESUME))} may change). "
            "Resume without these changes, or start a new run with them (another name=... / --run-dir, "
            "or --overwrite to replace this one)")
    steps = changes.get("train.max_steps", (None, None))[1]
    if steps is not None and steps <= step:
        raise ResumeConfigError(f"--resume: train.max_steps={steps} but {run_dir} is already at step {step}; "
                                f"give more than {step} steps")
    return changes

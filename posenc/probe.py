"""Length generalisation: MLM loss of a pre-trained model at multiples of its training length.

The same held-out token stream is masked once (BERT's 15%, 80/10/10, fixed seed) and then cut
into blocks of each length, so every length scores exactly the same masked tokens — only the
context the model sees changes. Encodings whose tables cannot represent a length (``absolute``,
``diet_abs``, ``tupe``) are evaluated at the lengths they can represent and reported as
unsupported beyond them, with the reason; never crashed.

Writes ``RUN_DIR/probe.json`` (``lengths``/``mlm_loss``: the evaluated lengths; ``supported``: all of
them could be evaluated, else ``unsupported_lengths`` and ``reason`` say which and why)::

    {"lengths": [128, 256, 512], "multiples": [1, 2, 4], "mlm_loss": [...], "masked_tokens": N,
     "supported": true, "unsupported_lengths": [], "reason": "", "text": "..."}
"""

from __future__ import annotations

import gzip
import json
import math
from importlib import resources
from pathlib import Path

import torch

DEFAULT_TEXT = "posenc:probe/wikitext2_test_head.txt.gz"


def _read_lines(spec: str) -> list[str]:
    if spec.startswith("posenc:"):
        path = resources.files("posenc.resources").joinpath(spec.removeprefix("posenc:"))
        raw = path.read_bytes()
    else:
        raw = Path(spec).read_bytes()
    if spec.endswith(".gz"):
        raw = gzip.decompress(raw)
    return [line.strip() for line in raw.decode("utf-8").splitlines() if line.strip()]


def _train_length(run_dir: Path) -> int:
    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    return int(cfg["mlm"]["seq_len"])


def masked_stream(tokenizer, lines: list[str], n_tokens: int, seed: int, probability: float = 0.15):
    """(input_ids, labels) of ``n_tokens`` body tokens, masked once with BERT's 80/10/10 rule."""
    from transformers import DataCollatorForLanguageModeling

    ids: list[int] = []
    for line in lines:
        ids.extend(tokenizer(line, add_special_tokens=False)["input_ids"])
        if len(ids) >= n_tokens:
            break
    if len(ids) < n_tokens:
        raise ValueError(f"probe text has {len(ids)} tokens, {n_tokens} needed; give a longer --text file or fewer blocks")
    x = torch.tensor(ids[:n_tokens])[None]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=probability)
    collator.generator = torch.Generator().manual_seed(seed)
    inputs, labels = collator.torch_mask_tokens(x.clone(), special_tokens_mask=torch.zeros_like(x, dtype=torch.bool))
    return inputs[0], labels[0]


@torch.no_grad()
def mlm_loss_at(model, tokenizer, inputs: torch.Tensor, labels: torch.Tensor, length: int, batch_size: int = 8) -> float:
    """Mean cross-entropy over the masked tokens, the stream cut into [CLS] body [SEP] blocks."""
    body = length - 2
    n = inputs.numel() // body * body
    x, y = inputs[:n].view(-1, body), labels[:n].view(-1, body)
    cls = torch.full((x.shape[0], 1), tokenizer.cls_token_id)
    sep = torch.full((x.shape[0], 1), tokenizer.sep_token_id)
    ignore = torch.full((x.shape[0], 1), -100)
    x, y = torch.cat([cls, x, sep], 1), torch.cat([ignore, y, ignore], 1)
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for i in range(0, x.shape[0], batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        logits = model(input_ids=xb, attention_mask=torch.ones_like(xb)).logits
        keep = yb != -100
        total += float(torch.nn.functional.cross_entropy(logits[keep].float(), yb[keep], reduction="sum"))
        count += int(keep.sum())
    return total / max(count, 1)


def probe_run(run_dir: str | Path, multiples=(1.0, 2.0, 4.0), blocks: int = 32, text: str = DEFAULT_TEXT,
              seed: int = 0, write: bool = True) -> dict:
    """Probe one pre-training run directory (its ``best/`` model); returns and writes probe.json."""
    import posenc  # noqa: F401  (registers the Auto classes)
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from .training.rundir import atomic_write_json

    run_dir = Path(run_dir)
    best = run_dir / "best"
    model = AutoModelForMaskedLM.from_pretrained(best).eval()
    tokenizer = AutoTokenizer.from_pretrained(best)
    base = _train_length(run_dir)
    lengths = [int(round(base * m)) for m in multiples]
    limit = model.posenc.position_encoding.max_length
    ok = [n for n in lengths if limit is None or n <= limit]
    too_long = [n for n in lengths if n not in ok]
    # the same tokens at every length: enough for `blocks` blocks of the longest length
    inputs, labels = masked_stream(tokenizer, _read_lines(text), blocks * (max(lengths) - 2), seed)
    losses = [mlm_loss_at(model, tokenizer, inputs, labels, n) for n in ok]
    name = model.config.position["name"]
    result = {
        "lengths": ok, "multiples": list(multiples), "train_length": base,
        "mlm_loss": losses, "masked_tokens": int((labels != -100).sum()),
        "supported": not too_long, "unsupported_lengths": too_long,
        "reason": (f"{name!r} has a table of {limit} positions: lengths {', '.join(map(str, too_long))} cannot be represented"
                   if too_long else ""),
        "evaluated": dict(zip(map(str, ok), losses)), "text": text,
    }
    if any(not math.isfinite(v) for v in losses):
        result["reason"] = (result["reason"] + "; " if result["reason"] else "") + "non-finite loss"
    if write:
        atomic_write_json(run_dir / "probe.json", result)
    return result

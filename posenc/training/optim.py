"""AdamW with linear warm-up, then linear decay (BERT's schedule) or ``train.schedule:
inverse_sqrt``, lr·sqrt(warmup/step) (the Transformer's, Vaswani et al. 2017, §5.3).

Weight decay skips biases and LayerNorm weights, as in BERT. LAMB is not offered: no
maintained package provides it (torch-optimizer is unmaintained since 2021) and writing our own
is out of scope; the paper does not state its optimizer either.
"""

from __future__ import annotations

import math

import torch
from transformers import get_inverse_sqrt_schedule, get_linear_schedule_with_warmup

from .config import TrainSection


def encoding_parameters(model: torch.nn.Module) -> set[int]:
    """ids of the parameters owned by position and segment encodings."""
    from ..encodings.base import Encoding

    return {id(p) for m in model.modules() if isinstance(m, Encoding) for p in m.parameters()}


def param_groups(model: torch.nn.Module, weight_decay: float, lr: float, encoding_lr_scale: float = 1.0) -> list[dict]:
    """Weight decay off for biases and LayerNorm; the encodings' own parameters at
    ``lr × encoding_lr_scale`` (the schedule scales every group alike)."""
    owned = encoding_parameters(model) if encoding_lr_scale != 1.0 else set()
    groups: dict[tuple[bool, bool], list] = {}
    for p in model.parameters():
        if not p.requires_grad:
            continue
        # 1-d tensors are biases and LayerNorm scales; decaying them hurts (BERT, RoBERTa)
        groups.setdefault((p.ndim >= 2, id(p) in owned), []).append(p)
    return [{"params": ps, "weight_decay": weight_decay if decay else 0.0,
             "lr": lr * (encoding_lr_scale if enc else 1.0)}
            for (decay, enc), ps in sorted(groups.items())]


def warmup_steps(train: TrainSection, total_steps: int) -> int:
    if train.warmup_steps is not None:
        return min(train.warmup_steps, total_steps)
    return int(math.ceil(train.warmup_ratio * total_steps))


def build_optimizer(model: torch.nn.Module, train: TrainSection, total_steps: int):
    """(optimizer, scheduler) for ``total_steps`` optimizer steps."""
    groups = param_groups(model, train.weight_decay, train.lr, getattr(train, "encoding_lr_scale", 1.0))
    opt = torch.optim.AdamW(groups, lr=train.lr,
                            betas=(train.adam_beta1, train.adam_beta2), eps=train.adam_eps)
    warmup = warmup_steps(train, total_steps)
    if getattr(train, "schedule", "linear") == "inverse_sqrt":
        return opt, get_inverse_sqrt_schedule(opt, num_warmup_steps=warmup, timescale=max(warmup, 1))
    return opt, get_linear_schedule_with_warmup(opt, warmup, total_steps)

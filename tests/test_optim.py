"""The optimizer's parameter groups: the encodings' own parameters at lr × encoding_lr_scale."""

import pytest
import torch

from posenc import PosencConfig, PosencForMaskedLM
from posenc.training.config import TrainSection
from posenc.training.optim import build_optimizer


def _model(position):
    torch.manual_seed(0)
    return PosencForMaskedLM(PosencConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                          intermediate_size=64, max_position_embeddings=32, position=position,
                                          segment="diet"))


@pytest.mark.parametrize("position", ["diet_rel", "absolute"])
def test_encoding_parameters_take_scaled_steps(position):
    """Adam's first step moves every parameter by lr (its update is g/|g|): the position and segment
    encodings' parameters move by lr × encoding_lr_scale, the others by lr, all along the schedule."""
    model = _model(position)
    train = TrainSection(lr=1e-3, warmup_steps=2, weight_decay=0.0, encoding_lr_scale=30.0, max_grad_norm=None,
                         adam_eps=1e-30)  # so that every update is exactly lr·sign(g)
    opt, sched = build_optimizer(model, train, total_steps=10)
    opt.step()  # no gradients yet: a no-op that lets the schedule advance to lr_1 = lr / 2
    sched.step()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ids = torch.randint(0, 50, (2, 16))
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    lr_t = sched.get_last_lr()[0]
    assert lr_t == pytest.approx(1e-3 / 2)
    owned = {n for n, _ in model.named_parameters() if ".position_encoding." in n or ".segment_encoding." in n}
    assert owned  # both encodings have parameters here
    for name, p in model.named_parameters():
        moved = (p.detach() - before[name]).abs()
        moved = moved[moved > 0]
        if moved.numel() == 0:  # no gradient reached it (e.g. unused segment rows)
            continue
        expected = lr_t * (30.0 if name in owned else 1.0)
        assert moved.max().item() == pytest.approx(expected, rel=1e-3), name


def test_scale_one_keeps_two_groups():
    opt, _ = build_optimizer(_model("diet_rel"), TrainSection(lr=1e-3), total_steps=10)
    assert sorted(g["weight_decay"] for g in opt.param_groups) == [0.0, 0.01]
    assert {g["initial_lr"] for g in opt.param_groups} == {1e-3}

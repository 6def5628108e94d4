"""Report figures: offset convention, translation-invariance test, PNG output, and the
learned-position figures drawn from real saved checkpoints (with one broken checkpoint)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from posenc.report import plots
from posenc.report.checkpoint_plots import checkpoint_figures

PNG = b"\x89PNG"


def toeplitz_bias(L=6, heads=2, layers=1):
    i, j = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    return np.stack([np.stack([(h + 1) * (i - j) + 0.5 * h for h in range(heads)])] * layers)


def test_offset_curves_use_query_minus_key():
    offsets, curves = plots.offset_curves(toeplitz_bias())
    assert list(offsets) == list(range(-5, 6))
    np.testing.assert_allclose(curves[0], offsets)          # head 0: bias = i − j
    np.testing.assert_allclose(curves[1], 2 * offsets + 0.5)
    offsets, curves = plots.offset_curves(toeplitz_bias(), max_offset=2)
    assert list(offsets) == [-2, -1, 0, 1, 2]
    with pytest.raises(ValueError, match="layers, heads"):
        plots.offset_curves(np.zeros((3, 3)))


def test_translation_invariance_detection():
    assert plots.is_translation_invariant(toeplitz_bias())
    b = toeplitz_bias()
    b[0, 1, 0, 0] += 1.0  # e.g. a [CLS]-specific entry breaks invariance
    assert not plots.is_translation_invariant(b)


def test_tensor_plots_write_png(tmp_path):
    rng = np.random.default_rng(0)
    made = [plots.bias_vs_offset(toeplitz_bias(), tmp_path / "a.png", "diet_rel+diet"),
            plots.bias_heatmaps(rng.normal(size=(2, 3, 8, 8)), tmp_path / "b.png", "diet_abs+diet"),
            plots.cosine_similarity_map(rng.normal(size=(16, 4)), tmp_path / "c.png", "absolute+input", length=8)]
    for p in made:
        assert p.path.read_bytes()[:4] == PNG and p.caption
    probes = pd.DataFrame({"encoding": ["x", "x", "y"], "seed": [1, 1, 1], "length": [128, 256, None],
                           "mlm_loss": [3.0, 3.5, None], "supported": [True, True, False], "reason": ["", "", "no"],
                           "run_dir": ["a", "a", "b"]})
    assert plots.length_generalisation(probes, tmp_path / "d.png").path.read_bytes()[:4] == PNG
    assert plots.length_generalisation(probes[probes["supported"] == False], tmp_path / "e.png") is None  # noqa: E712


posenc = pytest.importorskip("posenc")


@pytest.mark.skipif(not hasattr(posenc, "PosencForMaskedLM"), reason="model code not available")
def test_checkpoint_figures_from_saved_models(tmp_path):
    import torch

    torch.manual_seed(0)
    size = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    rows = []
    for label, pos in (("absolute+input", "absolute"), ("diet_rel+none", "diet_rel"),
                       ("diet_abs+none", {"name": "diet_abs", "rank": 4})):
        run = tmp_path / label
        cfg = posenc.PosencConfig(vocab_size=50, max_position_embeddings=32, position=pos, segment="none", **size)
        posenc.PosencForMaskedLM(cfg).save_pretrained(run / "best")
        name = pos if isinstance(pos, str) else pos["name"]
        rows.append({"run_dir": str(run), "kind": "pretrain", "encoding": label, "seed": 1, "position": name,
                     "model_dir": "best"})
    broken = tmp_path / "broken"
    (broken / "best").mkdir(parents=True)
    (broken / "best" / "config.json").write_text(json.dumps({"model_type": "no_such_model"}))
    rows.append({"run_dir": str(broken), "kind": "pretrain", "encoding": "zz+broken", "seed": 1,
                 "position": "t5", "model_dir": "best"})
    made, errors = checkpoint_figures(pd.DataFrame(rows), tmp_path / "plots", seq_len=12)
    names = sorted(p.name for p in made)
    assert names == ["bias_heatmap_diet_abs_none", "bias_offset_diet_rel_none", "cosine_absolute_input"]
    assert all(Path(p.path).read_bytes()[:4] == PNG for p in made)
    assert len(errors) == 1 and "broken" in errors[0]

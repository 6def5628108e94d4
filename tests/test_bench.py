"""posenc bench (tiny shape: it runs and reports every column; no assertion on times), the
Linformer attention option, and torch.compile graph capture of every encoding."""

from __future__ import annotations

import argparse
import csv
import tempfile

import pytest
import torch

import posenc
from posenc.bench.cases import parse_case, parse_named
from posenc.bench.report import RATIO_COLUMNS, add_ratios, overhead_table
from posenc.bench.run import COLUMNS, BenchConfig, run_bench
from posenc.bench.shapes import get_shape
from posenc.bench.timing import peak_memory_bytes
from posenc.options import OptionError
from posenc.testing import sample_inputs, tiny_model

LIN = {"name": "linformer", "k": 4}


def _tiny_shape(**kw):
    return get_shape("tiny", hidden_size=32, num_attention_heads=4, intermediate_size=64, vocab_size=101, **kw)


def test_bench_command_writes_every_column(tmp_path):
    from posenc.commands import bench

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    args = parser.parse_args(["bench", "--shape", "tiny", "--lengths", "16", "--batch-sizes", "2", "--rounds", "2",
                              "--warmup", "1", "--encodings", "absolute", "diet_abs", "t5", "--peers", "bert,t5",
                              "--linformer", "4", "--out", str(tmp_path)])
    assert args.func(args) == 0
    rows = list(csv.DictReader((tmp_path / "bench.csv").open()))
    assert set(rows[0]) == set(COLUMNS + RATIO_COLUMNS)
    models = {r["model"] for r in rows}
    assert models == {"absolute", "diet_abs", "t5", "absolute@linformer(k=4)", "diet_abs@linformer(k=4)", "hf:bert", "hf:t5"}
    assert {r["mode"] for r in rows} == {"train", "infer"}
    assert all(r["status"] == "ok" and float(r["median_ms"]) > 0 and r["kernel"] in ("sdpa", "eager") for r in rows)
    assert all(float(r["x_absolute"]) > 0 for r in rows)
    t5 = next(r for r in rows if r["model"] == "t5")
    assert float(t5["x_peer"]) > 0  # posenc t5 vs HF T5EncoderModel
    text = (tmp_path / "bench.md").read_text()
    assert "| model | kernel |" in text and "hf:bert" in text
    assert (tmp_path / "bench.png").stat().st_size > 0


def test_bench_reports_errors_and_skips_without_stopping():
    cfg = BenchConfig(shape=_tiny_shape(lengths=(16, 80), batch_sizes=(1,)), models=["absolute", "rotary@linformer"],
                      modes=("infer",), rounds=1, warmup=1, memory=False)
    rows = add_ratios(run_bench(cfg, log=lambda s: None))
    status = {(r["model"], r["length"]): r["status"] for r in rows}
    assert status[("absolute", 16)] == "ok"
    assert "rotary" in status[("rotary@linformer", 16)] and status[("rotary@linformer", 16)].startswith("error")
    assert "| rotary@linformer |" in overhead_table(rows)


def test_bench_spec_parsing_and_errors():
    assert parse_named("diet_abs(rank=8,sharing=none)") == {"name": "diet_abs", "rank": 8, "sharing": "none"}
    case = parse_case("diet_abs(rank=8)@linformer(k=16)")
    assert case.position == {"name": "diet_abs", "rank": 8} and case.attention == {"name": "linformer", "k": 16}
    with pytest.raises(Exception, match="Did you mean 'diet_abs'"):
        parse_case("diet_ab")
    with pytest.raises(Exception, match="Did you mean 'deberta_v2'"):
        parse_case("hf:deberta")
    with pytest.raises(ValueError, match="Did you mean 'small'"):
        get_shape("smal")


def test_peak_memory_counts_a_known_allocation():
    def alloc():
        x = torch.empty(1024, 1024)  # 4 MiB
        del x

    peak = peak_memory_bytes(alloc, torch.device("cpu"))
    assert peak is None or 4 * 2**20 <= peak < 8 * 2**20


# --- Linformer --------------------------------------------------------------------------------

@pytest.mark.parametrize("position", ["absolute", "diet_abs", {"name": "diet_abs", "sharing": "none"}])
def test_linformer_forward_backward_save_load(position):
    model = tiny_model(position, "input", attention=LIN).train()
    ids, mask, tt = sample_inputs()
    out = model(ids, mask, tt)
    (out.last_hidden_state.pow(2).mean() + out.pooler_output.mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing
    model.eval()
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        loaded = posenc.PosencModel.from_pretrained(d).eval()
    assert loaded.config.attention == {"name": "linformer", "k": 4, "sharing": "layer", "max_length": None}
    with torch.no_grad():
        assert torch.equal(model(ids, mask, tt).last_hidden_state, loaded(ids, mask, tt).last_hidden_state)


def test_linformer_diet_abs_bias_is_n_by_k_and_kernels_agree():
    fused = tiny_model("diet_abs", "input", attention=LIN)
    assert fused.position_encoding.p_k.shape[-2] == 4  # P_K has k rows (DIET-ABS^LIN)
    assert fused.position_encoding.bias_matrix(12).shape == (1, 4, 12, 4)
    eager = tiny_model("diet_abs", "input", attention=LIN, attn_implementation="eager")
    eager.load_state_dict(fused.state_dict())
    ids, mask, tt = sample_inputs()
    with torch.no_grad():
        diff = (fused(ids, mask, tt).last_hidden_state - eager(ids, mask, tt).last_hidden_state).abs().max()
    assert float(diff) < 1e-5


def test_linformer_padding_is_zeroed_before_projection():
    model = tiny_model("absolute", "none", attention=LIN)
    ids, _, _ = sample_inputs(batch=1, length=10, pairs=False)
    mask = torch.ones_like(ids)
    mask[:, 7:] = 0
    other = ids.clone()
    other[:, 7:] = 5  # different tokens under the padding
    with torch.no_grad():
        a = model(ids, mask).last_hidden_state[:, :7]
        b = model(other, mask).last_hidden_state[:, :7]
    assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("position,segment,name", [
    ("t5", "none", "'t5'"), ("rotary", "none", "'rotary'"), ("shaw", "none", "'shaw'"),
    ("absolute", "diet", "'diet'"), ("tupe", "none", "'tupe'")])
def test_linformer_refuses_key_position_encodings(position, segment, name):
    with pytest.raises(OptionError, match=f"linformer.*{name}"):
        posenc.PosencConfig(position=position, segment=segment, attention="linformer")


def test_attention_option_errors_name_the_fix():
    with pytest.raises(OptionError, match="Did you mean 'linformer'"):
        posenc.PosencConfig(attention="linformr")
    with pytest.raises(OptionError, match="Did you mean 'k'"):
        posenc.PosencConfig(attention={"name": "linformer", "kk": 3})
    with pytest.raises(OptionError, match="k must be >= 1"):
        posenc.PosencConfig(attention={"name": "linformer", "k": 0})
    model = tiny_model("absolute", "none", attention={**LIN, "max_length": 16}, max_position_embeddings=64)
    with pytest.raises(ValueError, match="20 exceeds Linformer's projection of 16"):
        model(torch.ones(1, 20, dtype=torch.long))


# --- torch.compile ----------------------------------------------------------------------------

@pytest.mark.parametrize("position", posenc.list_encodings())
def test_every_encoding_traces_as_one_graph(position):
    """Dynamo captures the whole forward (fullgraph=True: no graph break, no host sync)."""
    torch._dynamo.reset()
    model = tiny_model(position, "diet").train()
    ids, mask, tt = sample_inputs()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    compiled(ids, mask, tt).last_hidden_state.sum().backward()


def test_compiled_training_matches_eager():
    """AOT autograd (forward + backward graphs) on a tiny model; the inductor backend takes ~40 s
    on 2 CPU cores, so CI uses aot_eager and ``posenc bench --compile`` exercises inductor."""
    torch._dynamo.reset()
    model = tiny_model({"name": "shaw", "values": True}, "diet")
    ids, mask, tt = sample_inputs()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        diff = (compiled(ids, mask, tt).last_hidden_state - model(ids, mask, tt).last_hidden_state).abs().max()
    assert float(diff) < 1e-5
    compiled(ids, mask, tt).last_hidden_state.sum().backward()
    assert model.position_encoding.value_table.grad is not None


# --- what the fused kernel is handed ------------------------------------------------------------

@pytest.mark.parametrize("position", posenc.list_encodings())
def test_static_biases_reach_attention_with_unit_last_stride(position):
    """SDPA copies an attention mask whose last stride is not 1 in every layer (t5's per-head table
    gathered with heads innermost cost +36% of an attention call at L=512); every encoding's
    once-per-forward bias must arrive dense along the keys."""
    from posenc.encodings.base import EncodingContext

    model = tiny_model(position, "diet")
    enc = model.encodings
    ctx = EncodingContext(2, 24, torch.device("cpu"), torch.float32, token_type_ids=torch.zeros(2, 24, dtype=torch.long))
    with torch.no_grad():
        enc.prepare(ctx)
        for bias in enc.static_biases(ctx, None, model.config.num_hidden_layers):
            assert bias is not None and bias.stride(-1) == 1, f"{position}: bias strides {bias.stride()}"


def test_no_memory_plot_has_time_panels_only(tmp_path):
    """``--no-memory`` leaves the memory panels out instead of drawing them empty."""
    from matplotlib.image import imread

    from posenc.bench.report import plot

    row = dict(status="ok", median_ms=5.0, batch=2, model="absolute", mode="train", length=16, peak_mem_mb=None)
    rows = [row, {**row, "length": 32, "median_ms": 9.0}, {**row, "mode": "infer"}, {**row, "mode": "infer", "length": 32}]
    one = imread(plot(rows, tmp_path / "time.png"))
    two = imread(plot([{**r, "peak_mem_mb": 3.0} for r in rows], tmp_path / "both.png"))
    assert two.shape[0] == 2 * one.shape[0]  # one row of panels instead of two


def test_cpu_clock_load_average_and_operator_profile_are_reported():
    from posenc.bench.profile import profile_markdown

    cfg = BenchConfig(shape=_tiny_shape(lengths=(16,), batch_sizes=(1,)), models=["absolute"], modes=("infer",),
                      rounds=2, warmup=1, memory=False, clock="cpu", profile=True)
    lines = []
    rows = run_bench(cfg, log=lines.append)
    assert rows[0]["status"] == "ok" and rows[0]["median_ms"] > 0
    ops = rows[0]["profile"]
    shares = [r["share"] for r in ops]  # the top operators' shares of the summed self time: ranked, at most 1 in all
    assert ops and shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-6
    assert any("linear" in r["op"] or "addmm" in r["op"] for r in ops)
    assert "### absolute — infer b=1 L=16" in profile_markdown([dict(rows[0], ops=ops)])
    assert "cpu clock" in lines[0] and "load average" in lines[0]
    with pytest.raises(ValueError, match="unknown clock 'gpu'"):
        run_bench(BenchConfig(shape=_tiny_shape(), models=["absolute"], clock="gpu"))


def test_mlm_head_bench_times_masked_and_full_projection_in_one_run():
    """``--head mlm --mlm-logits masked,all``: the pre-training step before (every token projected)
    and after (masked tokens only), on the same shapes in one run, the ratio against the masked path."""
    cfg = BenchConfig(shape=_tiny_shape(lengths=(16,), batch_sizes=(2,)), models=["absolute", "hf:bert"],
                      modes=("train",), rounds=1, warmup=1, memory=False, head="mlm", mlm_logits=("masked", "all"))
    rows = {r["model"]: r for r in add_ratios(run_bench(cfg, log=lambda s: None))}
    assert rows["absolute+mlm"]["status"] == "ok" and rows["absolute+mlm"]["x_absolute"] == 1.0
    assert rows["absolute+mlm(all logits)"]["status"] == "ok" and rows["absolute+mlm(all logits)"]["x_absolute"] > 0
    assert rows["hf:bert"]["status"].startswith("error") and "--peers ''" in rows["hf:bert"]["status"]


def test_seq2seq_bench_compares_marian_of_the_same_size_and_reports_cache_speedup(tmp_path):
    """``posenc bench --seq2seq``: Marian has exactly the trainable parameters of posenc's
    ``sinusoidal`` encoder-decoder (``absolute`` adds its two learned position tables); every row
    of the training and generation tables is written, with the kernel and the CPU-clock header."""
    from posenc.testing import single_threaded

    with single_threaded():  # tiny models: extra threads only wait for cores on a loaded machine
        _seq2seq_bench_checks(tmp_path)


def _seq2seq_bench_checks(tmp_path):
    from posenc.bench.seq2seq import Seq2SeqBenchConfig, build_marian, build_posenc
    from posenc.commands import bench

    cfg = Seq2SeqBenchConfig(encodings=[], preset="tiny", new_tokens=8)
    def trainable(m):
        return sum(p.numel() for p in m.parameters() if p.requires_grad)
    marian, table = trainable(build_marian(cfg)), 256 * 128  # max(256, new_tokens + 2) positions × width
    assert trainable(build_posenc(cfg, "sinusoidal")) == marian
    assert trainable(build_posenc(cfg, "absolute")) == marian + 2 * table

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    args = parser.parse_args(["bench", "--seq2seq", "--seq2seq-preset", "tiny", "--encodings", "absolute", "diet_rel",
                              "--generate-encodings", "diet_rel", "--rounds", "2", "--warmup", "1", "--new-tokens", "4",
                              "--batch-sizes", "2", "--vocab-size", "300",
                              "--lengths", "8", "--clock", "cpu", "--out", str(tmp_path)])
    assert args.func(args) == 0
    text = (tmp_path / "bench_seq2seq.md").read_text()
    assert "cpu clock" in text and "load average" in text
    assert "| hf:marian | " in text and "| 1.000 | sdpa |" in text
    assert "| posenc:absolute | " in text and "| posenc:absolute | 1 | " not in text  # not in --generate-encodings
    assert text.count("| posenc:diet_rel | 1 | ") == text.count("| posenc:diet_rel | 4 | ") == 1
    train_rows = [line for line in text.splitlines() if line.startswith("| posenc:") and line.endswith("|") and "sdpa" in line]
    assert len(train_rows) == 2  # both on the fused kernel
    assert not (tmp_path / "profile.md").exists()
    # --profile: one profiled training step per model (the operator tables of profile.md)
    from posenc.bench.seq2seq import bench_training

    profiles = []
    small = Seq2SeqBenchConfig(encodings=["diet_rel"], preset="tiny", vocab_size=300, batch_size=2, source_length=8,
                               target_length=8, rounds=1, warmup=0, profile=True)
    bench_training(small, log=lambda _: None, profiles=profiles)
    assert [(p["model"], p["mode"]) for p in profiles] == [("hf:marian", "train"), ("posenc:diet_rel", "train")]
    assert all(p["ops"] and sum(r["share"] for r in p["ops"]) <= 1 + 1e-9 for p in profiles)

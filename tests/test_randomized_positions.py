"""Randomized positions (Ruoss et al. 2023) as an option of every encoding that reads positions."""

import pytest
import torch

import posenc
import posenc.testing as pt
from posenc.encodings import POSITION_ENCODINGS, randomization
from posenc.encodings.randomized import PositionSampler, RandomizedPositions, sample_positions

READING = [n for n in posenc.list_encodings() if POSITION_ENCODINGS.get(n).reads_positions]
NOT_READING = [n for n in posenc.list_encodings() if not POSITION_ENCODINGS.get(n).reads_positions]
BIG_TABLE = dict(max_position_embeddings=256)  # table-bounded encodings need max_position rows


def test_sampled_positions_are_sorted_distinct_in_range_and_differ_per_row():
    torch.manual_seed(0)
    pos = sample_positions(64, 12, 100, "cpu")
    assert pos.shape == (64, 12)
    assert bool((pos[:, 1:] > pos[:, :-1]).all())  # strictly increasing: sorted and distinct
    assert int(pos.min()) >= 0 and int(pos.max()) < 100
    assert len({tuple(r) for r in pos.tolist()}) == 64  # every example its own draw
    torch.manual_seed(0)
    assert torch.equal(pos, sample_positions(64, 12, 100, "cpu"))  # deterministic under the seed
    assert not torch.equal(pos, sample_positions(64, 12, 100, "cpu"))  # the next step draws anew
    assert int(torch.cat([sample_positions(256, 3, 100, "cpu") for _ in range(4)]).max()) > 90  # the whole range is used


def test_too_many_tokens_for_the_range_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot give 20 tokens distinct randomized positions from \\[0, 16\\); raise"):
        sample_positions(1, 20, 16, "cpu")


@pytest.mark.parametrize("position", READING)
def test_every_position_reading_encoding_accepts_the_option(position):
    """Training forward of a randomized model == the plain model at the positions drawn with the same seed."""
    spec = {"name": position, "randomize": {"max_position": 200}}
    randomized = pt.tiny_model(spec, **BIG_TABLE).train()
    plain = pt.tiny_model(position, **BIG_TABLE).train()
    plain.load_state_dict(randomized.state_dict())
    ids, mask, _ = pt.sample_inputs(batch=3, length=10, pairs=False)
    torch.manual_seed(5)
    got = randomized(ids, mask).last_hidden_state
    torch.manual_seed(5)
    want = plain(ids, mask, position_ids=sample_positions(3, 10, 200, "cpu")).last_hidden_state
    assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("position", ["sinusoidal", "rotary", "alibi", "t5"])
def test_training_positions_differ_per_example_and_per_step(position):
    model = pt.tiny_model({"name": position, "randomize": 512}).train()
    ids = torch.randint(1, 97, (1, 9)).expand(2, 9)  # two identical examples
    torch.manual_seed(1)
    first = model(ids).last_hidden_state
    second = model(ids).last_hidden_state
    assert not torch.allclose(first[0], first[1], atol=1e-4)  # per example
    assert not torch.allclose(first, second, atol=1e-4)  # per step
    torch.manual_seed(1)
    assert torch.equal(first, model(ids).last_hidden_state)  # deterministic under the seed


@pytest.mark.parametrize("position", ["absolute", "rotary", "diet_rel"])
def test_eval_arange_is_the_plain_model(position):
    randomized = pt.tiny_model({"name": position, "randomize": {"max_position": 64, "eval": "arange"}})
    plain = pt.tiny_model(position)
    plain.load_state_dict(randomized.state_dict())
    ids, mask, tt = pt.sample_inputs()
    with torch.no_grad():
        assert torch.equal(randomized.eval()(ids, mask, tt).last_hidden_state, plain.eval()(ids, mask, tt).last_hidden_state)


def test_eval_sampled_is_the_papers_rule_and_deterministic():
    model = pt.tiny_model({"name": "sinusoidal", "randomize": 512}).eval()
    plain = pt.tiny_model("sinusoidal").eval()
    plain.load_state_dict(model.state_dict())
    ids, mask, _ = pt.sample_inputs(pairs=False)
    state = torch.random.get_rng_state()
    with torch.no_grad():
        a, b = model(ids, mask).last_hidden_state, model(ids, mask).last_hidden_state
        want = plain(ids, mask, position_ids=sample_positions(
            2, 12, 512, "cpu", torch.Generator().manual_seed(0))).last_hidden_state
    assert torch.equal(a, b)  # seeded per forward
    assert torch.equal(torch.random.get_rng_state(), state)  # evaluation leaves the training RNG alone
    assert torch.allclose(a, want, atol=1e-6)


def test_table_bounded_encodings_need_max_position_rows():
    for position in [n for n in READING if POSITION_ENCODINGS.get(n).extrapolation == "table"]:
        with pytest.raises(posenc.OptionError, match=f"'{position}'.*drawn from \\[0, 2048\\) but its table has 64 rows"):
            pt.tiny_model({"name": position, "randomize": 2048})
        pt.tiny_model({"name": position, "randomize": 64})  # fits


@pytest.mark.parametrize("position", NOT_READING)
def test_encodings_without_positions_refuse_the_option(position):
    with pytest.raises(posenc.OptionError, match="reads no positions"):
        posenc.PosencConfig(position={"name": position, "randomize": 2048})


def test_option_is_validated_labelled_and_saved():
    with pytest.raises(posenc.OptionError, match="unknown option 'max_positon'.*Did you mean 'max_position'"):
        posenc.PosencConfig(position={"name": "rotary", "randomize": {"max_positon": 10}})
    with pytest.raises(posenc.OptionError, match="not segment encodings"):
        posenc.PosencConfig(segment={"name": "diet", "randomize": 10})
    cfg = posenc.PosencConfig(position={"name": "rotary", "randomize": 2048})
    assert cfg.position["randomize"] == {"max_position": 2048, "eval": "sampled", "eval_seed": 0}
    assert randomization(cfg.position) == RandomizedPositions(2048)
    assert posenc.encoding_label(cfg.position, "none") == "rotary(randomize=2048)+none"
    assert posenc.encoding_label({"name": "alibi", "randomize": {"max_position": 99, "eval": "arange"}}) == \
        "alibi(randomize=99:arange)+none"
    assert "randomize" not in posenc.PosencConfig(position="rotary").position  # plain specs are unchanged
    pt.check_save_load({"name": "t5", "randomize": 100})


def test_left_padding_keeps_ranks():
    sampler = PositionSampler(RandomizedPositions(50), pt.tiny_model("rotary").position_encoding)
    torch.manual_seed(2)
    ranks = torch.tensor([[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]])
    pos = sampler(2, 5, ranks, "cpu", training=True)
    assert pos[0, 0] == pos[0, 1] == pos[0, 2] and bool((pos[:, 2:].diff(dim=-1) > 0).all())

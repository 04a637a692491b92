"""Seed completions, beam decoding, devices and compact model files."""

from __future__ import annotations

import numpy as np
import pytest
import tgahost
import torch
from tgahost import TgahostError

from tgahost_lstm import model


def _log_probs(net: model.ByteLSTM, addresses: np.ndarray) -> np.ndarray:
    """The network's log-probability of each whole address."""
    seqs = torch.from_numpy(addresses.astype(np.int64))
    with torch.no_grad():
        logits, _ = net(model._shifted(seqs))
        per_byte = torch.log_softmax(logits, dim=-1).gather(2, seqs[..., None])[..., 0]
    return per_byte.sum(dim=1).numpy()


@pytest.mark.parametrize("prefix_weight", [1.0, 0.0])
def test_completions_keep_a_seed_prefix_and_come_best_first(
    structured_model, structured, prefix_weight
) -> None:
    net = model.load_arrays(structured_model.params, structured_model.arrays)
    out = model.Sampler(net).completions(structured, keep=4000, prefix_weight=prefix_weight)
    assert len(out) == 4000 and len(np.unique(out, axis=0)) == 4000
    stems = {bytes(row[:14]) for row in structured}
    assert all(bytes(row[:14]) in stems for row in out)
    # the score is log p(ending | prefix) plus prefix_weight x log p(prefix), recomputed
    # here with the plain network rather than the sampler's unrolled arithmetic
    seqs = torch.from_numpy(out.astype(np.int64))
    with torch.no_grad():
        logits, _ = net(model._shifted(seqs))
        per_byte = torch.log_softmax(logits, dim=-1).gather(2, seqs[..., None])[..., 0].numpy()
    scores = prefix_weight * per_byte[:, :14].sum(axis=1) + per_byte[:, 14:].sum(axis=1)
    assert np.all(np.diff(scores) <= 1e-4), "completions are not best first"


def test_every_last_byte_after_a_seeds_own_15th_byte(structured_model, structured) -> None:
    net = model.load_arrays(structured_model.params, structured_model.arrays)
    seed = structured[5:6]
    out = model.Sampler(net).completions(seed, keep=100_000, prefix_weight=0.5, width=16)
    assert np.all(out[:, :14] == seed[0, :14])
    own = out[out[:, 14] == seed[0, 14]]
    assert sorted(own[:, 15]) == list(range(256))
    # plus the model's 16 best last bytes after each of its other top-16 15th bytes
    assert len(out) - len(own) in (15 * 16, 16 * 16)
    assert len(np.unique(out, axis=0)) == len(out)


def test_completions_lead_the_stream_and_mix_by_share(structured_model, structured) -> None:
    stems = {bytes(row[:14]) for row in structured}
    only = np.concatenate(
        list(tgahost.generate(structured_model, count=3000, seed=1, params={"completion_share": 1.0}))
    )
    assert len(only) == 3000 and len(np.unique(only, axis=0)) == 3000
    assert not tgahost.AddressSet(structured).contains(only).any()
    assert all(bytes(row[:14]) in stems for row in only)
    half = np.concatenate(
        list(tgahost.generate(structured_model, count=2000, seed=1, params={"completion_share": 0.5}))
    )
    # about half are the best completions; samples may draw a few more of them
    completed = tgahost.AddressSet(only).contains(half).mean()
    assert 0.45 <= completed <= 0.8, completed
    assert tgahost.AddressSet(half).contains(only[:800]).all()


def test_beam_is_ranked_and_beats_any_sample(structured_model) -> None:
    net = model.load_arrays(structured_model.params, structured_model.arrays)
    sampler = model.Sampler(net)
    ranked = sampler.most_probable(3000)
    assert len(ranked) == 3000 and len(np.unique(ranked, axis=0)) == 3000
    scores = _log_probs(net, ranked)
    assert np.all(np.diff(scores) <= 1e-4), "beam output is not most probable first"
    sampled = sampler.sample(5000, 1.0, torch.Generator().manual_seed(0))
    # the beam's best is at least as probable as anything sampling found
    assert scores[0] >= _log_probs(net, sampled).max() - 1e-4


def test_beam_candidates_are_new_exact_and_on_the_pattern(structured_model, structured) -> None:
    out = np.concatenate(
        list(
            tgahost.generate(
                structured_model, count=2000, seed=1, params={"beam_share": 1.0, "completion_share": 0.0}
            )
        )
    )
    assert len(out) == 2000 and len(np.unique(out, axis=0)) == 2000
    assert not tgahost.AddressSet(structured).contains(out).any()
    in_prefix = np.mean(np.all(out[:, :6] == [0x20, 0x01, 0x0D, 0xB8, 0, 0], axis=1))
    assert in_prefix >= 0.95, f"only {in_prefix:.0%} of beam candidates in 2001:db8:0::/48"


def test_sampling_is_still_there(structured_model) -> None:
    beam = np.concatenate(
        list(
            tgahost.generate(
                structured_model, count=500, seed=1, params={"beam_share": 1.0, "completion_share": 0.0}
            )
        )
    )
    drawn = np.concatenate(
        list(
            tgahost.generate(
                structured_model, count=500, seed=1, params={"beam_share": 0.0, "completion_share": 0.0}
            )
        )
    )
    assert not np.array_equal(beam, drawn)
    mixed = np.concatenate(
        list(
            tgahost.generate(
                structured_model, count=2000, seed=1, params={"beam_share": 0.25, "completion_share": 0.0}
            )
        )
    )
    from_beam = tgahost.AddressSet(beam).contains(mixed[:500]).mean()
    assert 0.1 <= from_beam <= 0.6, from_beam  # about a quarter, interleaved from the start


@pytest.mark.parametrize(
    ("precision", "dtype", "tolerance"), [("float16", np.float16, 2e-3), ("int8", np.int8, 0.02)]
)
def test_compact_model_files(structured, tiny, tmp_path, precision, dtype, tolerance) -> None:
    full = tgahost.train("lstm_ip", structured, params={**tiny, "epochs": 3}, seed=2)
    small = tgahost.train("lstm_ip", structured, params={**tiny, "epochs": 3, "precision": precision}, seed=2)
    assert small.arrays["lstm.weight_hh_l0" + (".int8" if precision == "int8" else "")].dtype == dtype
    full_size = tgahost.save_model(full, tmp_path / "full.tgam")
    small_size = tgahost.save_model(small, tmp_path / "small.tgam")
    assert small_size < full_size * (0.6 if precision == "float16" else 0.4)
    # the stored weights decode to the full ones, within the precision's rounding
    restored = model.expand(tgahost.load_model(tmp_path / "small.tgam").arrays)
    for name, weights in full.arrays.items():
        scale = np.abs(weights).max()
        assert np.abs(restored[name] - weights).max() <= tolerance * max(scale, 1e-6), name
    out = np.concatenate(
        list(tgahost.generate(tgahost.load_model(tmp_path / "small.tgam"), count=300, seed=1))
    )
    assert len(out) == 300


def test_device_auto_falls_back_to_the_cpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert model.resolve_device("auto").type == "cpu"
    with pytest.raises(TgahostError, match="device=cuda"):
        model.resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert model.resolve_device("auto").type == "cuda"
    assert model.resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_a_model_trained_on_the_gpu_generates_on_either(structured, tiny) -> None:
    trained = tgahost.train("lstm_ip", structured, params={**tiny, "device": "cuda"}, seed=1)
    on_gpu = np.concatenate(list(tgahost.generate(trained, count=1000, seed=1, params={"device": "cuda"})))
    on_cpu = np.concatenate(list(tgahost.generate(trained, count=1000, seed=1, params={"device": "cpu"})))
    assert len(on_gpu) == len(on_cpu) == 1000
    # same model, same ranking: the beams agree on most of their addresses
    shared = tgahost.AddressSet(on_gpu).contains(on_cpu).mean()
    assert shared >= 0.9, shared

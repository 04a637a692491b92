"""The host's guarantees on generated output, whatever the plugin."""

from __future__ import annotations

import numpy as np
import pytest

import tgahost
from tgahost import PluginHost, ShortfallError, TgaSpec, TrainedModel, api, hookimpl
from tgahost.api import DRY_BATCHES_LIMIT

from .conftest import packed


class FixedPlugin:
    """Yields the same small pool over and over: seeds, repeats and a few new addresses."""

    POOL = packed("2001:db8::1", "2001:db8::2", "2001:db8::a", "2001:db8::b", "2001:db8::a", "2001:db8::c")

    def __init__(self):
        self.batches_read = 0

    @hookimpl
    def tga_types(self):
        return [TgaSpec("fixed_ip", "a fixed pool")]

    @hookimpl
    def train_tga(self, tga_type, seeds, params, run):
        return TrainedModel({})

    @hookimpl
    def generate_targets(self, model, run):
        def batches():
            while True:
                self.batches_read += 1
                yield self.POOL

        return batches()


@pytest.fixture
def fixed():
    plugin = FixedPlugin()
    host = PluginHost(load_entry_points=False)
    host.register(plugin, name="fixed")
    model = tgahost.train("fixed_ip", packed("2001:db8::1", "2001:db8::2"), host=host)
    return host, model, plugin


def test_unique_output_is_exact_distinct_and_never_a_seed(fixed):
    host, model, _ = fixed
    got = np.concatenate(list(tgahost.generate(model, 3, unique=True, host=host)))
    assert tgahost.format_addresses(got).split() == ["2001:db8::a", "2001:db8::b", "2001:db8::c"]


def test_a_unique_shortfall_says_how_many_could_be_made(fixed):
    host, model, plugin = fixed
    made = []
    with pytest.raises(ShortfallError) as err:
        for batch in tgahost.generate(model, 10, unique=True, host=host):
            made.append(batch)
    assert err.value.made == 3 and err.value.wanted == 10
    assert "could make only 3 of the 10" in str(err.value)
    assert sum(len(b) for b in made) == 3
    assert plugin.batches_read == 1 + DRY_BATCHES_LIMIT


def test_without_unique_repeats_are_allowed_but_seeds_are_not(fixed):
    host, model, _ = fixed
    got = np.concatenate(list(tgahost.generate(model, 7, unique=False, host=host)))
    assert tgahost.format_addresses(got).split() == [
        "2001:db8::a",
        "2001:db8::b",
        "2001:db8::a",
        "2001:db8::c",
        "2001:db8::a",
        "2001:db8::b",
        "2001:db8::a",
    ]


def test_count_zero_reads_nothing(fixed):
    host, model, plugin = fixed
    assert list(tgahost.generate(model, 0, host=host)) == []
    assert plugin.batches_read == 0


def test_random_ip_is_reproducible_with_a_seed(host, seeds_200):
    model = tgahost.train("random_ip", seeds_200, host=host, seed=3)
    first = np.concatenate(list(tgahost.generate(model, 1000, seed=11, host=host)))
    again = np.concatenate(list(tgahost.generate(model, 1000, seed=11, host=host)))
    other = np.concatenate(list(tgahost.generate(model, 1000, seed=12, host=host)))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("prefix", [0, 32, 48, 64])
def test_random_ip_keeps_the_chosen_prefix_of_the_seeds(host, seeds_200, prefix):
    params = {"prefix": prefix, "iid": "random"}
    model = tgahost.train("random_ip", seeds_200, params=params, host=host, seed=1)
    got = np.concatenate(list(tgahost.generate(model, 5000, seed=2, host=host)))
    assert len(np.unique(got, axis=0)) == 5000
    if prefix == 0:
        assert (got[:, :4] == [0x20, 0x01, 0x0D, 0xB8]).all(axis=1).sum() == 0
        assert 100 < got[:, 0].mean() < 155  # uniform bytes average 127.5
        return
    keep = prefix // 8
    seed_prefixes = {row[:keep].tobytes() for row in seeds_200}
    inside = np.array([row[:keep].tobytes() in seed_prefixes for row in got])
    assert inside.all()
    # the bits after the prefix are drawn, not copied from the seeds
    assert len(np.unique(got[:, keep:], axis=0)) == 5000


def test_random_ip_low_iids_stay_in_the_seed_64s(host, seeds_200):
    model = tgahost.train("random_ip", seeds_200, host=host, seed=1)
    assert model.params == {"prefix": 64, "iid": "low"}
    got = np.concatenate(list(tgahost.generate(model, 4900, seed=2, host=host)))
    # 20 /64s x 255 low-byte IIDs, less the 200 seeds: exactly 4,900 exist
    assert len(np.unique(got, axis=0)) == 4900
    assert (got[:, 8:15] == 0).all() and (got[:, 15] > 0).all()
    with pytest.raises(tgahost.ShortfallError, match="only 4,900 of the 4,901"):
        list(tgahost.generate(model, 4901, seed=2, host=host))


def test_fallback_random_uses_the_model_prefixes_when_its_tga_is_missing(host, seeds_200, caplog):
    class Gone:
        @hookimpl
        def tga_types(self):
            return [TgaSpec("gone_ip", "soon uninstalled")]

        @hookimpl
        def train_tga(self, tga_type, seeds, params, run):
            return TrainedModel({"w": np.ones(3, dtype=np.float32)})

    with_gone = PluginHost(load_entry_points=False)
    with_gone.register(Gone(), name="gone", distribution="tgahost-gone")
    model = tgahost.train("gone_ip", seeds_200, host=with_gone)
    with pytest.raises(tgahost.TgahostError, match="install tgahost-gone, or pass --fallback random"):
        list(tgahost.generate(model, 10, host=host))
    got = np.concatenate(list(tgahost.generate(model, 500, host=host, fallback="random", seed=1)))
    assert len(got) == 500
    assert {row[:8].tobytes() for row in got} <= {row[:8].tobytes() for row in seeds_200}
    assert "falling back to random_ip" in caplog.text
    assert api.generating_type(model, host, fallback="random") == "random_ip"
    assert api.generating_type(model, with_gone, fallback="random") == "gone_ip"


def test_a_model_whose_tga_cannot_run_here_needs_the_fallback(host, seeds_200):
    class NoTorch:
        @hookimpl
        def tga_types(self):
            return [TgaSpec("heavy_ip", "needs torch", available=False, unavailable_reason="install torch")]

    model = tgahost.train("random_ip", seeds_200, host=host, seed=1)
    model.metadata["tga_type"] = "heavy_ip"
    host.register(NoTorch(), name="heavy")
    with pytest.raises(tgahost.TgahostError, match="cannot run here: install torch.*--fallback random"):
        list(tgahost.generate(model, 5, host=host))
    assert len(np.concatenate(list(tgahost.generate(model, 5, host=host, fallback="random")))) == 5

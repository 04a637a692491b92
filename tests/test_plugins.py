"""Plugin loading: in-process registration, broken entry points, conflicts, selection."""

from __future__ import annotations

import importlib.metadata
import inspect
from pathlib import Path

import numpy as np
import pytest

import tgahost
from tgahost import Param, PluginHost, TgahostError, TgaSpec, TrainedModel, hookimpl, hookspecs
from tgahost.generators import random_ip

from .conftest import packed

ROOT = Path(__file__).resolve().parents[1]


class CountingPlugin:
    """A throwaway TGA: emits 2001:db8:ffff::N for N = 1, 2, ... in order."""

    SPEC = TgaSpec(
        "counting_ip",
        "counts upwards",
        params=(Param("start", "int", 1, "first value"), Param("step", "int", 1, "stride", at_generate=True)),
        ranked=True,
    )

    @hookimpl
    def tga_types(self):
        return [self.SPEC]

    @hookimpl
    def train_tga(self, tga_type, seeds, params, run):
        if tga_type != "counting_ip":
            return None
        return TrainedModel({"start": np.array([params["start"]], dtype=np.int64)}, {"seen": len(seeds)})

    @hookimpl
    def generate_targets(self, model, run):
        if model.tga_type != "counting_ip":
            return None
        return self._batches(int(model.arrays["start"][0]), model.params["step"])

    @staticmethod
    def _batches(start, step):
        value = start
        while value < 5000:
            batch = np.zeros((100, 16), dtype=np.uint8)
            batch[:, :6] = [0x20, 0x01, 0x0D, 0xB8, 0xFF, 0xFF]
            numbers = value + step * np.arange(100)
            batch[:, 14] = numbers >> 8
            batch[:, 15] = numbers & 0xFF
            value += 100 * step
            yield batch


def test_a_throwaway_plugin_registered_in_process_trains_and_generates(tmp_path):
    host = PluginHost(load_entry_points=False)
    host.register(CountingPlugin(), name="counting")
    model = tgahost.train(
        "counting_ip", packed("2001:db8::1", "2001:db8:ffff::3"), params={"start": "2"}, host=host
    )
    assert model.metadata["params"] == {"start": 2, "step": 1}
    tgahost.save_model(model, tmp_path / "c.bin")
    got = np.concatenate(list(tgahost.generate(tmp_path / "c.bin", 5, host=host, params={"step": "2"})))
    # 2001:db8:ffff::3 is a training seed, so the host drops it and keeps the order.
    assert got[:, 15].tolist() == [2, 4, 6, 8, 10]


def test_params_fixed_at_training_cannot_be_overridden_at_generate(tmp_path):
    host = PluginHost(load_entry_points=False)
    host.register(CountingPlugin(), name="counting")
    model = tgahost.train("counting_ip", packed("2001:db8::1", "2001:db8::2"), host=host)
    with pytest.raises(TgahostError, match="fixed at training time; generate accepts: step"):
        list(tgahost.generate(model, 3, host=host, params={"start": "5"}))


def test_unknown_and_badly_typed_params_are_errors(host, seeds_200):
    with pytest.raises(TgahostError, match="random_ip has no parameter 'epochs' .*accepts: iid, prefix"):
        tgahost.train("random_ip", seeds_200, params={"epochs": "3"}, host=host)
    with pytest.raises(TgahostError, match="prefix='x'.*type int"):
        tgahost.train("random_ip", seeds_200, params={"prefix": "x"}, host=host)
    with pytest.raises(TgahostError, match="not one of: 0, 32, 48, 64"):
        tgahost.train("random_ip", seeds_200, params={"prefix": "40"}, host=host)


def _fake_entry_points(monkeypatch, *entries: tuple[str, str]):
    points = [importlib.metadata.EntryPoint(name, value, "tgahost") for name, value in entries]
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group=None: [p for p in points if p.group == group]
    )


def test_a_broken_entry_point_is_reported_and_others_still_work(monkeypatch, seeds_200):
    _fake_entry_points(
        monkeypatch,
        ("broken", "tgahost_no_such_module_anywhere"),
        ("random_ip", "tgahost.generators.random_ip"),
    )
    host = PluginHost()
    by_name = {p.name: p for p in host.plugins()}
    assert by_name["broken"].error.startswith("failed to load: ModuleNotFoundError")
    assert by_name["random_ip"].error is None
    assert [f.name for f in host.failures()] == ["broken"]
    assert tgahost.train("random_ip", seeds_200, host=host, seed=1).tga_type == "random_ip"


def test_plugin_selection_by_environment(monkeypatch):
    _fake_entry_points(
        monkeypatch, ("broken", "tgahost_no_such_module"), ("random_ip", "tgahost.generators.random_ip")
    )
    monkeypatch.setenv("TGAHOST_PLUGINS", "random_ip")
    assert [p.name for p in PluginHost().plugins()] == ["random_ip"]
    monkeypatch.setenv("TGAHOST_PLUGINS", "")
    assert PluginHost().plugins() == []


def test_two_plugins_with_one_type_conflict_but_other_types_work(seeds_200):
    class Impostor:
        @hookimpl
        def tga_types(self):
            return [TgaSpec("random_ip", "another random"), CountingPlugin.SPEC]

        @hookimpl
        def train_tga(self, tga_type, seeds, params, run):
            raise AssertionError("must not be called for a conflicting type")

    class Other:
        @hookimpl
        def tga_types(self):
            return [TgaSpec("other_ip", "only here")]

        @hookimpl
        def train_tga(self, tga_type, seeds, params, run):
            return TrainedModel({}) if tga_type == "other_ip" else None

    host = PluginHost(load_entry_points=False)
    host.register(random_ip, name="random_ip", distribution="tgahost")
    host.register(Impostor(), name="impostor", distribution="tgahost-impostor")
    host.register(Other(), name="other", distribution="tgahost-other")
    with pytest.raises(TgahostError) as err:
        tgahost.train("random_ip", seeds_200, host=host)
    assert "random_ip (tgahost) and impostor (tgahost-impostor)" in str(err.value)
    assert tgahost.train("other_ip", seeds_200, host=host).tga_type == "other_ip"
    assert sorted(n for n, owners in host.owners().items() if len(owners) > 1) == ["random_ip"]


def test_a_plugin_whose_discovery_hook_raises_is_isolated():
    class Buggy:
        @hookimpl
        def tga_types(self):
            raise RuntimeError("oops")

    host = PluginHost(load_entry_points=False)
    info = host.register(Buggy(), name="buggy")
    assert info.error == "tga_types failed: RuntimeError: oops"
    assert host.owners() == {}


def test_a_hookimpl_with_a_wrong_signature_is_rejected_not_fatal():
    class Wrong:
        @hookimpl
        def train_tga(self, tga_type, seeds, params, run, surprise):
            return None

    host = PluginHost(load_entry_points=False)
    info = host.register(Wrong(), name="wrong")
    assert info.error.startswith("rejected by the host")


def test_unavailable_types_are_listed_but_refuse_to_run(seeds_200):
    class NeedsTorch:
        @hookimpl
        def tga_types(self):
            return [
                TgaSpec("heavy_ip", "needs torch", available=False, unavailable_reason="pip install torch")
            ]

    host = PluginHost(load_entry_points=False)
    host.register(NeedsTorch(), name="heavy")
    assert host.owners()["heavy_ip"][0].name == "heavy"
    with pytest.raises(TgahostError, match="cannot run here: pip install torch"):
        tgahost.train("heavy_ip", seeds_200, host=host)


def _hookspec_names() -> list[str]:
    return [
        name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "tgahost_spec")
    ]


def test_the_hooks_are_the_documented_three():
    assert _hookspec_names() == ["generate_targets", "tga_types", "train_tga"]


@pytest.mark.parametrize("name", _hookspec_names())
def test_every_hook_has_a_real_docstring_and_a_section_in_the_plugin_docs(name):
    doc = inspect.getdoc(getattr(hookspecs, name))
    assert doc and "Returns" in doc and len(doc) > 200
    guide = (ROOT / "docs" / "plugins.md").read_text()
    assert f"### `{name}`" in guide, f"docs/plugins.md has no section for hook {name}"


def test_the_installed_host_lists_its_builtin_plugin():
    names = {spec.name for info in tgahost.get_host().plugins() for spec in info.types}
    assert "random_ip" in names


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_floats_are_refused(value):
    param = Param("rate", "float", 0.5, "a rate", minimum=0.0, maximum=1.0)
    with pytest.raises(TgahostError, match="must be a finite number"):
        param.convert(value)


def test_maximum_is_enforced():
    param = Param("holdout", "float", 0.2, "a share", minimum=0.01, maximum=0.9)
    assert param.convert("0.9") == 0.9
    with pytest.raises(TgahostError, match="must be <= 0.9"):
        param.convert("1.5")

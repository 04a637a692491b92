"""The plugin's face to the host: cheap discovery, the parameters, missing torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
import tgahost

from tgahost_lstm import plugin

SEED_DESIGN = {
    "hidden_size": "512",
    "num_layers": "2",
    "embedding_size": "0",
    "learning_rate": "0.001",
    "epochs": "100",
    "batch_size": "32",
}


def test_discovery_does_not_import_torch() -> None:
    code = (
        "import sys, tgahost\n"
        "from tgahost_lstm import plugin\n"
        "specs = plugin.tga_types()\n"
        "spec, info = tgahost.get_host().resolve('lstm_ip')\n"
        "assert specs[0].available and spec.name == 'lstm_ip'\n"
        "assert 'torch' not in sys.modules, 'torch imported on discovery'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_host_finds_the_plugin_through_its_entry_point() -> None:
    spec, info = tgahost.get_host().resolve("lstm_ip")
    assert info.distribution == "tgahost-lstm"
    assert {p.name for p in spec.params if p.at_generate} == {
        "temperature",
        "adaptive_temperature",
        "generate_batch_size",
        "device",
        "beam_share",
        "completion_share",
        "prefix_weight",
    }


def test_missing_torch_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # find_spec answers None for a module that sys.modules maps to None.
    monkeypatch.setitem(sys.modules, "torch", None)
    (spec,) = plugin.tga_types()
    assert not spec.available
    assert "pip install torch" in spec.unavailable_reason
    host = tgahost.PluginHost(load_entry_points=False)
    host.register(plugin, name="lstm_ip")
    with pytest.raises(tgahost.TgahostError, match="pip install torch"):
        host.resolve("lstm_ip")


def test_unknown_parameter_is_rejected(structured) -> None:
    with pytest.raises(tgahost.TgahostError, match="no parameter 'hiden_size'"):
        tgahost.train("lstm_ip", structured, params={"hiden_size": 8})


def test_bad_values_are_rejected(structured) -> None:
    with pytest.raises(tgahost.TgahostError, match="hidden_size"):
        tgahost.train("lstm_ip", structured, params={"hidden_size": "0"})
    with pytest.raises(tgahost.TgahostError, match="val_fraction"):
        tgahost.train("lstm_ip", structured, params={"val_fraction": 0.6, "epochs": 1})


def test_training_parameters_cannot_change_at_generate(structured_model) -> None:
    with pytest.raises(tgahost.TgahostError, match="fixed at training time"):
        list(tgahost.generate(structured_model, count=10, params={"hidden_size": 8}))


def test_seed_design_values_are_accepted() -> None:
    from tgahost_lstm import model

    spec, _ = tgahost.get_host().resolve("lstm_ip")
    params = spec.resolve_params(SEED_DESIGN)
    assert params["hidden_size"] == 512 and params["learning_rate"] == 0.001
    net = model.build(params)
    assert net.embedding is None  # one-hot input, as the seed design had
    assert net.lstm.input_size == 257 and net.lstm.hidden_size == 512 and net.lstm.num_layers == 2


def test_every_parameter_is_in_the_readme_with_its_default() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("## Parameters")[1].split("\n## ")[0]
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in table.splitlines()
        if line.startswith("| `")
    }
    for param in plugin.PARAMS:
        shown = rows.get(f"`{param.name}`")
        assert shown is not None, param.name
        default = (
            str(param.default).lower()
            if param.type == "bool"
            else f"{param.default:g}"
            if param.type == "float"
            else str(param.default)
        )
        assert shown == default, (param.name, shown, default)

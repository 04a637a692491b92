from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

import tgahost
from tgahost import TgahostError, modelfile

from .conftest import packed


@pytest.fixture
def saved(tmp_path: Path, host, seeds_200) -> Path:
    model = tgahost.train("random_ip", seeds_200, params={"prefix": "48"}, seed=7, host=host)
    model.arrays["weights"] = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "m.bin"
    tgahost.save_model(model, path)
    return path


def test_round_trip_keeps_arrays_seeds_and_metadata(saved: Path, seeds_200):
    model = tgahost.load_model(saved)
    assert model.tga_type == "random_ip"
    assert model.params == {"prefix": 48, "iid": "low"}
    assert np.array_equal(model.seeds, np.unique(seeds_200, axis=0))
    assert np.array_equal(model.arrays["weights"], np.arange(12, dtype=np.float32).reshape(3, 4))
    meta = model.metadata
    assert meta["format_version"] == modelfile.FORMAT_VERSION
    assert meta["seed_count"] == 200
    assert meta["plugin"] == {"name": "random_ip", "distribution": "tgahost", "version": "test"}
    assert meta["seeds_sha256"] == modelfile.seeds_digest(seeds_200[::-1])  # order-independent
    assert meta["info"]["train_seed"] == 7
    assert meta["created"].endswith("+00:00")


def test_file_holds_no_pickle(saved: Path):
    data = saved.read_bytes()
    assert b"\x80\x04\x95" not in data and b"\x80\x05\x95" not in data  # pickle protocol 4/5 frames


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", b"2001:db8::1\n" * 10, b"\x00" * 64, b"PK\x03\x04" + b"\x00" * 100],
)
def test_files_that_are_not_models_are_named_as_such(tmp_path: Path, content: bytes):
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    with pytest.raises(TgahostError, match="not a tgahost model file"):
        tgahost.load_model(path)


def test_a_foreign_safetensors_file_is_not_a_model(tmp_path: Path):
    path = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, dtype=np.float32)}, str(path))
    with pytest.raises(TgahostError, match="not a tgahost model file"):
        tgahost.load_model(path)


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_files_are_reported(saved: Path, keep: float):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TgahostError, match="truncated|not a tgahost model"):
        tgahost.load_model(saved)


def test_corrupted_seeds_fail_their_checksum(saved: Path):
    data = bytearray(saved.read_bytes())
    data[-1] ^= 0xFF  # the seeds are the last tensor in the file
    saved.write_bytes(bytes(data))
    with pytest.raises(TgahostError, match="checksum"):
        tgahost.load_model(saved)


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path: Path, seeds_200):
    meta = {"format": "tgahost-model", "format_version": 99, "tga_type": "x", "seeds_sha256": ""}
    path = tmp_path / "new.bin"
    save_file(
        {"seeds": seeds_200}, str(path), metadata={"format": "tgahost-model", "tgahost": json.dumps(meta)}
    )
    with pytest.raises(TgahostError, match="upgrade tgahost"):
        tgahost.load_model(path)


def test_a_model_whose_type_no_plugin_offers(saved: Path, seeds_200):
    model = tgahost.load_model(saved)
    model.metadata["tga_type"] = "quantum_ip"
    model.metadata["plugin"]["distribution"] = "tgahost-quantum"
    with pytest.raises(
        TgahostError, match="no installed plugin offers TGA type 'quantum_ip'.*tgahost-quantum"
    ):
        list(tgahost.generate(model, 10, host=tgahost.PluginHost(load_entry_points=False)))


def test_missing_file(tmp_path: Path):
    with pytest.raises(TgahostError, match="no such model file"):
        tgahost.load_model(tmp_path / "none.bin")


def test_save_is_atomic_when_the_folder_is_missing(tmp_path: Path, seeds_200, host):
    model = tgahost.train("random_ip", seeds_200, host=host, seed=1)
    with pytest.raises(TgahostError, match="does not exist"):
        tgahost.save_model(model, tmp_path / "no" / "m.bin")


def test_seeds_of_a_model_are_distinct_and_sorted(host):
    seeds = packed("2001:db8::3", "2001:db8::1", "2001:db8::3", "2001:db8::2")
    model = tgahost.train("random_ip", seeds, host=host, seed=1)
    assert model.metadata["seed_count"] == 3
    assert model.seeds.tolist() == np.unique(seeds, axis=0).tolist()


def test_corrupted_arrays_fail_their_checksum(saved: Path):
    data = bytearray(saved.read_bytes())
    header = int.from_bytes(data[:8], "little")
    data[8 + header] ^= 0x01  # the first byte of the first tensor: model.weights (sorted first)
    saved.write_bytes(bytes(data))
    with pytest.raises(TgahostError, match="arrays do not match their checksum"):
        tgahost.load_model(saved)

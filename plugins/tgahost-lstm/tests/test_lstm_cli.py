"""lstm_ip through the installed `tgahost` script, as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tgahost

from .conftest import HITLIST, TINY

TINY_ARGS = [arg for key, value in TINY.items() for arg in ("--param", f"{key}={value}")]


def _tgahost() -> str:
    found = shutil.which("tgahost", path=str(Path(sys.executable).parent)) or shutil.which("tgahost")
    if not found:
        pytest.skip("the tgahost script is not installed")
    return found


def test_train_and_generate_on_a_real_hitlist_sample(tmp_path: Path) -> None:
    if not HITLIST.is_file():
        pytest.skip(f"real seed data not found at {HITLIST}")
    sample = tmp_path / "sample.txt"
    sample.write_text("\n".join(HITLIST.read_text().splitlines()[::30]) + "\n")
    model, out = tmp_path / "m.bin", tmp_path / "t.txt"
    train = subprocess.run(
        [
            _tgahost(),
            "train",
            "--tga-type",
            "lstm_ip",
            "--input-file",
            str(sample),
            "--output-file",
            str(model),
            "--seed",
            "3",
            *TINY_ARGS,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert train.returncode == 0, train.stderr
    assert "epoch 1/" in train.stderr  # progress is shown
    generate = subprocess.run(
        [
            _tgahost(),
            "generate",
            "--model-file",
            str(model),
            "--count",
            "5000",
            "--unique",
            "--output-file",
            str(out),
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert generate.returncode == 0, generate.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 5000
    parsed = tgahost.parse_lines(lines).addresses
    assert len(parsed) == 5000
    seeds = tgahost.read_seeds(sample).addresses
    assert not tgahost.AddressSet(seeds).contains(parsed).any()
    info = subprocess.run([_tgahost(), "info", "--model-file", str(model)], capture_output=True, text=True)
    assert "TGA type:     lstm_ip" in info.stdout and "tgahost-lstm" in info.stdout


def test_without_torch_generate_needs_the_fallback(tmp_path: Path, structured_model) -> None:
    model = tmp_path / "m.bin"
    tgahost.save_model(structured_model, model)
    # sys.modules['torch'] = None makes both find_spec and import fail, as without torch.
    code = "import sys\nsys.modules['torch'] = None\nfrom tgahost.cli import main\nmain()\n"
    base = [sys.executable, "-c", code]
    listing = subprocess.run([*base, "list"], capture_output=True, text=True)
    assert "lstm_ip: " in listing.stdout and "unavailable: needs PyTorch" in listing.stdout
    failed = subprocess.run(
        [*base, "generate", "--model-file", str(model), "--count", "10"], capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert "cannot run here: needs PyTorch" in failed.stderr and "--fallback random" in failed.stderr
    fallback = subprocess.run(
        [*base, "generate", "--model-file", str(model), "--count", "10", "--unique", "--fallback", "random"],
        capture_output=True,
        text=True,
    )
    assert fallback.returncode == 0, fallback.stderr
    assert "falling back to random_ip" in fallback.stderr
    assert "addresses from random_ip in place of lstm_ip" in fallback.stderr
    got = fallback.stdout.split()
    assert len(set(got)) == 10
    rows = tgahost.parse_lines(got).addresses
    assert (rows[:, :6] == [0x20, 0x01, 0x0D, 0xB8, 0, 0]).all()  # in the seeds' /48

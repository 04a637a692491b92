"""Interrupted training carries on from its checkpoint, and never leaves a broken model file."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import tgahost
from tgahost import TgahostError

from .conftest import TINY
from .test_lstm_cli import _tgahost

STEADY = {**TINY, "time_budget": 0, "patience": 0}  # nothing that depends on the clock


def test_resuming_gives_the_same_model_as_one_long_run(structured, tmp_path: Path) -> None:
    straight = tgahost.train("lstm_ip", structured, params={**STEADY, "epochs": 6}, seed=3)
    ckpt = tmp_path / "m.ckpt"
    tgahost.train("lstm_ip", structured, params={**STEADY, "epochs": 3}, seed=3, checkpoint=ckpt)
    assert ckpt.is_file()
    # a different --seed on the resumed run must not matter: the checkpoint's seed wins
    resumed = tgahost.train(
        "lstm_ip", structured, params={**STEADY, "epochs": 6}, seed=99, checkpoint=ckpt, resume=True
    )
    info = resumed.metadata["info"]
    assert info["resumed_after_epoch"] == 3 and info["epochs_run"] == 6
    assert info["train_seed"] == 3  # what the weights came from, not the ignored 99
    for name, weights in straight.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[name], weights)


def test_a_checkpoint_of_other_params_or_seeds_is_refused(structured, tmp_path: Path) -> None:
    ckpt = tmp_path / "m.ckpt"
    tgahost.train("lstm_ip", structured, params={**STEADY, "epochs": 1}, seed=3, checkpoint=ckpt)
    with pytest.raises(TgahostError, match="other seeds or other values"):
        tgahost.train(
            "lstm_ip", structured, params={**STEADY, "hidden_size": 8}, checkpoint=ckpt, resume=True
        )
    with pytest.raises(TgahostError, match="other seeds or other values"):
        tgahost.train("lstm_ip", structured[:-1], params=STEADY, checkpoint=ckpt, resume=True)
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(TgahostError, match="cannot read checkpoint") as refused:
        tgahost.train("lstm_ip", structured, params=STEADY, checkpoint=ckpt, resume=True)
    assert "\n" not in str(refused.value)  # torch's multi-line reason cut to its first line


def test_ctrl_c_then_resume_from_the_command_line(structured, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(tgahost.format_addresses(structured).split()) + "\n")
    model = tmp_path / "m.bin"
    ckpt = tmp_path / "m.bin.ckpt"

    def command(epochs: int) -> list[str]:
        params = [a for k, v in {**STEADY, "epochs": epochs}.items() for a in ("--param", f"{k}={v}")]
        return [
            *(_tgahost(), "train", "--tga-type", "lstm_ip", "--input-file", str(seeds)),
            *("--output-file", str(model), "--seed", "1", *params),
        ]

    proc = subprocess.Popen(command(400), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ckpt.is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.is_file(), "no checkpoint appeared"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr and not model.exists()

    # training afresh would throw the interrupted run's progress away: refused
    fresh = subprocess.run(command(30), capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 1 and "holds an interrupted training" in fresh.stderr
    assert ckpt.is_file()

    # fewer epochs than asked at first: the resumed run ends soon after the checkpoint
    resumed = subprocess.run([*command(30), "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after epoch" in resumed.stderr
    assert model.is_file() and not ckpt.exists()
    assert tgahost.load_model(model).metadata["info"]["resumed_after_epoch"] >= 1


def test_resume_without_a_checkpoint_says_so(structured, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(tgahost.format_addresses(structured).split()) + "\n")
    result = subprocess.run(
        [
            *(_tgahost(), "train", "--tga-type", "lstm_ip", "--input-file", str(seeds)),
            *("--output-file", str(tmp_path / "m.bin"), "--resume"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "nothing to resume" in result.stderr and "Traceback" not in result.stderr

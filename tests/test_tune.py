"""``tgahost tune``: the search, its time and trial limits, and the command."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import tgahost
from tgahost import Param, PluginHost, TgahostError, TgaSpec, TrainedModel, hookimpl
from tgahost.cli import main
from tgahost.tuning import search, search_space

from .conftest import packed


class StepPlugin:
    """Emits seed + scale * offset * k for k = 1, 2, ...: only scale * offset == 1 finds the
    held-out neighbours ``seed + 1``. ``scale`` is fixed at training, ``offset`` at generate."""

    def __init__(self) -> None:
        self.trainings = 0

    @hookimpl
    def tga_types(self):
        return [
            TgaSpec(
                "step_ip",
                "seed plus a step",
                params=(
                    Param("scale", "int", 2, "training-time factor", tune=(2, 1)),
                    Param("offset", "int", 1, "generate-time factor", at_generate=True, tune=(1, 3)),
                ),
            )
        ]

    @hookimpl
    def train_tga(self, tga_type, seeds, params, run):
        self.trainings += 1
        return TrainedModel({})

    @hookimpl
    def generate_targets(self, model, run):
        step = model.params["scale"] * model.params["offset"]
        low = model.seeds[:, 15].astype(np.int64)

        def batches():
            for k in range(1, 6):
                out = model.seeds.copy()
                out[:, 15] = (low + step * k) % 256
                yield out

        return batches()


SEEDS = packed(*(f"2001:db8::{i:x}0" for i in range(1, 15)))
HELD_OUT = packed(*(f"2001:db8::{i:x}1" for i in range(1, 15)))


@pytest.fixture
def stepper():
    plugin = StepPlugin()
    host = PluginHost(load_entry_points=False)
    host.register(plugin, name="step")
    return host, plugin


def test_every_generate_setting_reuses_one_training(stepper) -> None:
    host, plugin = stepper
    result = search("step_ip", SEEDS, HELD_OUT, budget=14, host=host)
    assert plugin.trainings == 2  # two scales, each scored at both offsets
    assert [t.params for t in result.trials] == [
        {"scale": 2, "offset": 1},  # the defaults come first
        {"scale": 2, "offset": 3},
        {"scale": 1, "offset": 1},
        {"scale": 1, "offset": 3},
    ]
    assert [t.hits for t in result.trials] == [0, 0, 14, 0]
    assert result.best is result.trials[2] and result.best.hit_64s == 1
    assert result.stopped_by == "done"
    assert "**best**" in result.table().splitlines()[4]


def test_max_trials_and_grid_limit_the_search(stepper) -> None:
    host, _ = stepper
    result = search("step_ip", SEEDS, HELD_OUT, budget=14, host=host, max_trials=3)
    assert len(result.trials) == 3 and result.stopped_by == "max_trials"
    result = search("step_ip", SEEDS, HELD_OUT, budget=14, host=host, grid={"scale": ["1"], "offset": [1]})
    assert [t.params for t in result.trials] == [{"scale": 2, "offset": 1}, {"scale": 1, "offset": 1}]


def test_a_spent_time_budget_stops_before_the_next_training(stepper, monkeypatch) -> None:
    host, plugin = stepper
    clock = iter(range(0, 10_000, 50))  # every reading of the clock is 50 s later
    monkeypatch.setattr("tgahost.tuning.time.perf_counter", lambda: next(clock))
    result = search("step_ip", SEEDS, HELD_OUT, budget=14, host=host, time_budget=120)
    assert plugin.trainings == 1 and result.stopped_by == "time_budget"


def test_bad_grids_are_refused_in_one_line(stepper) -> None:
    host, _ = stepper
    spec, _ = host.resolve("step_ip")
    with pytest.raises(TgahostError, match="no such parameter"):
        search_space(spec, {"width": ["1"]})
    with pytest.raises(TgahostError, match="scale='x'"):
        search_space(spec, {"scale": ["x"]})
    with pytest.raises(TgahostError, match="metric"):
        search("step_ip", SEEDS, HELD_OUT, host=host, metric="recall")


def test_tune_command_writes_the_best_model_and_its_table(tmp_path, seeds_200) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(tgahost.format_addresses(seeds_200).split()) + "\n")
    out = tmp_path / "best.bin"
    args = ["tune", "--tga-type", "random_ip", "--input-file", str(seeds), "--output-file", str(out)]
    result = CliRunner().invoke(main, [*args, "--budget", "2000", "--grid", "prefix=0,64"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "prefix" not in line]
    assert len(rows) == 4  # prefix 0/64 x iid random/low
    model = tgahost.load_model(out)
    # 20 /64s with hosts ::1..::a: drawing low bytes in the seeds' /64s is the only way to hit
    assert model.params["prefix"] == 64 and model.params["iid"] == "low"
    assert model.metadata["info"]["tune"]["best"] == {"prefix": 64, "iid": "low"}
    assert len(model.seeds) == 200  # refit on every seed
    assert "| 64 | low |" in (tmp_path / "best.bin.tune.md").read_text()


def test_tune_command_errors_are_one_line(tmp_path, seeds_200) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(tgahost.format_addresses(seeds_200).split()) + "\n")
    base = ["tune", "--tga-type", "random_ip", "--input-file", str(seeds), "--output-file", "x.bin"]
    for extra, message in (
        (["--grid", "prefix"], "write it as key=v1,v2"),
        (["--grid", "width=1,2"], "no such parameter"),
        (["--grid", "prefix=64", "--param", "prefix=32"], "both as --param and searched"),
    ):
        result = CliRunner().invoke(main, base + extra)
        assert result.exit_code == 1, result.output
        assert message in result.stderr and "Traceback" not in result.output
        assert not (tmp_path / "x.bin").exists()

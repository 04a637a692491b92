"""The command line, through click's runner and through the installed script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import tgahost
from tgahost import cli

from .conftest import packed

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic-seeds.txt"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def seeds_file(tmp_path: Path) -> Path:
    path = tmp_path / "seeds.txt"
    path.write_text("".join(f"2001:db8:0:{i:x}::{j:x}\n" for i in range(20) for j in range(1, 11)))
    return path


def run(runner: CliRunner, *args: str, input: str | None = None):
    return runner.invoke(cli.main, list(args), input=input, catch_exceptions=False)


def test_list_shows_the_builtin_plugin(runner):
    result = run(runner, "list")
    assert result.exit_code == 0
    assert "random_ip  [tgahost " in result.output
    assert "prefix=64 (int, one of 0/32/48/64" in result.output


def test_list_json(runner):
    data = json.loads(run(runner, "list", "--json").output)
    plugin = next(p for p in data["plugins"] if p["plugin"] == "random_ip")
    assert plugin["distribution"] == "tgahost"
    assert plugin["status"] == "ok"
    assert plugin["tga_types"][0]["params"][0]["name"] == "prefix"
    assert data["conflicts"] == {}


def test_train_info_generate_round_trip(runner, tmp_path, seeds_file):
    model = tmp_path / "m.bin"
    out = tmp_path / "out.txt"
    result = run(
        runner,
        "train",
        "--tga-type",
        "random_ip",
        "--input-file",
        str(seeds_file),
        "--output-file",
        str(model),
        "--param",
        "prefix=48",
        "--seed",
        "5",
    )
    assert result.exit_code == 0, result.output
    assert "read 200 distinct seeds" in result.output and "200 lines, 0 duplicates)" in result.output
    info = run(runner, "info", "--model-file", str(model))
    assert "TGA type:     random_ip" in info.output
    assert "parameters:   iid=low, prefix=48" in info.output
    assert json.loads(run(runner, "info", "--model-file", str(model), "--json").output)["seed_count"] == 200
    result = run(
        runner,
        "generate",
        "--model-file",
        str(model),
        "--count",
        "1000",
        "--unique",
        "--output-file",
        str(out),
        "--seed",
        "9",
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 1000
    assert all(line.startswith("2001:db8:0:") for line in lines)
    seeds = set(seeds_file.read_text().split())
    assert not seeds & set(lines)
    again = run(runner, "generate", "--model-file", str(model), "--count", "1000", "--unique", "--seed", "9")
    assert again.stdout.splitlines() == lines


def test_full_format_and_stdin_input(runner, tmp_path):
    model = tmp_path / "m.bin"
    text = "ipv6\n" + "".join(f"2001:db8::{i:x}\n" for i in range(1, 120))
    assert (
        run(
            runner,
            "train",
            "--tga-type",
            "random_ip",
            "--input-file",
            "-",
            "--output-file",
            str(model),
            input=text,
        ).exit_code
        == 0
    )
    result = run(runner, "generate", "--model-file", str(model), "--count", "5", "--format", "full")
    assert [len(line) for line in result.stdout.splitlines()] == [39] * 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--tga-type", "nope_ip", "--input-file", "x", "--output-file", "m"],
            "no installed plugin offers",
        ),
        (
            ["train", "--tga-type", "random_ip", "--input-file", "missing.txt", "--output-file", "m"],
            "no such file",
        ),
        (
            [
                "train",
                "--tga-type",
                "random_ip",
                "--input-file",
                "x",
                "--output-file",
                "m",
                "--param",
                "oops",
            ],
            "write it as key=value",
        ),
        (["generate", "--model-file", "missing.bin", "--count", "3"], "no such model file"),
    ],
)
def test_errors_are_one_line_and_exit_1(runner, tmp_path, args, message):
    os.chdir(tmp_path)
    result = runner.invoke(cli.main, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("tgahost: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def test_bad_seed_line_is_reported_and_no_model_is_written(runner, tmp_path):
    seeds = tmp_path / "s.txt"
    seeds.write_text("2001:db8::1\n2001:db8::2\n10.1.2.3\n")
    model = tmp_path / "m.bin"
    result = runner.invoke(
        cli.main,
        ["train", "--tga-type", "random_ip", "--input-file", str(seeds), "--output-file", str(model)],
    )
    assert result.exit_code == 1
    assert f"{seeds}:3: an IPv4 address" in result.stderr
    assert not model.exists()
    ok = runner.invoke(
        cli.main,
        [
            "train",
            "--tga-type",
            "random_ip",
            "--input-file",
            str(seeds),
            "--output-file",
            str(model),
            "--skip-invalid",
        ],
    )
    assert ok.exit_code == 0 and model.exists()


class TinySpacePlugin:
    """Random addresses inside 2001:db8::/120: only 256 exist."""

    @tgahost.hookimpl
    def tga_types(self):
        return [tgahost.TgaSpec("tiny_ip", "a /120")]

    @tgahost.hookimpl
    def train_tga(self, tga_type, seeds, params, run):
        return tgahost.TrainedModel({})

    @tgahost.hookimpl
    def generate_targets(self, model, run):
        rng = run.rng()
        while True:
            batch = np.tile(packed("2001:db8::"), (100, 1))
            batch[:, 15] = rng.integers(0, 256, 100)
            yield batch


def test_unique_shortfall_fails_and_leaves_no_output_file(runner, tmp_path, monkeypatch):
    host = tgahost.PluginHost(load_entry_points=False)
    host.register(TinySpacePlugin(), name="tiny")
    monkeypatch.setattr(cli, "get_host", lambda: host)
    seeds = tmp_path / "s.txt"
    seeds.write_text("2001:db8::1\n2001:db8::2\n")
    model = tmp_path / "m.bin"
    assert (
        run(
            runner, "train", "--tga-type", "tiny_ip", "--input-file", str(seeds), "--output-file", str(model)
        ).exit_code
        == 0
    )
    out = tmp_path / "out.txt"
    result = runner.invoke(
        cli.main,
        ["generate", "--model-file", str(model), "--count", "300", "--unique", "--output-file", str(out)],
    )
    assert result.exit_code == 1
    assert "could make only 254 of the 300" in result.stderr
    assert not out.exists()
    fine = run(
        runner,
        "generate",
        "--model-file",
        str(model),
        "--count",
        "254",
        "--unique",
        "--output-file",
        str(out),
    )
    assert fine.exit_code == 0
    assert len(set(out.read_text().split())) == 254


def _script(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.skip(f"{name} script is not installed")
    return found


def test_installed_script_and_python_m_run_the_main_job(tmp_path):
    tgahost_script = _script("tgahost")
    model = tmp_path / "m.bin"
    out = tmp_path / "t.txt"
    subprocess.run(
        [
            tgahost_script,
            "train",
            "--tga-type",
            "random_ip",
            "--input-file",
            str(SYNTHETIC),
            "--output-file",
            str(model),
            "--seed",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tgahost",
            "generate",
            "--model-file",
            str(model),
            "--count",
            "2000",
            "--unique",
            "--output-file",
            str(out),
            "--seed",
            "1",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "generated 2,000 distinct addresses" in done.stderr
    lines = out.read_text().splitlines()
    assert len(set(lines)) == 2000
    seeds = set(tgahost.format_addresses(tgahost.read_seeds(SYNTHETIC).addresses).split())
    assert not seeds & set(lines)


def test_script_errors_are_one_line_without_traceback(tmp_path):
    done = subprocess.run(
        [_script("tgahost"), "generate", "--model-file", str(SYNTHETIC), "--count", "3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"tgahost: error: {SYNTHETIC}: not a tgahost model file; make one with `tgahost train`"
    ]


def test_help_and_list_do_not_import_torch():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from tgahost import cli\n"
        "r = CliRunner()\n"
        "assert r.invoke(cli.main, ['--help']).exit_code == 0\n"
        "assert r.invoke(cli.main, ['list']).exit_code == 0\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_version(runner):
    assert run(runner, "--version").output.strip() == f"tgahost, version {tgahost.__version__}"


def test_verbose_flag_and_environment_turn_on_debug(runner, tmp_path, seeds_file, monkeypatch):
    model = tmp_path / "m.bin"
    args = ["train", "--tga-type", "random_ip", "--input-file", str(seeds_file), "--output-file", str(model)]
    seeds_file.write_text(seeds_file.read_text() + "junk line\n")
    quiet = runner.invoke(cli.main, [*args, "--skip-invalid"])
    assert "skipping 'junk line'" not in quiet.stderr
    loud = runner.invoke(cli.main, ["-v", *args, "--skip-invalid"])
    assert "skipping 'junk line'" in loud.stderr
    monkeypatch.setenv("TGAHOST_LOG", "debug")
    env = runner.invoke(cli.main, [*args, "--skip-invalid"])
    assert "skipping 'junk line'" in env.stderr


def test_synthetic_seed_file_is_what_its_script_makes():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_synthetic_seeds
    finally:
        sys.path.pop(0)
    lines = [line for line in SYNTHETIC.read_text().splitlines() if not line.startswith("#")]
    assert lines == make_synthetic_seeds.make(len(lines))
    assert SYNTHETIC.read_text().startswith("# SYNTHETIC")


def test_end_to_end_on_a_real_hitlist_sample(runner, tmp_path, shared_data):
    sample = tmp_path / "sample.txt"
    lines = (shared_data / "hitlist-90k.txt").read_text().splitlines()
    sample.write_text("\n".join(lines[::9]) + "\n")
    model = tmp_path / "m.bin"
    out = tmp_path / "t.txt"
    assert (
        run(
            runner,
            "train",
            "--tga-type",
            "random_ip",
            "--input-file",
            str(sample),
            "--output-file",
            str(model),
        ).exit_code
        == 0
    )
    assert (
        run(
            runner,
            "generate",
            "--model-file",
            str(model),
            "--count",
            "20000",
            "--unique",
            "--output-file",
            str(out),
        ).exit_code
        == 0
    )
    got = out.read_text().splitlines()
    assert len(set(got)) == 20000
    parsed = tgahost.parse_lines(got).addresses
    assert len(parsed) == 20000
    seeds = tgahost.read_seeds(sample).addresses
    assert not tgahost.AddressSet(seeds).contains(parsed).any()
    seed_64s = {row.tobytes() for row in seeds[:, :8]}
    assert {row.tobytes() for row in parsed[:, :8]} <= seed_64s


class _Impostor:
    @tgahost.hookimpl
    def tga_types(self):
        return [tgahost.TgaSpec("random_ip", "a second random_ip")]


def test_list_shows_conflicts_and_broken_plugins_and_train_warns_once(
    runner, tmp_path, seeds_file, monkeypatch
):
    from tgahost.generators import random_ip

    host = tgahost.PluginHost(load_entry_points=False)
    host.register(random_ip, name="random_ip", distribution="tgahost", version="0.1.0")
    host.register(_Impostor(), name="impostor", distribution="tgahost-impostor", version="9")
    broken = host.register(object(), name="broken", distribution="tgahost-broken")
    broken.error = "failed to load: ImportError: no module named torch_extra"
    monkeypatch.setattr(cli, "get_host", lambda: host)
    listing = run(runner, "list").output
    assert "CONFLICT: also offered by tgahost, tgahost-impostor" in listing
    assert "broken  [tgahost-broken]  ERROR: failed to load: ImportError" in listing
    assert json.loads(run(runner, "list", "--json").output)["conflicts"] == {
        "random_ip": ["random_ip", "impostor"]
    }
    result = runner.invoke(
        cli.main,
        [
            "train",
            "--tga-type",
            "random_ip",
            "--input-file",
            str(seeds_file),
            "--output-file",
            str(tmp_path / "m.bin"),
        ],
    )
    assert result.exit_code == 1
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "tgahost: warning: plugin broken failed to load: ImportError: no module named torch_extra "
        "(see `tgahost list`)"
    ]
    assert (
        "offered by more than one plugin: random_ip (tgahost) and impostor (tgahost-impostor)"
        in result.stderr
    )


def test_generate_honours_an_exclude_list(runner, tmp_path, seeds_file):
    model = tmp_path / "m.bin"
    run(
        runner,
        "train",
        "--tga-type",
        "random_ip",
        "--input-file",
        str(seeds_file),
        "--output-file",
        str(model),
    )
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("# aliased\n" + "".join(f"2001:db8:0:{i:x}::/64\n" for i in range(10)))
    out = tmp_path / "t.txt"
    result = run(
        runner,
        "generate",
        "--model-file",
        str(model),
        "--count",
        "2000",
        "--unique",
        "--exclude",
        str(exclude),
        "--output-file",
        str(out),
        "--seed",
        "1",
    )
    assert result.exit_code == 0, result.output
    got = tgahost.parse_lines(out.read_text().splitlines()).addresses
    assert len(got) == 2000
    assert set(got[:, 7].tolist()) == set(range(10, 20))  # only the /64s not excluded


def test_an_output_file_that_is_a_folder_is_refused_and_nothing_is_left(runner, tmp_path, seeds_file):
    model = tmp_path / "m.bin"
    run(
        runner,
        "train",
        "--tga-type",
        "random_ip",
        "--input-file",
        str(seeds_file),
        "--output-file",
        str(model),
    )
    folder = tmp_path / "out"
    folder.mkdir()
    result = runner.invoke(
        cli.main, ["generate", "--model-file", str(model), "--count", "5", "--output-file", str(folder)]
    )
    assert result.exit_code == 1
    assert "is a directory" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "out", "seeds.txt"]


def test_counts_in_messages_agree_with_their_nouns(tmp_path):
    seeds = tmp_path / "one.txt"
    seeds.write_text("2001:db8::1\n2001:db8::1\n2001:db8::2\n")
    runner = CliRunner()
    model = str(tmp_path / "m")
    args = ["train", "--tga-type", "random_ip", "--input-file", str(seeds), "--output-file", model]
    result = runner.invoke(cli.main, args)
    assert "read 2 distinct seeds from" in result.output
    assert "(3 lines, 1 duplicate)" in result.output


@pytest.mark.parametrize(
    ("command", "where"),
    [
        (["train", "--tga-type", "random_ip", "--output-file"], "missing/m.bin"),
        (["train", "--tga-type", "random_ip", "--output-file"], "seeds.txt/m.bin"),
        (["tune", "--tga-type", "random_ip", "--output-file"], "missing/m.bin"),
        (["eval", "--tga-type", "random_ip", "--plot"], "missing/p.png"),
    ],
)
def test_an_unwritable_output_is_refused_before_any_work(runner, tmp_path, seeds_file, command, where):
    result = runner.invoke(cli.main, [*command, str(tmp_path / where), "--input-file", str(seeds_file)])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "does not exist" in result.stderr or "is a file, not a folder" in result.stderr
    assert "distinct seeds" not in result.stderr  # refused before the seeds were read


def test_generate_into_a_path_under_a_file_is_a_one_line_error(runner, tmp_path, seeds_file):
    model = tmp_path / "m.bin"
    train = ["train", "--tga-type", "random_ip", "--input-file", str(seeds_file), "--output-file", str(model)]
    run(runner, *train)
    result = runner.invoke(
        cli.main,
        ["generate", "--model-file", str(model), "--count", "5", "--output-file", str(model / "x.txt")],
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == f"tgahost: error: {model / 'x.txt'}: {model} is a file, not a folder"

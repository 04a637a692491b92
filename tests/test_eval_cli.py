"""tgahost eval: the split, the metrics, candidate files, JSON and the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import tgahost
from tgahost import cli, evaluation

from .conftest import packed


@pytest.fixture
def split_files(tmp_path: Path) -> tuple[Path, Path]:
    train = tmp_path / "train.txt"
    test = tmp_path / "test.txt"
    train.write_text("".join(f"2001:db8:0:{i:x}::1\n" for i in range(10)))
    # held out: ::2 in /64s 0..4, ::3 in /64 0, and one in a /64 no seed covers
    test.write_text("".join(f"2001:db8:0:{i:x}::2\n" for i in range(5)) + "2001:db8::3\n2001:db8:9:9::1\n")
    return train, test


def test_candidates_file_is_scored_in_file_order_with_drops_counted(tmp_path, split_files):
    train, test = split_files
    candidates = tmp_path / "cand.txt"
    candidates.write_text(
        "2001:db8::1\n"  # a training address: dropped
        "2001:db8::2\n"  # hit
        "not an address\n"  # invalid: dropped
        "2001:db8::2\n"  # duplicate: dropped
        "2001:db8:0:1::2\n"  # hit
        "2001:db8:0:1::99\n"  # miss
        "2001:db8::3\n"  # hit (same /64 as the first hit)
        "2001:db8:0:2::2\n"  # beyond budget 4
    )
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--train-file",
            str(train),
            "--test-file",
            str(test),
            "--candidates",
            str(candidates),
            "--budget",
            "2",
            "--budget",
            "4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (scored,) = data["results"]
    assert scored["dropped"] == {"invalid": 1, "duplicate": 1, "training": 1}
    at2, at4 = scored["budgets"]
    assert (at2["budget"], at2["hits"], at2["hit_64s"]) == (2, 2, 2)
    assert (at4["budget"], at4["hits"], at4["hit_64s"], at4["hit_48s"]) == (4, 3, 2, 1)
    assert at4["hit_rate"] == 0.75
    assert at4["recall"] == 3 / 7
    assert at4["held_out_64s"] == 6 and at4["held_out_64_share"] == 2 / 6
    assert data["held_out"] == 7 and data["train"] == 10
    assert at4["seconds"] is None and "candidates_per_second" not in at4  # made elsewhere: no rate


def test_json_schema_for_a_tga(tmp_path, split_files):
    train, test = split_files
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--train-file",
            str(train),
            "--test-file",
            str(test),
            "--tga-type",
            "random_ip",
            "--budget",
            "50",
            "--budget",
            "100",
            "--json",
            "--same-process",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"source", "train", "held_out", "held_out_64s", "budgets", "results"}
    (res,) = data["results"]
    assert res["name"] == "random_ip" and res["note"] is None
    assert res["train_seconds"] >= 0 and res["peak_rss_mib"] > 0
    assert [b["budget"] for b in res["budgets"]] == [50, 100]
    expected = {
        "budget",
        "hits",
        "hit_64s",
        "hit_48s",
        "held_out",
        "held_out_64s",
        "hits_outside_exclude",
        "seconds",
        "hit_rate",
        "recall",
        "held_out_64_share",
        "candidates_per_second",
    }
    assert set(res["budgets"][0]) == expected
    # random low-byte IIDs in the 10 seed /64s: 2001:db8:0:<i>::2 (i < 5) and ::3 are within reach
    assert res["budgets"][1]["hits"] >= res["budgets"][0]["hits"]


def test_budgets_are_cumulative_prefixes_of_one_stream(split_files):
    rng_stream = [packed(*(f"2001:db8:0:{i % 5:x}::{i:x}" for i in range(1, 60)))]
    held_out = packed("2001:db8::2", "2001:db8:0:1::6", "2001:db8:0:3::3a")
    hits, note = evaluation.score_stream(rng_stream, held_out, [5, 10, 59])
    assert note is None
    assert [h.hits for h in hits] == [0, 1, 2]
    assert [h.budget for h in hits] == [5, 10, 59]


def test_a_stream_that_runs_dry_is_scored_and_noted():
    hits, note = evaluation.score_stream(
        [packed("2001:db8::1", "2001:db8::2")], packed("2001:db8::2"), [1, 10]
    )
    assert [h.budget for h in hits] == [1, 2]
    assert [h.hits for h in hits] == [0, 1]
    assert note == "stream ended after 2 candidates"


def test_exclude_reports_hits_outside_the_prefixes(tmp_path, split_files):
    train, test = split_files
    candidates = tmp_path / "c.txt"
    candidates.write_text("2001:db8::2\n2001:db8::3\n2001:db8:0:1::2\n")
    exclude = tmp_path / "aliased.txt"
    exclude.write_text("2001:db8::/64\n")
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--train-file",
            str(train),
            "--test-file",
            str(test),
            "--candidates",
            str(candidates),
            "--budget",
            "3",
            "--exclude",
            str(exclude),
        ],
    )
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[1:3]
    assert "hits outside" in header
    cells = row.split()
    assert cells[1:4] == ["3", "3", "100.00%"] and cells[4] == "1"


def test_write_split_and_the_default_types(tmp_path):
    seeds = tmp_path / "s.txt"
    seeds.write_text("".join(f"2001:db8:0:{i % 7:x}::{i:x}\n" for i in range(1, 201)))
    out = tmp_path / "split"
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--input-file",
            str(seeds),
            "--budget",
            "100",
            "--write-split",
            str(out),
            "--same-process",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    train = tgahost.read_seeds(out / "train.txt").addresses
    test = tgahost.read_seeds(out / "test.txt").addresses
    assert (len(train), len(test)) == (160, 40)
    assert not tgahost.AddressSet(train).contains(test).any()
    names = [r["name"] for r in json.loads(result.stdout)["results"]]
    assert "random_ip" in names


def test_eval_errors_are_one_line(tmp_path, split_files):
    train, _ = split_files
    runner = CliRunner()
    result = runner.invoke(cli.main, ["eval", "--train-file", str(train)])
    assert result.exit_code == 1 and "give --train-file and --test-file together" in result.stderr
    result = runner.invoke(cli.main, ["eval", "--input-file", str(train), "--param", "epochs=3"])
    assert result.exit_code == 1 and "eval needs TYPE.key=value" in result.stderr


def test_plot_is_a_png(tmp_path, split_files):
    pytest.importorskip("matplotlib")
    train, test = split_files
    png = tmp_path / "hits.png"
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--train-file",
            str(train),
            "--test-file",
            str(test),
            "--tga-type",
            "random_ip",
            "--budget",
            "20",
            "--budget",
            "200",
            "--same-process",
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000


def test_per_tga_process_reports_memory_and_survives_errors(split_files):
    train = tgahost.read_seeds(split_files[0]).addresses
    test = tgahost.read_seeds(split_files[1]).addresses
    good = evaluation.evaluate_tga_in_process("random_ip", train, test, [10])
    assert good.note is None and good.peak_rss_mib > 10 and good.budgets[0].budget == 10
    bad = evaluation.evaluate_tga_in_process("no_such_ip", train, test, [10])
    assert "no installed plugin offers TGA type 'no_such_ip'" in bad.note

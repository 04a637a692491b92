from __future__ import annotations

import bz2
import gzip
import logging
import lzma
from pathlib import Path

import numpy as np
import pytest

from tgahost import TgahostError, parse_lines, read_seeds
from tgahost.addresses import AddressSet, AddressWriter, format_addresses

from .conftest import packed, texts


def parse(text: str, **kw) -> list[str]:
    return texts(parse_lines(text.splitlines(keepends=True), source="t.txt", **kw).addresses)


def test_compressed_full_and_bare_hex_mean_the_same_address():
    got = parse(
        "2001:db8::1\n"
        "2001:0db8:0000:0000:0000:0000:0000:0002\n"
        "20010db8000000000000000000000003\n"
        "20010DB8000000000000000000000004\n"
    )
    assert got == ["2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"]


def test_csv_first_column_comments_blank_lines_and_crlf():
    got = parse(
        '2001:db8::2,icmp,64\r\n\r\n# a comment\r\n2001:db8::1  # trailing note\r\n"2001:db8::3",x\r\n'
    )
    assert got == ["2001:db8::1", "2001:db8::2", "2001:db8::3"]


def test_duplicates_are_removed_and_counted():
    seeds = parse_lines(["2001:db8::1\n", "2001:db8:0::1\n", "2001:db8::2\n"])
    assert len(seeds) == 2
    assert seeds.duplicates == 1
    assert seeds.lines == 3


def test_header_line_is_skipped_with_a_note(caplog):
    with caplog.at_level(logging.INFO, logger="tgahost"):
        seeds = parse_lines(["saddr,proto\n", "2001:db8::1,icmp\n", "2001:db8::2,icmp\n"], source="h.csv")
    assert seeds.header == "saddr,proto"
    assert len(seeds) == 2
    assert "h.csv:1: skipping header line" in caplog.text


@pytest.mark.parametrize("first", ["1.2.3.4", "2001:db8::zz", "\x00\x9f\x12binary", "::1/128"])
def test_a_first_line_that_is_no_name_is_an_error_not_a_header(first):
    with pytest.raises(TgahostError, match=r"h.txt:1: "):
        parse_lines([first + "\n", "2001:db8::1\n", "2001:db8::2\n"], source="h.txt")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("192.0.2.1", "an IPv4 address"),
        ("2001:db8::/32", "a prefix (CIDR)"),
        ("fe80::1%eth0", "zone id"),
        ("2001:db8::g", "not an IPv6 address"),
        ("2001:db8:1:2:3:4:5:6:7", "not an IPv6 address"),
        ("hello world", "not an IPv6 address"),
    ],
)
def test_a_bad_line_after_the_first_names_file_line_and_text(line, reason):
    with pytest.raises(TgahostError) as err:
        parse_lines(["2001:db8::1\n", "2001:db8::2\n", line + "\n"], source="seeds.txt")
    message = str(err.value)
    assert message.startswith("seeds.txt:3: " + reason)
    assert repr(line) in message
    assert "--skip-invalid" in message
    assert "\n" not in message


def test_skip_invalid_skips_and_counts(caplog):
    lines = ["2001:db8::1\n", "10.0.0.1\n", "junk\n", "2001:db8::2\n"]
    with caplog.at_level(logging.WARNING, logger="tgahost"):
        seeds = parse_lines(lines, source="s.txt", skip_invalid=True)
    assert texts(seeds.addresses) == ["2001:db8::1", "2001:db8::2"]
    assert seeds.skipped_invalid == 2
    assert "skipped 2 invalid line(s)" in caplog.text


@pytest.mark.parametrize(("suffix", "opener"), [(".gz", gzip.open), (".xz", lzma.open), (".bz2", bz2.open)])
def test_compressed_files_are_read(tmp_path: Path, suffix, opener):
    path = tmp_path / ("seeds.txt" + suffix)
    with opener(path, "wt") as f:
        f.write("2001:db8::1\n2001:db8::2\n")
    assert texts(read_seeds(path).addresses) == ["2001:db8::1", "2001:db8::2"]


def test_fewer_than_two_seeds_is_an_error(tmp_path: Path):
    path = tmp_path / "one.txt"
    path.write_text("2001:db8::1\n2001:db8::1\n")
    with pytest.raises(TgahostError, match="1 distinct address"):
        read_seeds(path)


def test_fewer_than_a_hundred_seeds_warns(tmp_path: Path, caplog):
    path = tmp_path / "few.txt"
    path.write_text("".join(f"2001:db8::{i:x}\n" for i in range(1, 51)))
    with caplog.at_level(logging.WARNING, logger="tgahost"):
        assert len(read_seeds(path)) == 50
    assert "only 50 distinct seeds" in caplog.text


def test_missing_file_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(TgahostError, match="no such file"):
        read_seeds(tmp_path / "nope.txt")


def test_formats_compressed_and_full():
    batch = packed("2001:db8::1", "::ffff:0:1", "2001:db8:0:1:0:0:0:1")
    assert format_addresses(batch) == "2001:db8::1\n::ffff:0.0.0.1\n2001:db8:0:1::1\n"
    assert format_addresses(batch[:1], "full") == "2001:0db8:0000:0000:0000:0000:0000:0001\n"
    assert format_addresses(batch[:0]) == ""


def test_output_round_trips_through_the_parser():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, size=(500, 16), dtype=np.uint8)
    batch[::3, 8:14] = 0  # compressible runs of zeros
    for fmt in ("compressed", "full"):
        again = parse_lines(format_addresses(batch, fmt).splitlines()).addresses
        assert np.array_equal(again, np.unique(batch, axis=0))


def test_writer_leaves_nothing_behind_on_failure(tmp_path: Path):
    target = tmp_path / "out.txt"
    target.write_text("old content\n")
    with pytest.raises(RuntimeError), AddressWriter(target) as writer:
        writer.write(packed("2001:db8::1"))
        raise RuntimeError("boom")
    assert target.read_text() == "old content\n"
    assert list(tmp_path.iterdir()) == [target]


def test_writer_replaces_the_file_on_success(tmp_path: Path):
    target = tmp_path / "out.txt"
    with AddressWriter(target, "full") as writer:
        writer.write(packed("2001:db8::1", "2001:db8::2"))
    assert target.read_text().splitlines() == [
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "2001:0db8:0000:0000:0000:0000:0000:0002",
    ]
    assert writer.written == 2


def test_address_set_marks_first_occurrences_only():
    seen = AddressSet(packed("2001:db8::1"))
    mask = seen.add_new(packed("2001:db8::1", "2001:db8::2", "2001:db8::2", "2001:db8::3"))
    assert mask.tolist() == [False, True, False, True]
    assert len(seen) == 3
    assert seen.contains(packed("2001:db8::3", "2001:db8::4")).tolist() == [True, False]
    assert seen.add_new(packed("2001:db8::3", "::")).tolist() == [False, True]


def test_address_set_agrees_with_python_sets_on_random_batches():
    rng = np.random.default_rng(1)
    seen = AddressSet()
    reference: set[bytes] = set()
    for _ in range(20):
        batch = rng.integers(0, 4, size=(300, 16), dtype=np.uint8)  # many repeats
        mask = seen.add_new(batch)
        expected = []
        for row in batch:
            key = row.tobytes()
            expected.append(key not in reference)
            reference.add(key)
        assert mask.tolist() == expected
    assert len(seen) == len(reference)


def test_written_files_get_ordinary_permissions(tmp_path: Path):
    import os

    target = tmp_path / "out.txt"
    with AddressWriter(target) as writer:
        writer.write(packed("2001:db8::1"))
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask

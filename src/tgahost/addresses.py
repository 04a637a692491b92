"""Reading seed files into ``(n, 16) uint8`` arrays and writing candidate files for scanners.

Inputs are what hitlists look like in the wild: compressed or full notation, 32 hex digits
without colons, CSV (address in the first column), a header line, ``#`` comments, blank
lines, CRLF, ``.gz``/``.xz``/``.bz2`` compression, or ``-`` for stdin. Outputs are one
address per line and nothing else, which is what ZMapv6 and XMap accept.
"""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import lzma
import os
import re
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from tgahost.errors import TgahostError

log = logging.getLogger("tgahost")

ADDRESS_DTYPE = np.dtype("V16")  # one address as an opaque 16-byte value: sortable, hashable
MIN_SEEDS = 2
RECOMMENDED_SEEDS = 100
_HEX = frozenset("0123456789abcdefABCDEF")
_COMPRESSED = {b"\x1f\x8b": gzip.open, b"\xfd7z": lzma.open, b"BZh": bz2.open}


@dataclass
class SeedSet:
    """Distinct addresses read from a file, with what was skipped on the way."""

    addresses: np.ndarray  # (n, 16) uint8, sorted, distinct
    lines: int = 0
    duplicates: int = 0
    skipped_invalid: int = 0
    header: str | None = None

    def __len__(self) -> int:
        return len(self.addresses)


def as_keys(addresses: np.ndarray) -> np.ndarray:
    """View an ``(n, 16) uint8`` array as ``n`` opaque 16-byte keys (no copy)."""
    return np.ascontiguousarray(addresses, dtype=np.uint8).view(ADDRESS_DTYPE).reshape(-1)


def from_keys(keys: np.ndarray) -> np.ndarray:
    return keys.view(np.uint8).reshape(-1, 16)


def distinct(addresses: np.ndarray) -> np.ndarray:
    """Sorted distinct rows of an ``(n, 16) uint8`` array."""
    return from_keys(np.unique(as_keys(addresses)))


def _why_invalid(token: str) -> str:
    if "%" in token:
        return "zone id (%...) not allowed in a seed"
    if "/" in token and parse_token(token.split("/", 1)[0]) is not None:
        return "a prefix (CIDR), not an address"
    if ":" not in token and token.count(".") == 3:
        return "an IPv4 address; tgahost takes IPv6 seeds"
    return "not an IPv6 address"


def parse_token(token: str) -> bytes | None:
    """Packed 16 bytes of one address token, or None when it is not an IPv6 address."""
    if len(token) == 32 and _HEX.issuperset(token):
        return bytes.fromhex(token)
    if "%" in token:  # inet_pton rejects zones too, but be explicit about scoped addresses
        return None
    try:
        return socket.inet_pton(socket.AF_INET6, token)
    except (OSError, ValueError):
        return None


#: What a header's first column looks like (``address``, ``saddr``, ``ip_v6``): a name,
#: never something address-like (an IPv4 address, a broken IPv6 one) or binary junk.
_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


def _token_of(line: str) -> str:
    text = line.split("#", 1)[0].strip()
    if not text:
        return ""
    first = text.split(",", 1)[0].split(None, 1)
    return first[0].strip().strip("\"'") if first else ""


def open_binary(path: str | os.PathLike[str], what: str = "file") -> IO[bytes]:
    """Open an input file for reading, turning the usual failures into one-line errors."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise TgahostError(f"{path}: no such {what}; check the path") from None
    except IsADirectoryError:
        raise TgahostError(f"{path}: is a directory, not a {what}") from None
    except PermissionError:
        raise TgahostError(f"{path}: permission denied") from None


@contextmanager
def open_text(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """Open a seed file (or ``-`` for stdin) for reading as text; gzip, xz and bzip2 are
    recognised by their first bytes, so pipes and misnamed files work too."""
    if str(path) == "-":
        raw: io.BufferedReader = sys.stdin.buffer  # type: ignore[assignment]
    else:
        raw = open_binary(path)  # type: ignore[assignment]
    if not hasattr(raw, "peek"):  # a test harness's or embedder's stdin
        raw = io.BufferedReader(raw)  # type: ignore[arg-type]
    try:
        magic = raw.peek(3)[:3]
        opener = next((op for m, op in _COMPRESSED.items() if magic.startswith(m)), None)
        stream: IO[bytes] = opener(raw) if opener else raw  # type: ignore[operator]
        yield io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
    finally:
        if str(path) != "-":
            raw.close()


def parse_in_order(lines: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every address line in file order, for candidate files: ``(rows, invalid)`` where
    ``rows`` is ``(m, 16) uint8`` and ``invalid[i]`` counts the bad lines before row ``i``
    (one more entry at the end: the total). Blank and comment lines are not counted."""
    packed: list[bytes] = []
    invalid_before: list[int] = []
    invalid = 0
    for line in lines:
        token = _token_of(line)
        if not token:
            continue
        value = parse_token(token)
        if value is None:
            invalid += 1
            continue
        packed.append(value)
        invalid_before.append(invalid)
    invalid_before.append(invalid)
    rows = np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(-1, 16)
    return rows, np.array(invalid_before, dtype=np.int64)


def parse_lines(lines: Iterable[str], source: str = "<input>", skip_invalid: bool = False) -> SeedSet:
    """Parse address lines into a :class:`SeedSet` (sorted, distinct).

    The first non-blank, non-comment line may be a header: if its first column is a name
    (``address``), not an address, it is skipped with a note. Any other bad line raises
    :class:`TgahostError` naming the source, line number and text, unless ``skip_invalid``
    is set, which skips and counts them.
    """
    packed: list[bytes] = []
    append = packed.append
    seen_content = False
    header = None
    skipped = 0
    lineno = 0
    try:
        for lineno, line in enumerate(lines, 1):
            token = _token_of(line)
            if not token:
                continue
            value = parse_token(token)
            if value is not None:
                append(value)
                seen_content = True
                continue
            if not seen_content and header is None and _HEADER.fullmatch(token):
                header = line.strip()
                seen_content = True
                log.info("%s:%d: skipping header line %r", source, lineno, header)
                continue
            if skip_invalid:
                skipped += 1
                log.debug("%s:%d: skipping %r (%s)", source, lineno, line.strip(), _why_invalid(token))
                continue
            raise TgahostError(
                f"{source}:{lineno}: {_why_invalid(token)}: {line.strip()[:80]!r}; "
                "fix or remove the line, or pass --skip-invalid"
            )
    except (EOFError, OSError, lzma.LZMAError) as exc:
        raise TgahostError(f"{source}: cannot read past line {lineno}: {exc}") from None
    if skipped:
        log.warning("%s: skipped %d invalid line(s)", source, skipped)
    raw = np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(-1, 16)
    unique = distinct(raw)
    return SeedSet(
        unique, lines=lineno, duplicates=len(raw) - len(unique), skipped_invalid=skipped, header=header
    )


def read_seeds(path: str | os.PathLike[str], skip_invalid: bool = False) -> SeedSet:
    """Read a seed file (see :func:`parse_lines`) and check there are enough seeds."""
    with open_text(path) as text:
        seeds = parse_lines(text, source=str(path), skip_invalid=skip_invalid)
    if len(seeds) < MIN_SEEDS:
        raise TgahostError(
            f"{path}: {len(seeds)} distinct address(es); a TGA needs at least {MIN_SEEDS} seeds to learn from"
        )
    if len(seeds) < RECOMMENDED_SEEDS:
        log.warning(
            "%s: only %d distinct seeds; %d or more give a TGA something to learn",
            path,
            len(seeds),
            RECOMMENDED_SEEDS,
        )
    return seeds


# -- output ------------------------------------------------------------------------------

FORMATS = ("compressed", "full")


def format_addresses(addresses: np.ndarray, fmt: str = "compressed") -> str:
    """One line per address, each ending in a newline."""
    if len(addresses) == 0:
        return ""
    if fmt == "full":
        digits = np.frombuffer(addresses.tobytes().hex().encode(), dtype=np.uint8).reshape(-1, 8, 4)
        out = np.empty((len(addresses), 8, 5), dtype=np.uint8)
        out[:, :, :4] = digits
        out[:, :, 4] = ord(":")
        out[:, 7, 4] = ord("\n")
        return out.tobytes().decode()
    if fmt != "compressed":
        raise TgahostError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    buf = np.ascontiguousarray(addresses, dtype=np.uint8).tobytes()
    ntop = socket.inet_ntop
    family = socket.AF_INET6
    lines = [ntop(family, buf[i : i + 16]) for i in range(0, len(buf), 16)]
    lines.append("")
    return "\n".join(lines)


class AddressWriter:
    """Writes batches to a file atomically (temp file, rename on success) or to stdout.

    Use as a context manager: on an exception the temporary file is removed and the
    destination is left as it was.
    """

    def __init__(self, destination: str | os.PathLike[str], fmt: str = "compressed") -> None:
        if fmt not in FORMATS:
            raise TgahostError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
        self.destination = str(destination)
        self.fmt = fmt
        self.written = 0
        self._tmp: str | None = None
        self._stream: IO[str] | None = None

    def __enter__(self) -> AddressWriter:
        if self.destination == "-":
            self._stream = sys.stdout
        else:
            self._tmp, self._stream = _atomic_text(self.destination)
        return self

    def write(self, batch: np.ndarray) -> None:
        assert self._stream is not None
        self._stream.write(format_addresses(batch, self.fmt))
        self.written += len(batch)

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._stream is not None
        if self._tmp is None:
            self._stream.flush()
            return
        self._stream.close()
        if exc_type is None:
            os.replace(self._tmp, self.destination)
        else:
            Path(self._tmp).unlink(missing_ok=True)


def _temporary_beside(destination: str | os.PathLike[str]) -> tuple[int, str]:
    """A new temporary file in the destination's folder, with the permissions a plain
    ``open`` would give (mkstemp's are owner-only, which a scanner running as another user
    could not read)."""
    if os.path.isdir(destination):
        raise TgahostError(f"{destination}: is a directory; give a file name to write")
    folder = os.path.dirname(os.path.abspath(destination))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tgahost-", suffix=".tmp", dir=folder)
    except OSError as exc:
        if not os.path.exists(folder):
            raise TgahostError(f"{destination}: folder {folder} does not exist") from None
        if not os.path.isdir(folder):
            raise TgahostError(f"{destination}: {folder} is a file, not a folder") from None
        reason = exc.strerror or type(exc).__name__
        raise TgahostError(f"{destination}: cannot write in {folder} ({reason})") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return fd, tmp


def _atomic_text(destination: str) -> tuple[str, IO[str]]:
    fd, tmp = _temporary_beside(destination)
    return tmp, os.fdopen(fd, "w", encoding="ascii", newline="\n")


def check_writable(destination: str | os.PathLike[str]) -> None:
    """Fail now, with the reason, if ``destination`` could not be written later: called
    before long work (training, evaluation) so that its result is not lost to a typo."""
    if str(destination) == "-":
        return
    fd, tmp = _temporary_beside(destination)
    os.close(fd)
    os.unlink(tmp)


def atomic_write_bytes(destination: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``destination`` through a temporary file and a rename."""
    fd, tmp = _temporary_beside(destination)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class AddressSet:
    """A growing set of addresses, tested and extended a whole batch at a time.

    Kept as one sorted array of 16-byte keys: membership is a binary search and insertion
    a single ``np.insert``, so no Python work happens per address.
    """

    def __init__(self, initial: np.ndarray | None = None) -> None:
        self._keys = (
            np.unique(as_keys(initial))
            if initial is not None and len(initial)
            else np.empty(0, ADDRESS_DTYPE)
        )

    def __len__(self) -> int:
        return len(self._keys)

    def contains(self, batch: np.ndarray) -> np.ndarray:
        """Boolean mask: which rows of ``batch`` are in the set."""
        keys = as_keys(batch)
        if len(self._keys) == 0:
            return np.zeros(len(keys), dtype=bool)
        pos = np.searchsorted(self._keys, keys)
        pos[pos == len(self._keys)] = 0
        return self._keys[pos] == keys

    def add_new(self, batch: np.ndarray) -> np.ndarray:
        """Add ``batch``; return the mask of rows that were new (first occurrence only)."""
        keys = as_keys(batch)
        first = np.zeros(len(keys), dtype=bool)
        _, index = np.unique(keys, return_index=True)
        first[index] = True
        new = first & ~self.contains(batch)
        fresh = np.sort(keys[new])
        if len(fresh):
            self._keys = np.insert(self._keys, np.searchsorted(self._keys, fresh), fresh)
        return new

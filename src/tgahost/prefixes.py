"""Prefix lists (blocklists, aliased prefixes): parse CIDR lines and test whole batches.

Membership is checked one prefix length at a time: mask the batch to that length and look
the masked keys up in the sorted prefixes of that length. A list rarely has more than a
few dozen distinct lengths, so a batch costs a few binary searches, not a loop per address.
"""

from __future__ import annotations

import ipaddress
import os

import numpy as np

from tgahost.addresses import AddressSet, open_text
from tgahost.errors import TgahostError


def _mask(length: int) -> np.ndarray:
    bits = np.zeros(128, dtype=np.uint8)
    bits[:length] = 1
    return np.packbits(bits)


class PrefixSet:
    """A set of IPv6 prefixes; ``contains`` tells which addresses fall in any of them."""

    def __init__(self, prefixes: list[ipaddress.IPv6Network]) -> None:
        self.count = len(prefixes)
        by_length: dict[int, list[bytes]] = {}
        for net in prefixes:
            by_length.setdefault(net.prefixlen, []).append(net.network_address.packed)
        self._tables = [
            (_mask(length), AddressSet(np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(-1, 16)))
            for length, rows in sorted(by_length.items())
        ]

    def __len__(self) -> int:
        return self.count

    def contains(self, batch: np.ndarray) -> np.ndarray:
        inside = np.zeros(len(batch), dtype=bool)
        for mask, table in self._tables:
            inside |= table.contains(batch & mask)
        return inside

    @classmethod
    def from_lines(cls, lines, source: str = "<prefixes>") -> PrefixSet:
        """One prefix (``2001:db8::/32``) or address (a /128) per line; ``#`` comments."""
        prefixes = []
        for lineno, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip().split(",", 1)[0].strip()
            if not text:
                continue
            try:
                prefixes.append(ipaddress.IPv6Network(text, strict=False))
            except ValueError:
                raise TgahostError(
                    f"{source}:{lineno}: not an IPv6 prefix: {line.strip()[:80]!r}; "
                    "write one prefix per line, like 2001:db8::/32"
                ) from None
        return cls(prefixes)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> PrefixSet:
        with open_text(path) as text:
            return cls.from_lines(text, source=str(path))

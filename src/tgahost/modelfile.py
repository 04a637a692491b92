"""The model file: one safetensors file holding a model's arrays, its training seeds and
JSON metadata. safetensors stores raw arrays and strings only, so opening a model from a
stranger cannot run code (no pickle anywhere). Files are written atomically.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as _st_load
from safetensors.numpy import save as _st_save

from tgahost.addresses import atomic_write_bytes, distinct, open_binary
from tgahost.errors import TgahostError

FORMAT_NAME = "tgahost-model"
FORMAT_VERSION = 1
SEEDS_KEY = "seeds"
ARRAY_PREFIX = "model."
_MAX_HEADER = 100 * 1024 * 1024


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the model's arrays: names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def seeds_digest(seeds: np.ndarray) -> str:
    """sha256 of the sorted distinct 16-byte seed addresses, concatenated."""
    return hashlib.sha256(distinct(seeds).tobytes()).hexdigest()


@dataclass
class ModelFile:
    """A model file's content: the plugin's arrays, the seeds and the metadata."""

    metadata: dict[str, Any]
    arrays: dict[str, np.ndarray]
    seeds: np.ndarray

    @property
    def tga_type(self) -> str:
        return self.metadata["tga_type"]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.metadata.get("params", {}))


def build_metadata(
    *,
    tga_type: str,
    plugin: str,
    distribution: str | None,
    version: str | None,
    params: dict[str, Any],
    seeds: np.ndarray,
    info: dict[str, Any],
    host_version: str,
) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tga_type": tga_type,
        "plugin": {"name": plugin, "distribution": distribution, "version": version},
        "tgahost_version": host_version,
        "params": params,
        "seed_count": len(seeds),
        "seeds_sha256": seeds_digest(seeds),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "info": info,
    }


def save(
    path: str | os.PathLike[str], metadata: dict[str, Any], arrays: dict[str, np.ndarray], seeds: np.ndarray
) -> int:
    """Write a model file atomically; returns its size in bytes."""
    tensors = {ARRAY_PREFIX + name: np.ascontiguousarray(a) for name, a in arrays.items()}
    tensors[SEEDS_KEY] = np.ascontiguousarray(distinct(seeds), dtype=np.uint8)
    metadata = {**metadata, "arrays_sha256": arrays_digest(arrays)}
    try:
        text = json.dumps(metadata, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TgahostError(f"model metadata is not plain JSON: {exc}") from None
    data = _st_save(tensors, metadata={"format": FORMAT_NAME, "tgahost": text})
    atomic_write_bytes(path, data)
    return len(data)


def _header(data: bytes, path: str) -> dict[str, Any]:
    not_model = f"{path}: not a tgahost model file; make one with `tgahost train`"
    if len(data) < 8:
        raise TgahostError(not_model)
    (size,) = struct.unpack("<Q", data[:8])
    if size == 0 or size > _MAX_HEADER or data[8:9] != b"{":
        raise TgahostError(not_model)
    if 8 + size > len(data):
        raise TgahostError(f"{path}: model file is truncated; train it again")
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TgahostError(not_model) from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME or "tgahost" not in meta:
        raise TgahostError(not_model)
    return meta


def load(path: str | os.PathLike[str]) -> ModelFile:
    """Read and check a model file; every problem is a :class:`TgahostError`."""
    name = str(path)
    with open_binary(path, "model file") as handle:
        data = handle.read()
    meta = _header(data, name)
    try:
        metadata = json.loads(meta["tgahost"])
    except json.JSONDecodeError:
        raise TgahostError(f"{name}: model metadata is corrupt; train it again") from None
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise TgahostError(
            f"{name}: model format version {version} is newer than this tgahost reads "
            f"({FORMAT_VERSION}); upgrade tgahost"
        )
    try:
        tensors = _st_load(data)
    except SafetensorError as exc:
        raise TgahostError(f"{name}: model file is truncated or corrupt ({exc}); train it again") from None
    seeds = tensors.pop(SEEDS_KEY, None)
    if seeds is None or seeds.dtype != np.uint8 or seeds.ndim != 2 or seeds.shape[1] != 16:
        raise TgahostError(f"{name}: model file lacks its training seeds; train it again")
    if seeds_digest(seeds) != metadata.get("seeds_sha256"):
        raise TgahostError(f"{name}: training seeds do not match their checksum; the file is corrupt")
    arrays = {k[len(ARRAY_PREFIX) :]: v for k, v in tensors.items() if k.startswith(ARRAY_PREFIX)}
    if arrays_digest(arrays) != metadata.get("arrays_sha256"):
        raise TgahostError(f"{name}: model arrays do not match their checksum; the file is corrupt")
    return ModelFile(metadata=metadata, arrays=arrays, seeds=seeds)

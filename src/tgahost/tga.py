"""What a TGA is, as the host and its plugins exchange it.

These small value types are the whole vocabulary of the hooks: a plugin describes the TGA
types it offers with :class:`TgaSpec` and :class:`Param`, returns a :class:`TrainedModel`
from ``train_tga`` and receives a :class:`Model` in ``generate_targets``.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tgahost.errors import TgahostError

PARAM_TYPES: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": lambda text: _parse_bool(text),
}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass(frozen=True)
class Param:
    """One parameter a TGA type accepts through ``--param name=value``.

    ``type`` is one of ``int``, ``float``, ``str``, ``bool``. ``choices`` restricts a
    ``str`` parameter. ``at_generate`` marks parameters that ``generate`` may override
    (sampling temperature, device); all others are fixed when the model is trained.
    ``tune`` lists the values ``tgahost tune`` tries when the user names none.
    """

    name: str
    type: str
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    at_generate: bool = False
    minimum: float | None = None
    maximum: float | None = None
    tune: tuple[Any, ...] = ()

    def convert(self, raw: Any) -> Any:
        """Turn a command-line string (or a Python value) into this parameter's type."""
        if self.type not in PARAM_TYPES:
            raise TgahostError(f"parameter {self.name!r} declares unknown type {self.type!r}")
        try:
            value = PARAM_TYPES[self.type](raw) if isinstance(raw, str) else raw
            if self.type == "float" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            expected = {"int": int, "float": float, "str": str, "bool": bool}[self.type]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ValueError(f"expected {self.type}")
        except ValueError as exc:
            raise TgahostError(
                f"parameter {self.name}={raw!r}: {exc}; give a value of type {self.type}"
            ) from None
        if self.choices and value not in self.choices:
            raise TgahostError(
                f"parameter {self.name}={value!r} is not one of: {', '.join(map(str, self.choices))}"
            )
        if self.type == "float" and not math.isfinite(value):
            raise TgahostError(f"parameter {self.name}={raw!r} must be a finite number")
        if self.minimum is not None and value < self.minimum:
            raise TgahostError(f"parameter {self.name}={value!r} must be >= {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise TgahostError(f"parameter {self.name}={value!r} must be <= {self.maximum:g}")
        return value


@dataclass(frozen=True)
class TgaSpec:
    """A TGA type as a plugin offers it, returned by the ``tga_types`` hook.

    ``available`` is False when the type cannot run here (an optional dependency such as
    torch is missing); ``unavailable_reason`` then says how to fix it. ``ranked`` means
    the generator emits its most probable candidates first.
    """

    name: str
    description: str
    params: tuple[Param, ...] = ()
    available: bool = True
    unavailable_reason: str | None = None
    ranked: bool = False

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def resolve_params(self, given: Mapping[str, Any], *, at_generate: bool = False) -> dict:
        """Check ``given`` against the declared parameters and fill in the defaults.

        With ``at_generate`` only the parameters marked ``at_generate`` may be given, and
        no defaults are filled (the model's training parameters supply them).
        """
        known = {p.name: p for p in self.params}
        resolved: dict[str, Any] = {} if at_generate else {p.name: p.default for p in self.params}
        for key, raw in given.items():
            spec = known.get(key)
            if spec is None:
                names = ", ".join(sorted(known)) or "none"
                raise TgahostError(
                    f"{self.name} has no parameter {key!r} (it accepts: {names}); see `tgahost list`"
                )
            if at_generate and not spec.at_generate:
                allowed = ", ".join(p.name for p in self.params if p.at_generate) or "none"
                raise TgahostError(
                    f"parameter {key!r} of {self.name} is fixed at training time; generate accepts: {allowed}"
                )
            resolved[key] = spec.convert(raw)
        return resolved


@dataclass
class TrainedModel:
    """What ``train_tga`` returns: the model's arrays and any JSON-safe notes about it.

    ``arrays`` maps names to numpy arrays (any dtype safetensors stores); ``info`` holds
    small facts worth keeping in the model file (final loss, epochs run, ...).
    """

    arrays: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Model:
    """A model as ``generate_targets`` receives it, read back from a model file.

    ``seeds`` holds the distinct training addresses as an ``(n, 16) uint8`` array.
    ``params`` are the training parameters merged with any generate-time overrides.
    """

    tga_type: str
    arrays: dict[str, np.ndarray]
    params: dict[str, Any]
    seeds: np.ndarray
    metadata: dict[str, Any]


ProgressFn = Callable[[str], None]


@dataclass
class RunContext:
    """Host services handed to every train or generate call.

    ``seed`` makes a run reproducible (derive every random generator from it); ``count`` is
    the number of candidates the caller wants (a sizing hint: the host stops reading the
    batches once it has enough); ``report`` shows one progress line to the user.

    Training only: ``checkpoint`` is a file where a long training may keep its progress
    (write it atomically; ``None``: keep none), and ``resume`` asks it to continue from
    that file, which it should refuse if the file belongs to other seeds or parameters.
    The host removes the checkpoint once the model file is written.
    """

    seed: int
    count: int | None = None
    report: ProgressFn = field(default=lambda line: None)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tgahost"))
    checkpoint: Path | None = None
    resume: bool = False

    def rng(self) -> np.random.Generator:
        """A numpy generator seeded from this run's seed."""
        return np.random.default_rng(self.seed)


def new_seed() -> int:
    """A fresh run seed, for runs where the user gave none."""
    return random.SystemRandom().randrange(2**32)

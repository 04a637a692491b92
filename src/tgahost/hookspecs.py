"""The hooks a tgahost plugin implements.

A plugin is a module (or object) with functions decorated by ``tgahost.hookimpl`` and
named after the specs below, published under the ``tgahost`` entry-point group. The host
asks every plugin which TGA types it offers (``tga_types``), then calls ``train_tga`` and
``generate_targets`` on the one plugin that offers the type at hand, so a plugin only ever
sees its own types.

Arguments travel as a few objects, not long argument lists: new features add keys to
``params`` or fields to ``RunContext``, and older plugins keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import numpy as np

    from tgahost.tga import Model, RunContext, TgaSpec, TrainedModel

hookspec = pluggy.HookspecMarker("tgahost")
hookimpl = pluggy.HookimplMarker("tgahost")


@hookspec
def tga_types() -> list[TgaSpec]:
    """Name the TGA types this plugin offers.

    Returns:
        A list of :class:`tgahost.TgaSpec`, one per type: its name (what users pass as
        ``--tga-type``), a one-line description, the parameters it accepts, and whether it
        can run here. Keep this hook cheap and free of heavy imports: ``tgahost list`` and
        ``--help`` call it. Report a missing optional dependency with ``available=False``
        and an ``unavailable_reason`` that tells how to install it, rather than raising.
    """


@hookspec(firstresult=True)
def train_tga(
    tga_type: str, seeds: np.ndarray, params: Mapping[str, Any], run: RunContext
) -> TrainedModel | None:
    """Learn a model of ``tga_type`` from the seed addresses.

    Args:
        tga_type: one of the names this plugin returned from ``tga_types``.
        seeds: distinct training addresses, a read-only ``(n, 16) uint8`` numpy array with
            ``n >= 2``, in no particular order.
        params: every declared parameter of the type, validated and with defaults filled.
        run: the run's random seed, progress reporting and logger.

    Returns:
        A :class:`tgahost.TrainedModel` with the model's arrays and a few JSON-safe facts.
        The host writes the model file (it adds the seeds and metadata itself). Return
        None for a type this plugin does not offer. Raise :class:`tgahost.TgahostError`
        with a one-line message for a problem the user can fix.
    """


@hookspec(firstresult=True)
def generate_targets(model: Model, run: RunContext) -> Iterable[np.ndarray] | None:
    """Produce candidate addresses from a trained model.

    Args:
        model: the model read back from its file: its type, arrays, parameters (training
            parameters merged with any generate-time overrides) and training seeds.
        run: the run's random seed (same seed, same output), the number of candidates the
            caller wants (``run.count``, a sizing hint) and progress reporting.

    Returns:
        An iterable (usually a generator) of ``(k, 16) uint8`` batches, in the order the
        TGA ranks them (most probable first, for a ranked TGA). It may be endless: the host
        stops reading once it has enough. The host removes seeds, excluded addresses and
        (for unique output) repeats, so the plugin need not. End the iterable when the model
        can offer nothing more. Return None for a type this plugin does not offer.
    """

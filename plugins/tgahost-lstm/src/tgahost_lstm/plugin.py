"""``lstm_ip``: a next-byte LSTM over the 16 bytes of an address.

Candidates complete the seeds' last two bytes, come from a beam search or are sampled.

This module is what the host loads for ``tgahost list`` and ``--help``, so it stays light:
torch is looked up, not imported, and :mod:`tgahost_lstm.model` is imported only inside
the train and generate hooks.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from tgahost import Model, Param, RunContext, TgaSpec, TrainedModel, hookimpl

TGA_TYPE = "lstm_ip"
INSTALL_HINT = "needs PyTorch: pip install torch (or pip install tgahost-lstm)"

# Defaults are sized from throughput measured on a 2-core CPU (see the plugin README):
# training on ~90k seeds stays inside time_budget, sampling 100k new addresses takes
# seconds. The seed project's design is hidden_size=512 num_layers=2 embedding_size=0
# learning_rate=0.001 epochs=100 batch_size=32 (with time_budget=0 to let it run).
PARAMS = (
    Param("hidden_size", "int", 128, "LSTM units per layer", minimum=1, tune=(64, 128, 256)),
    Param("num_layers", "int", 1, "stacked LSTM layers", minimum=1, tune=(1, 2)),
    Param(
        "embedding_size",
        "int",
        32,
        "size of the learned byte embedding; 0 feeds one-hot bytes, as the seed design did",
        minimum=0,
        tune=(16, 32),
    ),
    Param("learning_rate", "float", 0.005, "Adam learning rate", minimum=1e-7, tune=(0.002, 0.005, 0.01)),
    Param("epochs", "int", 40, "most passes over the training addresses", minimum=1),
    Param("batch_size", "int", 256, "addresses per training step", minimum=1),
    Param(
        "val_fraction",
        "float",
        0.05,
        "share of the seeds held out to measure validation loss (0: use the training loss)",
        minimum=0.0,
        maximum=0.49,
    ),
    Param(
        "patience",
        "int",
        3,
        "stop after this many epochs without a better validation loss (0: never stop early)",
        minimum=0,
    ),
    Param(
        "time_budget",
        "float",
        420.0,
        "stop training after this many seconds, keeping the best weights so far (0: no limit)",
        minimum=0.0,
    ),
    Param("threads", "int", 0, "CPU threads for torch (0: every core available)", minimum=0),
    Param(
        "device",
        "str",
        "auto",
        "where torch runs: auto picks a GPU when there is one (bfloat16 mixed precision on CUDA)",
        choices=("auto", "cpu", "cuda", "mps"),
        at_generate=True,
    ),
    Param(
        "precision",
        "str",
        "float32",
        "how the model file stores the weights: float16 halves it, int8 quarters it",
        choices=("float32", "float16", "int8"),
    ),
    Param(
        "completion_share",
        "float",
        0.8,
        "share of the candidates that rewrite a seed's last two bytes, best first by the model "
        "(1: only those until they run out, 0: only beam search and sampling)",
        at_generate=True,
        minimum=0.0,
        maximum=1.0,
        tune=(0.6, 0.8, 1.0),
    ),
    Param(
        "prefix_weight",
        "float",
        0.7,
        "how much the probability of a seed's prefix counts when ranking its endings: 1 favours "
        "the densest prefixes, 0 spreads the candidates evenly over the seeds",
        at_generate=True,
        minimum=0.0,
        maximum=1.0,
        tune=(0.5, 0.7, 1.0),
    ),
    Param(
        "beam_share",
        "float",
        0.1,
        "share of the rest (past completion_share) taken, interleaved with samples, from a beam "
        "search for the model's most probable addresses (0: sample only, 1: beam only)",
        at_generate=True,
        minimum=0.0,
        maximum=1.0,
    ),
    Param(
        "temperature",
        "float",
        0.7,
        "sampling temperature: below 1 favours likely bytes, above 1 explores",
        at_generate=True,
        minimum=0.01,
        tune=(0.7, 1.0),
    ),
    Param(
        "adaptive_temperature",
        "bool",
        True,
        "raise the temperature step by step when sampling keeps repeating addresses",
        at_generate=True,
    ),
    Param(
        "generate_batch_size",
        "int",
        4096,
        "addresses sampled together per forward pass",
        at_generate=True,
        minimum=1,
    ),
)


def _spec() -> TgaSpec:
    available = importlib.util.find_spec("torch") is not None
    return TgaSpec(
        name=TGA_TYPE,
        description="byte-level LSTM over addresses: seed completions, beam search and sampling",
        params=PARAMS,
        available=available,
        unavailable_reason=None if available else INSTALL_HINT,
    )


@hookimpl
def tga_types() -> list[TgaSpec]:
    return [_spec()]


@hookimpl
def train_tga(
    tga_type: str, seeds: np.ndarray, params: Mapping[str, Any], run: RunContext
) -> TrainedModel | None:
    if tga_type != TGA_TYPE:
        return None
    from tgahost_lstm import model

    return model.train(seeds, params, run)


@hookimpl
def generate_targets(model: Model, run: RunContext) -> Iterator[np.ndarray] | None:
    if model.tga_type != TGA_TYPE:
        return None
    from tgahost_lstm import model as lstm

    return lstm.sample_batches(model.arrays, model.params, model.seeds, run)

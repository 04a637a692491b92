"""The byte-level LSTM: training, (de)serialising the weights and batched sampling.

This is the only module that imports torch; the plugin module imports it lazily so that
``tgahost list`` and ``--help`` stay fast and work without torch installed.

An address is a sequence of 16 byte tokens. The network reads a start token followed by
bytes 0..14 and predicts bytes 0..15, one softmax over 256 values per position, with the
LSTM state carried along the sequence so that every prediction sees the whole prefix.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tgahost import AddressSet, RunContext, TgahostError, TrainedModel

ADDRESS_BYTES = 16
VOCAB = 256
START = VOCAB  # the start token sits just past the byte values
EVAL_BATCH = 8192
GRAD_CLIP = 1.0
#: Mid-epoch progress lines, so that a slow configuration does not look hung.
REPORT_EVERY_S = 30.0
#: Relative val-loss improvement below which an epoch does not count as progress.
MIN_REL_IMPROVEMENT = 1e-3

# Sampling: when fewer than this share of a batch is new, the model keeps repeating
# itself, so the temperature goes up a step (up to a cap) to reach further into the tail.
LOW_NEW_SHARE = 0.10
TEMPERATURE_STEP = 1.25
MAX_TEMPERATURE_FACTOR = 8.0
#: Batches in a row with nothing new before the sampler gives up (at the capped temperature).
DRY_LIMIT = 50


class ByteLSTM(nn.Module):
    """Next-byte model: byte embedding (or one-hot), stacked LSTM, linear softmax head."""

    def __init__(self, hidden_size: int, num_layers: int, embedding_size: int) -> None:
        super().__init__()
        self.embedding_size = embedding_size
        # embedding_size 0 is the seed design's one-hot input; it is kept as a fixed
        # identity lookup rather than a parameter, so that the model file holds no dead weights.
        self.embedding = nn.Embedding(VOCAB + 1, embedding_size) if embedding_size else None
        input_size = embedding_size or VOCAB + 1
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, VOCAB)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.embedding is None:
            return F.one_hot(tokens, VOCAB + 1).to(torch.float32)
        return self.embedding(tokens)

    def forward(
        self, tokens: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        out, state = self.lstm(self.embed(tokens), state)
        return self.head(out), state


@dataclass
class Config:
    hidden_size: int
    num_layers: int
    embedding_size: int
    learning_rate: float
    epochs: int
    batch_size: int
    val_fraction: float
    patience: int
    time_budget: float
    threads: int

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Config:
        config = cls(**{name: params[name] for name in cls.__dataclass_fields__})
        if not 0.0 <= config.val_fraction < 0.5:
            raise TgahostError(f"val_fraction={config.val_fraction:g} must be in [0, 0.5)")
        return config


def build(params: Mapping[str, Any]) -> ByteLSTM:
    """The untrained network that ``params`` describe."""
    return ByteLSTM(int(params["hidden_size"]), int(params["num_layers"]), int(params["embedding_size"]))


@contextmanager
def _threads(requested: int) -> Iterator[int]:
    """Run with ``requested`` torch threads (0: every core this process may use), then restore.

    torch's thread count is process-wide; a host embedded in a scanner should get its
    setting back.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    wanted = requested or available
    before = torch.get_num_threads()
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(before)


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _shifted(batch: torch.Tensor) -> torch.Tensor:
    """Teacher-forcing inputs: the start token, then every byte but the last."""
    start = torch.full((len(batch), 1), START, dtype=batch.dtype)
    return torch.cat([start, batch[:, :-1]], dim=1)


def _loss(model: ByteLSTM, batch: torch.Tensor) -> torch.Tensor:
    logits, _ = model(_shifted(batch))
    return F.cross_entropy(logits.reshape(-1, VOCAB), batch.reshape(-1))


@torch.no_grad()
def _mean_loss(model: ByteLSTM, data: torch.Tensor) -> float:
    """Mean cross-entropy per byte (nats) over ``data``."""
    model.eval()
    total = 0.0
    for start in range(0, len(data), EVAL_BATCH):
        chunk = data[start : start + EVAL_BATCH]
        total += _loss(model, chunk).item() * len(chunk)
    model.train()
    return total / len(data)


def state_to_arrays(model: ByteLSTM) -> dict[str, np.ndarray]:
    return {name: t.detach().to(torch.float32).numpy().copy() for name, t in model.state_dict().items()}


def load_arrays(params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> ByteLSTM:
    """Rebuild the trained network from a model file's arrays."""
    model = build(params)
    expected = model.state_dict()
    problems = sorted(set(expected) ^ set(arrays))
    problems += [k for k in expected if k in arrays and tuple(arrays[k].shape) != tuple(expected[k].shape)]
    if problems:
        raise TgahostError(
            f"lstm_ip model arrays do not match its parameters ({', '.join(problems[:3])}); "
            "the file is corrupt or from another version, train it again"
        )
    model.load_state_dict({k: torch.from_numpy(np.array(arrays[k], dtype=np.float32)) for k in expected})
    model.eval()
    return model


def train(seeds: np.ndarray, params: Mapping[str, Any], run: RunContext) -> TrainedModel:
    """Fit the network to ``seeds`` with early stopping on a held-out share; keep the best weights."""
    config = Config.from_params(params)
    rng = run.rng()
    order = rng.permutation(len(seeds))
    n_val = int(len(seeds) * config.val_fraction)
    data = torch.from_numpy(np.asarray(seeds, dtype=np.int64))
    val = data[order[:n_val]]
    fit = data[order[n_val:]]
    # fork_rng leaves the caller's global torch RNG as it was; weight init draws from it.
    with _threads(config.threads) as threads, torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        model = build(params)
        return _fit(model, fit, val, config, rng, run, threads)


def _fit(
    model: ByteLSTM,
    fit: torch.Tensor,
    val: torch.Tensor,
    config: Config,
    rng: np.random.Generator,
    run: RunContext,
    threads: int,
) -> TrainedModel:
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    steps_per_epoch = math.ceil(len(fit) / config.batch_size)
    budget = config.time_budget or math.inf
    run.report(
        f"lstm_ip: {len(fit):,} training and {len(val):,} validation addresses, "
        f"{sum(p.numel() for p in model.parameters()):,} weights, {threads} thread(s), "
        f"up to {config.epochs} epochs of {steps_per_epoch} steps"
        + (f", time budget {_clock(budget)}" if budget < math.inf else "")
    )
    started = time.perf_counter()
    last_report = started
    best_loss = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch = 0
    stale = 0
    epochs_done = 0
    train_loss = math.inf
    val_loss = math.inf
    stopped = "epochs"
    for epoch in range(1, config.epochs + 1):
        epoch_started = time.perf_counter()
        perm = torch.from_numpy(rng.permutation(len(fit)))
        total = 0.0
        seen = 0
        out_of_time = False
        for step, start in enumerate(range(0, len(fit), config.batch_size), 1):
            batch = fit[perm[start : start + config.batch_size]]
            loss = _loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            optimizer.step()
            total += loss.item() * len(batch)
            seen += len(batch)
            now = time.perf_counter()
            if now - started >= budget:
                out_of_time = True
                break
            if now - last_report >= REPORT_EVERY_S and step < steps_per_epoch:
                last_report = now
                run.report(
                    f"epoch {epoch}/{config.epochs}: {step}/{steps_per_epoch} steps, "
                    f"train loss {total / seen:.4f}, elapsed {_clock(now - started)}"
                )
        train_loss = total / seen
        epochs_done = epoch
        # Without a validation share the training loss is the only yardstick there is.
        val_loss = _mean_loss(model, val) if len(val) else train_loss
        if val_loss < best_loss * (1 - MIN_REL_IMPROVEMENT):
            best_loss, best_epoch, stale = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if val_loss < best_loss:  # a sliver better: keep the weights, but it is no progress
                best_loss, best_epoch = val_loss, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        now = time.perf_counter()
        last_report = now
        elapsed = now - started
        epoch_time = now - epoch_started
        left = min((config.epochs - epoch) * epoch_time, max(0.0, budget - elapsed))
        run.report(
            f"epoch {epoch}/{config.epochs}{' (cut short)' if out_of_time else ''}: "
            f"train loss {train_loss:.4f}, val loss {val_loss:.4f}"
            f"{' (best)' if best_epoch == epoch else ''}, "
            f"elapsed {_clock(elapsed)}, ~{_clock(left)} left at most"
        )
        if out_of_time:
            stopped = "time_budget"
            break
        if config.patience and stale >= config.patience:
            stopped = "early_stop"
            run.report(f"val loss has not improved for {stale} epochs; keeping epoch {best_epoch}")
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    seconds = time.perf_counter() - started
    if stopped == "time_budget":
        run.report(f"time budget of {_clock(budget)} reached in epoch {epochs_done}; keeping epoch {best_epoch}")
    info = {
        "epochs_run": epochs_done,
        "best_epoch": best_epoch,
        "best_val_loss": round(best_loss, 6),
        "final_train_loss": round(train_loss, 6),
        "stopped_by": stopped,
        "fit_seconds": round(seconds, 3),
        "train_addresses": len(fit),
        "val_addresses": len(val),
        "loss_unit": "nats per byte" + ("" if len(val) else " (training loss: no validation share)"),
    }
    return TrainedModel(arrays=state_to_arrays(model), info=info)


@torch.inference_mode()
def _sample(
    model: ByteLSTM, size: int, temperature: float, generator: torch.Generator
) -> np.ndarray:
    """Draw ``size`` addresses autoregressively, all sequences of the batch in lockstep."""
    out = torch.empty((size, ADDRESS_BYTES), dtype=torch.int64)
    token = torch.full((size, 1), START, dtype=torch.int64)
    state = None
    for position in range(ADDRESS_BYTES):
        logits, state = model(token, state)
        probs = torch.softmax(logits[:, -1, :] / temperature, dim=-1)
        token = torch.multinomial(probs, 1, generator=generator)
        out[:, position] = token[:, 0]
    return out.to(torch.uint8).numpy()


def sample_batches(
    arrays: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
    seeds: np.ndarray,
    run: RunContext,
) -> Iterator[np.ndarray]:
    """Endless stream of batches of addresses new to this run (and not seeds).

    Filtering here as well as in the host is what lets the sampler notice that it is
    repeating itself and widen the distribution before the host gives up on it.
    """
    temperature = float(params["temperature"])
    adaptive = bool(params["adaptive_temperature"])
    batch_size = int(params["generate_batch_size"])
    if run.count:
        # A small request need not pay for a full batch; a little slack covers repeats.
        batch_size = min(batch_size, max(1024, int(run.count * 1.25)))
    ceiling = temperature * MAX_TEMPERATURE_FACTOR
    seen = AddressSet(seeds)
    dry = 0
    model = load_arrays(params, arrays)
    generator = torch.Generator().manual_seed(run.seed)
    while True:
        # The thread setting is scoped to each batch, not the generator's life: the caller
        # runs its own code (and maybe its own torch) while this generator is suspended.
        with _threads(int(params["threads"])):
            batch = _sample(model, batch_size, temperature, generator)
        new = seen.add_new(batch)
        fresh = batch[new]
        if adaptive and len(fresh) < LOW_NEW_SHARE * len(batch) and temperature < ceiling:
            temperature = min(ceiling, temperature * TEMPERATURE_STEP)
            run.log.info(
                "lstm_ip: only %d of %d sampled addresses were new; temperature now %.3g",
                len(fresh), len(batch), temperature,
            )
        if len(fresh) == 0:
            dry += 1
            if dry >= DRY_LIMIT:
                return
            continue
        dry = 0
        yield fresh

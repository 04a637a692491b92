"""The byte-level LSTM: training, (de)serialising the weights and batched sampling.

This is the only module that imports torch; the plugin module imports it lazily so that
``tgahost list`` and ``--help`` stay fast and work without torch installed.

An address is a sequence of 16 byte tokens. The network reads a start token followed by
bytes 0..14 and predicts bytes 0..15, one softmax over 256 values per position, with the
LSTM state carried along the sequence so that every prediction sees the whole prefix.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tgahost import AddressSet, RunContext, TgahostError, TrainedModel
from torch import nn
from torch.nn import functional as F

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
CHECKPOINT_VERSION = 1
#: Beam search: rows per forward pass, and children kept per prefix at the least.
BEAM_CHUNK = 65_536
BEAM_MIN_CHILDREN = 16
#: The beam is this much wider than the count asked for (the host may drop some, e.g. --exclude).
BEAM_SLACK = 1.05
#: Seed completions: model's choices per byte, and prefixes read per forward pass (x width).
COMPLETION_WIDTH = 16
COMPLETION_CHUNK = 65_536
#: Completions ranked when the caller asks for an endless stream (no count).
COMPLETION_POOL = 4_000_000
#: Batches in a row with nothing new before the sampler gives up (at the capped temperature).
DRY_LIMIT = 50


class ByteLSTM(nn.Module):
    """Next-byte model: byte embedding (or one-hot), stacked LSTM, linear softmax head."""

    def __init__(self, hidden_size: int, num_layers: int, embedding_size: int) -> None:
        super().__init__()
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
    device: str
    precision: str

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Config:
        config = cls(**{name: params[name] for name in cls.__dataclass_fields__})
        if not 0.0 <= config.val_fraction < 0.5:
            raise TgahostError(f"val_fraction={config.val_fraction:g} must be in [0, 0.5)")
        return config


def resolve_device(requested: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; asking for a missing one is an error."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (requested == "cuda" and not cuda) or (requested == "mps" and not mps):
        raise TgahostError(
            f"lstm_ip: device={requested} but this torch sees no {requested.upper()} device; "
            "use --param device=cpu (or auto)"
        )
    return torch.device(requested)


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
    start = torch.full((len(batch), 1), START, dtype=batch.dtype, device=batch.device)
    return torch.cat([start, batch[:, :-1]], dim=1)


def _loss(model: ByteLSTM, batch: torch.Tensor) -> torch.Tensor:
    # bfloat16 matrix products on a GPU (mixed precision); the loss itself stays float32
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=batch.device.type == "cuda"):
        logits, _ = model(_shifted(batch))
    return F.cross_entropy(logits.float().reshape(-1, VOCAB), batch.reshape(-1))


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
    return {
        name: t.detach().to("cpu", torch.float32).numpy().copy() for name, t in model.state_dict().items()
    }


#: int8 weights are stored as ``<name>.int8`` with one float32 scale per output row in
#: ``<name>.scale`` (symmetric, per-row quantisation); float16 keeps the names.
INT8_SUFFIX, SCALE_SUFFIX = ".int8", ".scale"


def compact(arrays: Mapping[str, np.ndarray], precision: str) -> dict[str, np.ndarray]:
    """The arrays as the model file stores them at ``precision`` (float32, float16 or int8)."""
    if precision == "float32":
        return dict(arrays)
    if precision == "float16":
        return {name: a.astype(np.float16) for name, a in arrays.items()}
    out: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        if a.ndim < 2:  # biases are small; quantising them buys nothing
            out[name] = a
            continue
        scale = np.abs(a).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        out[name + INT8_SUFFIX] = np.clip(np.rint(a / scale), -127, 127).astype(np.int8)
        out[name + SCALE_SUFFIX] = scale.astype(np.float32)
    return out


def expand(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """float32 weights from a model file's arrays, whatever precision they were stored at."""
    out = {}
    for name, a in arrays.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        if name.endswith(INT8_SUFFIX):
            base = name[: -len(INT8_SUFFIX)]
            scale = arrays.get(base + SCALE_SUFFIX)
            if scale is None:
                raise TgahostError(f"lstm_ip model file has {name} without its scale; train it again")
            out[base] = a.astype(np.float32) * scale
        else:
            out[name] = np.asarray(a, dtype=np.float32)
    return out


def load_arrays(params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> ByteLSTM:
    """Rebuild the trained network from a model file's arrays (any stored precision)."""
    arrays = expand(arrays)
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
    resumed = _load_checkpoint(run, params, seeds) if run.resume else None
    seed = resumed["seed"] if resumed else run.seed  # the split and the shuffles of the first run
    if resumed and seed != run.seed:
        run.report(f"resuming with the interrupted run's seed {seed} (a resumed training keeps its seed)")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(seeds))
    n_val = int(len(seeds) * config.val_fraction)
    data = torch.from_numpy(np.asarray(seeds, dtype=np.int64))
    val = data[order[:n_val]]
    fit = data[order[n_val:]]
    # fork_rng leaves the caller's global torch RNG as it was; weight init draws from it.
    device = resolve_device(config.device)
    with _threads(config.threads) as threads, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(params).to(device)
        saver = _Checkpointer(run.checkpoint, seed, _fingerprint(params, seeds)) if run.checkpoint else None
        trained = _fit(model, fit.to(device), val.to(device), config, rng, run, threads, saver, resumed)
    trained.arrays = compact(trained.arrays, config.precision)
    trained.info["train_seed"] = seed
    return trained


def _fit(
    model: ByteLSTM,
    fit: torch.Tensor,
    val: torch.Tensor,
    config: Config,
    rng: np.random.Generator,
    run: RunContext,
    threads: int,
    saver: _Checkpointer | None = None,
    resumed: dict[str, Any] | None = None,
) -> TrainedModel:
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    steps_per_epoch = math.ceil(len(fit) / config.batch_size)
    budget = config.time_budget or math.inf
    run.report(
        f"lstm_ip: {len(fit):,} training and {len(val):,} validation addresses, "
        f"{sum(p.numel() for p in model.parameters()):,} weights, "
        + (f"{threads} thread(s)" if fit.device.type == "cpu" else f"device {fit.device}")
        + ", "
        f"up to {config.epochs} epochs of {steps_per_epoch} steps"
        + (f", time budget {_clock(budget)}" if budget < math.inf else "")
    )
    started = time.perf_counter()
    last_report = started
    # All the epochs asked for, or as many as the time budget allows once the first epoch
    # has shown how long one takes.
    planned_epochs = config.epochs
    best_loss = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch = 0
    stale = 0
    epoch = 0
    train_loss = math.inf
    stopped = "epochs"
    if resumed:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        best_state, best_loss, best_epoch = resumed["best_state"], resumed["best_loss"], resumed["best_epoch"]
        epoch, stale, train_loss = resumed["epoch"], resumed["stale"], resumed["train_loss"]
        rng.bit_generator.state = resumed["numpy_rng"]
        torch.set_rng_state(resumed["torch_rng"])
        started -= resumed["elapsed"]  # the time budget covers the whole training
        run.report(f"lstm_ip: resumed after epoch {epoch} (best so far: epoch {best_epoch})")
    while epoch < config.epochs:
        epoch += 1
        perm = torch.from_numpy(rng.permutation(len(fit))).to(fit.device)
        total = 0.0
        seen = 0
        cut_short = False
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
                cut_short = True
                break
            if now - last_report >= REPORT_EVERY_S and step < steps_per_epoch:
                last_report = now
                run.report(
                    f"epoch {epoch}/{planned_epochs}: {step}/{steps_per_epoch} steps, "
                    f"train loss {total / seen:.4f}, elapsed {_clock(now - started)}"
                )
        train_loss = total / seen
        if not math.isfinite(train_loss):
            raise TgahostError(
                f"lstm_ip training diverged in epoch {epoch} (loss {train_loss}); lower learning_rate"
            )
        # Without a validation share the training loss is the only yardstick there is.
        val_loss = _mean_loss(model, val) if len(val) else train_loss
        if val_loss < best_loss:
            # Only a clear improvement resets the patience; a sliver still keeps the weights.
            if val_loss < best_loss * (1 - MIN_REL_IMPROVEMENT):
                stale = 0
            else:
                stale += 1
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        now = time.perf_counter()
        last_report = now
        elapsed = now - started
        if saver is not None and not cut_short:
            saver.save(
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                best_state=best_state,
                best_loss=best_loss,
                best_epoch=best_epoch,
                epoch=epoch,
                stale=stale,
                train_loss=train_loss,
                numpy_rng=rng.bit_generator.state,
                torch_rng=torch.get_rng_state(),
                elapsed=elapsed,
            )
        per_epoch = elapsed / epoch
        if budget < math.inf and not cut_short:
            fits = epoch + int((budget - elapsed) / per_epoch)
            planned_epochs = max(epoch, min(config.epochs, fits))
        left = (planned_epochs - epoch) * per_epoch
        run.report(
            f"epoch {epoch}/{planned_epochs}{' (cut short by the time budget)' if cut_short else ''}: "
            f"train loss {train_loss:.4f}, val loss {val_loss:.4f}"
            f"{' (best)' if best_epoch == epoch else ''}, "
            f"elapsed {_clock(elapsed)}, ~{_clock(left)} left"
        )
        if cut_short or (epoch == planned_epochs < config.epochs):
            # A further epoch would not finish inside the budget; stop rather than overrun.
            stopped = "time_budget"
            break
        if config.patience and stale >= config.patience:
            stopped = "early_stop"
            run.report(
                f"val loss has not improved by {MIN_REL_IMPROVEMENT:.1%} for {stale} epochs; "
                f"keeping epoch {best_epoch}"
            )
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    seconds = time.perf_counter() - started
    if stopped == "time_budget":
        run.report(f"time budget of {_clock(budget)} used up after epoch {epoch}; keeping epoch {best_epoch}")
    info = {
        "resumed_after_epoch": resumed["epoch"] if resumed else None,
        "epochs_run": epoch,
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


#: Parameters a resumed training must share with the one that wrote the checkpoint; the
#: others (epochs, time_budget, patience, threads, device, ...) may change between runs.
SAME_ON_RESUME = (
    "hidden_size",
    "num_layers",
    "embedding_size",
    "learning_rate",
    "batch_size",
    "val_fraction",
)


def _fingerprint(params: Mapping[str, Any], seeds: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(seeds, dtype=np.uint8).tobytes())
    digest.update(json.dumps({k: params[k] for k in SAME_ON_RESUME}, sort_keys=True).encode())
    return digest.hexdigest()


class _Checkpointer:
    """Keeps the training state after every epoch in one file, replaced atomically, so a
    kill at any moment leaves either the previous epoch's file or the new one."""

    def __init__(self, path: Path, seed: int, fingerprint: str) -> None:
        self.path, self.seed, self.fingerprint = Path(path), seed, fingerprint

    def save(self, **state: Any) -> None:
        state.update(seed=self.seed, fingerprint=self.fingerprint, version=CHECKPOINT_VERSION)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            torch.save(state, tmp)
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)


def _load_checkpoint(run: RunContext, params: Mapping[str, Any], seeds: np.ndarray) -> dict[str, Any]:
    path = run.checkpoint
    if path is None or not Path(path).is_file():
        raise TgahostError(f"lstm_ip: nothing to resume, no checkpoint at {path}")
    try:
        # weights_only: tensors and plain values, never arbitrary pickled code
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a torn or foreign file: say so instead of a traceback
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise TgahostError(
            f"lstm_ip: cannot read checkpoint {path} ({reason}); delete it and train afresh"
        ) from exc
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise TgahostError(f"lstm_ip: {path} is not a checkpoint of this version; delete it and train afresh")
    if state["fingerprint"] != _fingerprint(params, seeds):
        raise TgahostError(
            f"lstm_ip: checkpoint {path} is from other seeds or other values of "
            f"{', '.join(SAME_ON_RESUME)}; use the first run's input and params, or delete it"
        )
    return state


class Sampler:
    """Autoregressive sampling with the trained weights unrolled into plain matrix products.

    Same arithmetic as :class:`ByteLSTM` (a test holds the two together), rearranged for
    speed on CPU, where nn.LSTM called one step at a time was the bottleneck:

    - the first layer's input product depends only on the previous byte, so it becomes a
      257-row table lookup (which also makes one-hot input as cheap as an embedding);
    - the cell's tanh gate is rescaled by 2, so one sigmoid over all four gates serves, as
      tanh(x) = 2 * sigmoid(2x) - 1.
    """

    def __init__(self, model: ByteLSTM, device: torch.device | None = None) -> None:
        self.device = device or torch.device("cpu")
        model = model.to(self.device)
        with torch.no_grad():
            state = {k: v.detach().to(torch.float32) for k, v in model.state_dict().items()}
            self.hidden = model.lstm.hidden_size
            self.layers = model.lstm.num_layers
            tokens = torch.arange(VOCAB + 1, device=self.device)
            self.table = self._gscale(
                model.embed(tokens) @ state["lstm.weight_ih_l0"].T
                + state["lstm.bias_ih_l0"]
                + state["lstm.bias_hh_l0"]
            )
            self.w_hh = [self._gscale(state[f"lstm.weight_hh_l{i}"].T) for i in range(self.layers)]
            self.w_ih = [self._gscale(state[f"lstm.weight_ih_l{i}"].T) for i in range(1, self.layers)]
            self.bias = [
                self._gscale(state[f"lstm.bias_ih_l{i}"] + state[f"lstm.bias_hh_l{i}"])
                for i in range(1, self.layers)
            ]
            self.w_out = state["head.weight"].T.contiguous()
            self.b_out = state["head.bias"].clone()

    def _gscale(self, weights: torch.Tensor) -> torch.Tensor:
        """Double the g gate's columns (PyTorch orders the gates i, f, g, o)."""
        scaled = weights.clone().contiguous()
        scaled[..., 2 * self.hidden : 3 * self.hidden] *= 2
        return scaled

    def step(self, token: torch.Tensor, h: list[torch.Tensor], c: list[torch.Tensor]) -> torch.Tensor:
        """Advance every layer by one byte (updating ``h`` and ``c``); return next-byte logits."""
        x = h[0]
        for layer in range(self.layers):
            if layer == 0:
                gates = torch.index_select(self.table, 0, token).addmm_(h[0], self.w_hh[0])
            else:
                gates = torch.addmm(self.bias[layer - 1], x, self.w_ih[layer - 1])
                gates.addmm_(h[layer], self.w_hh[layer])
            i, f, g, o = gates.sigmoid_().chunk(4, dim=1)
            c[layer] = torch.addcmul(f * c[layer], i, g * 2 - 1)
            h[layer] = x = o * torch.tanh(c[layer])
        return torch.addmm(self.b_out, x, self.w_out)

    @torch.inference_mode()
    def most_probable(self, width: int, report=None) -> np.ndarray:
        """About the ``width`` most probable addresses, most probable first (beam search).

        The prefix tree of the model's distribution is expanded byte by byte, keeping the
        ``width`` best prefixes by log-probability at each depth, so no work goes into
        duplicates and the output is ranked. Rows are processed in chunks so that peak
        memory stays near ``width`` x hidden floats per layer.
        """
        dev = self.device
        h = [torch.zeros(1, self.hidden, device=dev) for _ in range(self.layers)]
        c = [torch.zeros(1, self.hidden, device=dev) for _ in range(self.layers)]
        token = torch.full((1,), START, dtype=torch.int64, device=dev)
        score = torch.zeros(1, device=dev)
        prefix = torch.empty((1, 0), dtype=torch.uint8, device=dev)
        for position in range(ADDRESS_BYTES):
            rows = len(token)
            # children per prefix: enough for the beam to fill, never more than the bytes
            per_row = min(VOCAB, max(BEAM_MIN_CHILDREN, -(-width // rows)))
            child_score = torch.empty((rows, per_row), device=dev)
            child_byte = torch.empty((rows, per_row), dtype=torch.int64, device=dev)
            for start in range(0, rows, BEAM_CHUNK):
                end = min(rows, start + BEAM_CHUNK)
                hs = [t[start:end] for t in h]
                cs = [t[start:end] for t in c]
                logits = self.step(token[start:end], hs, cs)
                for layer in range(self.layers):
                    h[layer][start:end] = hs[layer]
                    c[layer][start:end] = cs[layer]
                top = torch.log_softmax(logits, dim=-1).topk(per_row, dim=-1)
                child_score[start:end] = top.values + score[start:end, None]
                child_byte[start:end] = top.indices
            flat = child_score.reshape(-1)
            keep = (
                flat.topk(min(width, len(flat))).indices
                if len(flat) > width
                else flat.argsort(descending=True)
            )
            parent = keep // per_row
            token = child_byte.reshape(-1)[keep]
            score = flat[keep]
            h = [t[parent] for t in h]
            c = [t[parent] for t in c]
            prefix = torch.cat([prefix[parent], token.to(torch.uint8)[:, None]], dim=1)
            if report is not None:
                report(position, len(token))
        order = score.argsort(descending=True, stable=True)
        return prefix[order].cpu().numpy()

    @torch.inference_mode()
    def completions(
        self, seeds: np.ndarray, keep: int, prefix_weight: float, width: int = COMPLETION_WIDTH
    ) -> np.ndarray:
        """The ``keep`` best new endings of the seeds' last two bytes, best first.

        Every distinct 14-byte seed prefix is read once; its endings are the model's
        ``width`` most likely 15th bytes, each with its ``width`` most likely last bytes, and
        every last byte after a 15th byte a seed has there (the neighbours of a seed). An
        ending scores ``prefix_weight`` x log p(prefix) + log p(ending | prefix): 1 ranks by
        the model's full probability, which crowds the budget into the densest prefixes;
        lower values spread it over more of the seeds. Peak memory is ``keep`` candidates
        plus one chunk of prefixes, whatever the number of seeds.
        """
        dev = self.device
        stem = ADDRESS_BYTES - 2
        seeds = np.ascontiguousarray(seeds, dtype=np.uint8)
        prefixes, inverse = np.unique(seeds[:, :stem], axis=0, return_inverse=True)
        # (prefix, 15th byte) pairs the seeds hold: all 256 last bytes are scored after them
        own = np.unique(inverse.reshape(-1).astype(np.int64) * VOCAB + seeds[:, stem])
        own_start = np.searchsorted(own // VOCAB, np.arange(len(prefixes) + 1))
        best_score = torch.empty(0, device=dev)
        best_code = torch.empty(0, dtype=torch.int64, device=dev)
        chunk = max(1, COMPLETION_CHUNK // (width + 1))
        for start in range(0, len(prefixes), chunk):
            end = min(len(prefixes), start + chunk)
            rows = end - start
            tokens = torch.from_numpy(prefixes[start:end].astype(np.int64)).to(dev)
            h = [torch.zeros(rows, self.hidden, device=dev) for _ in range(self.layers)]
            c = [torch.zeros(rows, self.hidden, device=dev) for _ in range(self.layers)]
            token = torch.full((rows,), START, dtype=torch.int64, device=dev)
            prefix_logp = torch.zeros(rows, device=dev)
            for position in range(stem):
                logp = torch.log_softmax(self.step(token, h, c), dim=-1)
                token = tokens[:, position]
                prefix_logp += logp.gather(1, token[:, None])[:, 0]
            logp15 = torch.log_softmax(self.step(token, h, c), dim=-1)
            # children: the model's top 15th bytes, and the seeds' own (marked, kept whole)
            top = logp15.topk(width, dim=1).indices
            mine = torch.from_numpy(own[own_start[start] : own_start[end]]).to(dev) - start * VOCAB
            modelled = (torch.arange(rows, device=dev)[:, None] * VOCAB + top).reshape(-1)
            # ``mine`` goes in twice, so a count above one marks a seed's own 15th byte
            keys, counts = torch.cat([modelled, mine, mine]).unique(return_counts=True)
            is_own = counts > 1
            parent, byte15 = keys // VOCAB, keys % VOCAB
            hs = [t[parent] for t in h]
            cs = [t[parent] for t in c]
            logp16 = torch.log_softmax(self.step(byte15, hs, cs), dim=-1)
            base = prefix_weight * prefix_logp[parent] + logp15[parent, byte15]
            scores, codes = [best_score], [best_code]
            for subset, wide in ((is_own, VOCAB), (~is_own, width)):
                if not bool(subset.any()):
                    continue
                top16 = logp16[subset].topk(wide, dim=1)
                scores.append((base[subset, None] + top16.values).reshape(-1))
                key = (parent[subset] + start) * VOCAB + byte15[subset]
                codes.append((key[:, None] * VOCAB + top16.indices).reshape(-1))
            best_score, best_code = torch.cat(scores), torch.cat(codes)
            if len(best_score) > keep:
                kept = best_score.topk(keep).indices
                best_score, best_code = best_score[kept], best_code[kept]
        order = best_score.argsort(descending=True, stable=True)
        code = best_code[order].cpu().numpy()
        out = np.empty((len(code), ADDRESS_BYTES), dtype=np.uint8)
        out[:, :stem] = prefixes[code // (VOCAB * VOCAB)]
        out[:, stem] = (code // VOCAB) % VOCAB
        out[:, stem + 1] = code % VOCAB
        return out

    @torch.inference_mode()
    def sample(self, size: int, temperature: float, generator: torch.Generator) -> np.ndarray:
        """Draw ``size`` addresses, all sequences of the batch in lockstep."""
        dev = self.device
        h = [torch.zeros(size, self.hidden, device=dev) for _ in range(self.layers)]
        c = [torch.zeros(size, self.hidden, device=dev) for _ in range(self.layers)]
        token = torch.full((size,), START, dtype=torch.int64, device=dev)
        out = torch.empty((ADDRESS_BYTES, size), dtype=torch.uint8, device=dev)
        for position in range(ADDRESS_BYTES):
            logits = self.step(token, h, c)
            if temperature != 1.0:
                logits /= temperature
            # Inverse-CDF sampling needs one uniform draw per row; torch.multinomial draws
            # one per row and byte value and took half the sampling time.
            cdf = torch.softmax(logits, dim=-1).cumsum_(dim=-1)
            draw = torch.rand((size, 1), generator=generator, device=dev) * cdf[:, -1:]
            # right=True never lands on a zero-probability byte (its cdf step is flat).
            token = torch.searchsorted(cdf, draw, right=True).clamp_(max=VOCAB - 1)[:, 0]
            out[position] = token
        return out.T.contiguous().cpu().numpy()


def sample_batches(
    arrays: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
    seeds: np.ndarray,
    run: RunContext,
) -> Iterator[np.ndarray]:
    """Endless stream of batches of addresses new to this run (and not seeds).

    Three sources, each ranked or drawn by the model, are interleaved by share: endings of
    the seeds' last two bytes (``completion_share``), the model's most probable addresses
    from a beam search (``beam_share`` of the rest) and samples. Filtering here as well as
    in the host is what lets the sampler notice that it is repeating itself and widen the
    distribution before the host gives up on it.
    """
    device = resolve_device(str(params["device"]))
    threads = int(params["threads"])
    with _threads(threads):
        sampler = Sampler(load_arrays(params, arrays), device)
    seen = AddressSet(seeds)
    share = float(params["completion_share"])
    explore = _explore(sampler, params, seeds, seen, run, 1.0 - share)
    if share <= 0:
        yield from explore
        return
    # the seeds' own endings are among the best; the pool must hold them as well
    keep = int((run.count or COMPLETION_POOL) * share * BEAM_SLACK) + len(seeds)
    started = time.perf_counter()
    with _threads(threads):
        ranked = sampler.completions(seeds, keep, float(params["prefix_weight"]))
    ranked = ranked[~seen.contains(ranked)]
    run.log.info("lstm_ip: %s seed completions in %.1f s", f"{len(ranked):,}", time.perf_counter() - started)
    yield from _interleave(ranked, explore, share, seen)


def _interleave(
    ranked: np.ndarray, other: Iterator[np.ndarray], share: float, seen: AddressSet
) -> Iterator[np.ndarray]:
    """``ranked`` in order, as ``share`` of the output, between the batches of ``other``.

    ``other`` marks what it yields in ``seen``; ranked rows it already gave are skipped.
    Once ``ranked`` runs out, ``other`` continues alone.
    """
    if share >= 1:
        for start in range(0, len(ranked), BEAM_CHUNK):
            head = ranked[start : start + BEAM_CHUNK]
            yield head[seen.add_new(head)]
        yield from other
        return
    for batch in other:
        if len(ranked):
            take = int(np.ceil(len(batch) * share / (1 - share)))
            head, ranked = ranked[:take], ranked[take:]
            batch = np.concatenate([head[seen.add_new(head)], batch])
        yield batch
    if len(ranked):  # ``other`` ran dry first
        yield ranked[seen.add_new(ranked)]


def _explore(
    sampler: Sampler,
    params: Mapping[str, Any],
    seeds: np.ndarray,
    seen: AddressSet,
    run: RunContext,
    share_of_output: float,
) -> Iterator[np.ndarray]:
    """The beam search's most probable addresses interleaved with samples, marked in ``seen``."""
    temperature = float(params["temperature"])
    adaptive = bool(params["adaptive_temperature"])
    batch_size = int(params["generate_batch_size"])
    threads = int(params["threads"])
    wanted = int(run.count * share_of_output) if run.count else 0
    if wanted:
        # A small request need not pay for a full batch; a little slack covers repeats.
        batch_size = min(batch_size, max(1024, int(wanted * 1.25)))
    share = float(params["beam_share"])
    ranked = np.empty((0, ADDRESS_BYTES), dtype=np.uint8)
    if share > 0:
        # the seeds are among the most probable addresses; the beam must hold them as well
        width = int((wanted or batch_size) * share * BEAM_SLACK) + len(seeds)
        started = time.perf_counter()
        with _threads(threads):
            ranked = sampler.most_probable(width)
        run.log.info("lstm_ip: beam of %s in %.1f s", f"{width:,}", time.perf_counter() - started)
        ranked = ranked[~seen.contains(ranked)]
    samples = _samples(sampler, temperature, adaptive, batch_size, threads, seen, run)
    yield from _interleave(ranked, samples, share, seen)


def _samples(
    sampler: Sampler,
    temperature: float,
    adaptive: bool,
    batch_size: int,
    threads: int,
    seen: AddressSet,
    run: RunContext,
) -> Iterator[np.ndarray]:
    """Sampled addresses new to ``seen``; the temperature rises while they keep repeating."""
    ceiling = temperature * MAX_TEMPERATURE_FACTOR
    generator = torch.Generator(device=sampler.device).manual_seed(run.seed)
    dry = 0
    while True:
        # The thread setting is scoped to each batch, not the generator's life: the caller
        # runs its own code (and maybe its own torch) while this generator is suspended.
        with _threads(threads):
            batch = sampler.sample(batch_size, temperature, generator)
        fresh = batch[seen.add_new(batch)]
        if adaptive and len(fresh) < LOW_NEW_SHARE * len(batch) and temperature < ceiling:
            temperature = min(ceiling, temperature * TEMPERATURE_STEP)
            run.log.info(
                "lstm_ip: only %s of %s sampled addresses were new; temperature now %.3g",
                f"{len(fresh):,}",
                f"{len(batch):,}",
                temperature,
            )
        if len(fresh) == 0:
            dry += 1
            if dry >= DRY_LIMIT:
                return
            continue
        dry = 0
        yield fresh

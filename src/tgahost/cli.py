"""The ``tgahost`` command: thin click wrappers over :mod:`tgahost.api`.

Every command prints its results on stdout and its notes on stderr; a user's mistake ends
in one ``tgahost: error: ...`` line and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from tgahost import api
from tgahost.addresses import FORMATS, AddressWriter, atomic_write_bytes, check_writable, read_seeds
from tgahost.errors import TgahostError
from tgahost.plugins import PLUGINS_ENV, get_host
from tgahost.prefixes import PrefixSet

#: Set to debug, info, warning or error to choose how much tgahost says on stderr.
LOG_ENV = "TGAHOST_LOG"
log = logging.getLogger("tgahost")


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"tgahost: {record.levelname.lower()}: {message}"
        return f"tgahost: {message}"


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = os.environ.get(LOG_ENV, "").upper()
    chosen = getattr(logging, level, None) if level else None
    if verbose:
        chosen = logging.DEBUG
    elif quiet:
        chosen = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.setLevel(chosen if isinstance(chosen, int) else logging.INFO)
    log.propagate = False


class _Group(click.Group):
    """Turns the host's user-facing errors into one line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TgahostError as exc:
            click.echo(f"tgahost: error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("tgahost: interrupted; no output file was written", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # e.g. `tgahost generate ... | head`
            sys.stderr.close()
            ctx.exit(0)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TgahostError(f"--param {item!r}: write it as key=value, e.g. --param epochs=5")
        params[key.strip()] = value.strip()
    return params


param_option = click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A TGA parameter (repeatable); `tgahost list` shows each type's parameters.",
)
seed_option = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Random seed: the same seed gives the same output.",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tgahost", prog_name="tgahost")
@click.option("-v", "--verbose", count=True, help=f"Debug output on stderr (or set {LOG_ENV}=debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def main(verbose: int, quiet: bool) -> None:
    """Train IPv6 target generation algorithms (TGAs) on seed addresses and generate
    candidate addresses to scan.

    \b
      tgahost list
      tgahost train --tga-type lstm_ip --input-file seeds.txt --output-file model.bin
      tgahost generate --model-file model.bin --count 100000 --unique --output-file targets.txt
    """
    _setup_logging(verbose, quiet)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """List installed plugins, their TGA types and parameters."""
    host = get_host()
    plugins = host.plugins()
    owners = host.owners()
    if as_json:
        conflicts = {name: [o.name for o in found] for name, found in owners.items() if len(found) > 1}
        click.echo(json.dumps({"plugins": [p.as_dict() for p in plugins], "conflicts": conflicts}, indent=2))
        return
    if not plugins:
        note = f" ({PLUGINS_ENV} is set)" if PLUGINS_ENV in os.environ else ""
        click.echo(f"no tgahost plugins installed{note}")
        return
    for info in plugins:
        where = f"{info.distribution or 'in-process'} {info.version or ''}".strip()
        click.echo(f"{info.name}  [{where}]  {'ERROR: ' + info.error if info.error else 'ok'}")
        for spec in info.types:
            status = "available" if spec.available else f"unavailable: {spec.unavailable_reason}"
            if len(owners.get(spec.name, [])) > 1:
                others = ", ".join(o.distribution or o.name for o in owners[spec.name])
                status = f"CONFLICT: also offered by {others}"
            click.echo(f"  {spec.name}: {spec.description} ({status})")
            for p in spec.params:
                extra = f", one of {'/'.join(map(str, p.choices))}" if p.choices else ""
                when = ", also at generate" if p.at_generate else ""
                tried = f", tune tries {'/'.join(map(str, p.tune))}" if p.tune else ""
                click.echo(f"      {p.name}={p.default!r} ({p.type}{extra}{when}{tried}): {p.help}")


#: Where `train` lets a TGA keep its progress, beside the model file.
CHECKPOINT_SUFFIX = ".ckpt"


@main.command()
@click.option("--tga-type", required=True, help="The TGA to train, e.g. lstm_ip or random_ip.")
@click.option(
    "--input-file", required=True, help="Seed addresses, one a line ('-' for stdin; .gz/.xz/.bz2 ok)."
)
@click.option("--output-file", required=True, type=click.Path(dir_okay=False), help="Model file to write.")
@param_option
@seed_option
@click.option(
    "--skip-invalid", is_flag=True, help="Skip lines that are not IPv6 addresses instead of failing."
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted training from its checkpoint (OUTPUT_FILE.ckpt); same seeds and params.",
)
def train(
    tga_type: str,
    input_file: str,
    output_file: str,
    params: tuple[str, ...],
    seed: int | None,
    skip_invalid: bool,
    resume: bool,
) -> None:
    """Train a TGA on seed addresses and write its model file.

    TGAs that train for long (lstm_ip) keep their progress in OUTPUT_FILE.ckpt while they
    run; after a Ctrl-C or a crash, the same command with --resume carries on from there.
    """
    checkpoint = Path(str(output_file) + CHECKPOINT_SUFFIX)
    if resume and not checkpoint.is_file():
        raise TgahostError(f"nothing to resume: no checkpoint at {checkpoint}; train without --resume")
    if not resume and checkpoint.is_file():
        raise TgahostError(
            f"{checkpoint} holds an interrupted training: add --resume to continue it, or delete it to "
            "start afresh"
        )
    check_writable(output_file)
    host = get_host()
    host.warn_failures()
    spec, _ = host.resolve(tga_type)
    parsed = _parse_params(params)
    spec.resolve_params(parsed)  # fail on a bad --param before reading a big file
    started = time.perf_counter()
    seeds = read_seeds(input_file, skip_invalid=skip_invalid)
    log.info(
        "read %s from %s (%s, %s%s)",
        _plural(len(seeds), "distinct seed"),
        input_file,
        _plural(seeds.lines, "line"),
        _plural(seeds.duplicates, "duplicate"),
        f", {seeds.skipped_invalid:,} invalid skipped" if seeds.skipped_invalid else "",
    )
    try:
        model = api.train(
            tga_type,
            seeds,
            params=parsed,
            seed=seed,
            host=host,
            report=log.info,
            checkpoint=checkpoint,
            resume=resume,
        )
    except KeyboardInterrupt:
        if checkpoint.is_file():
            log.warning("progress is kept in %s: run the same command with --resume to continue", checkpoint)
        raise
    size = api.save_model(model, output_file)
    checkpoint.unlink(missing_ok=True)
    log.info(
        "wrote %s (%s, %s bytes) in %.1f s", output_file, tga_type, f"{size:,}", time.perf_counter() - started
    )


def _progress(count: int) -> Callable[[int], None]:
    """Live 'generated k/N' on a terminal's stderr; silent when stderr is a file or pipe."""
    if not sys.stderr.isatty() or log.level > logging.INFO:
        return lambda made: None
    last = [0.0]

    def show(made: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or made >= count:
            last[0] = now
            sys.stderr.write(f"\rtgahost: generated {made:,}/{count:,}")
            if made >= count:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show


@main.command()
@click.option("--model-file", required=True, help="A model file written by `tgahost train`.")
@click.option("--count", required=True, type=click.IntRange(min=0), help="How many addresses to generate.")
@click.option(
    "--unique", is_flag=True, help="Exactly COUNT distinct addresses, or fail saying how many could be made."
)
@click.option("--output-file", default="-", show_default=True, help="Where to write ('-' is stdout).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="compressed", show_default=True)
@param_option
@seed_option
@click.option(
    "--fallback",
    type=click.Choice(list(api.FALLBACKS)),
    default=None,
    help="If the model's TGA cannot run here, warn and use random_ip over the model's /64 prefixes.",
)
@click.option(
    "--exclude",
    "exclude_file",
    default=None,
    help="Never emit addresses inside these prefixes (one CIDR a line: a blocklist, aliased prefixes).",
)
def generate(
    model_file: str,
    count: int,
    unique: bool,
    output_file: str,
    fmt: str,
    params: tuple[str, ...],
    seed: int | None,
    fallback: str | None,
    exclude_file: str | None,
) -> None:
    """Generate candidate addresses from a model; never a training seed."""
    host = get_host()
    host.warn_failures()
    exclude = PrefixSet.read(exclude_file) if exclude_file else None
    model = api.load_model(model_file)
    started = time.perf_counter()
    show = _progress(count)
    batches = api.generate(
        model,
        count,
        unique=unique,
        seed=seed,
        params=_parse_params(params),
        host=host,
        fallback=fallback,
        exclude=exclude,
    )
    with AddressWriter(output_file, fmt) as writer:
        for batch in batches:
            writer.write(batch)
            show(writer.written)
    made_by = api.generating_type(model, host, fallback)
    if made_by != model.tga_type:
        made_by += f" in place of {model.tga_type}"
    log.info(
        "generated %s %saddresses from %s in %.1f s%s",
        f"{writer.written:,}",
        "distinct " if unique else "",
        made_by,
        time.perf_counter() - started,
        f" into {output_file}" if output_file != "-" else "",
    )


@main.command()
@click.option("--model-file", required=True, help="A model file written by `tgahost train`.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole metadata as JSON.")
def info(model_file: str, as_json: bool) -> None:
    """Show what a model is and how it was trained."""
    model = api.load_model(model_file)
    meta = model.metadata
    if as_json:
        click.echo(json.dumps(meta, indent=2, sort_keys=True))
        return
    plugin = meta.get("plugin", {})
    lines = [
        f"model file:   {model_file}",
        f"TGA type:     {meta['tga_type']}",
        f"made by:      {plugin.get('distribution')} {plugin.get('version')} (plugin {plugin.get('name')}), "
        f"tgahost {meta.get('tgahost_version')}",
        f"created:      {meta.get('created')}",
        f"seeds:        {meta.get('seed_count'):,} distinct (sha256 {meta.get('seeds_sha256', '')[:16]}...)",
        "parameters:   " + ", ".join(f"{k}={v}" for k, v in sorted(meta.get("params", {}).items())),
    ]
    lines += [f"{k + ':':<13} {v}" for k, v in sorted(meta.get("info", {}).items())]
    n_values = sum(int(a.size) for a in model.arrays.values())
    lines.append(f"arrays:       {len(model.arrays)} ({n_values:,} values)")
    click.echo("\n".join(lines))


def _tga_params(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``--param T.key=value`` for eval: parameters per TGA type."""
    per_type: dict[str, dict[str, str]] = {}
    for key, value in _parse_params(values).items():
        tga_type, dot, name = key.partition(".")
        if not dot or not name:
            raise TgahostError(f"--param {key}={value}: eval needs TYPE.key=value, e.g. lstm_ip.epochs=5")
        per_type.setdefault(tga_type, {})[name] = value
    return per_type


def _eval_table(results: list, exclude: bool) -> str:
    header = [
        "TGA",
        "budget",
        "hits",
        "hit rate",
        "recall",
        "/64s",
        "/48s",
        "held-out /64s",
        "train s",
        "gen s",
        "cand/s",
        "peak MiB",
    ]
    if exclude:
        header.insert(4, "hits outside")
    rows = []
    for result in results:
        for b in result.budgets:
            row = [
                result.name,
                f"{b.budget:,}",
                f"{b.hits:,}",
                f"{b.hit_rate:.2%}",
                f"{b.recall:.2%}",
                f"{b.hit_64s:,}",
                f"{b.hit_48s:,}",
                f"{b.held_out_64_share:.1%}",
                "" if result.train_seconds is None else f"{result.train_seconds:.1f}",
                "" if not b.seconds else f"{b.seconds:.1f}",
                "" if not b.seconds else f"{b.budget / b.seconds:,.0f}",
                "" if result.peak_rss_mib is None else f"{result.peak_rss_mib:,.0f}",
            ]
            if exclude:
                row.insert(4, f"{b.hits_outside_exclude:,}")
            rows.append(row)
        if not result.budgets:
            rows.append([result.name] + ["-"] * (len(header) - 1))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *rows]
    ]
    notes = [f"{r.name}: {r.note}" for r in results if r.note]
    notes += [
        f"{r.name}: lines dropped: " + ", ".join(f"{v:,} {k}" for k, v in r.dropped.items())
        for r in results
        if r.dropped
    ]
    return "\n".join(lines + (["", *notes] if notes else []))


@main.command("eval")
@click.option("--input-file", default=None, help="Seed addresses to split into training and held-out parts.")
@click.option("--train-file", default=None, help="A training part made elsewhere (use with --test-file).")
@click.option("--test-file", default=None, help="A held-out part made elsewhere (use with --train-file).")
@click.option(
    "--tga-type", "tga_types", multiple=True, help="TGA to evaluate (repeatable; default: all available)."
)
@click.option(
    "--candidates",
    "candidate_files",
    multiple=True,
    help="A candidate file made by any tool, scored on the same split (repeatable).",
)
@click.option(
    "--budget",
    "budgets",
    multiple=True,
    type=click.IntRange(min=1),
    help="Candidates per TGA (repeatable; default 10000 and 100000).",
)
@click.option("--test-fraction", default=0.2, show_default=True, type=float, help="Share held out.")
@click.option("--split-seed", default=0, show_default=True, type=int, help="Seed of the split's shuffle.")
@click.option(
    "--param", "params", multiple=True, metavar="TYPE.KEY=VALUE", help="A parameter for one TGA type."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for training and generation.")
@click.option(
    "--exclude", "exclude_file", default=None, help="Prefixes to report hits outside of (e.g. aliased)."
)
@click.option(
    "--write-split", "split_dir", default=None, help="Write train.txt and test.txt into this folder."
)
@click.option("--plot", "plot_file", default=None, help="Write a PNG of hits against budget.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable results on stdout.")
@click.option("--skip-invalid", is_flag=True, help="Skip lines that are not IPv6 addresses.")
@click.option(
    "--same-process",
    is_flag=True,
    help="Run every TGA in this process (faster start; peak memory then covers all of them).",
)
def eval_command(
    input_file: str | None,
    train_file: str | None,
    test_file: str | None,
    tga_types: tuple[str, ...],
    candidate_files: tuple[str, ...],
    budgets: tuple[int, ...],
    test_fraction: float,
    split_seed: int,
    params: tuple[str, ...],
    seed: int,
    exclude_file: str | None,
    split_dir: str | None,
    plot_file: str | None,
    as_json: bool,
    skip_invalid: bool,
    same_process: bool,
) -> None:
    """Compare TGAs offline: train on part of the seeds, count held-out addresses found."""
    from tgahost import evaluation

    host = get_host()
    host.warn_failures()
    if bool(train_file) != bool(test_file):
        raise TgahostError("give --train-file and --test-file together")
    if not input_file and not train_file:
        raise TgahostError("give --input-file to split, or --train-file and --test-file")
    if input_file and train_file:
        raise TgahostError("give either --input-file or --train-file/--test-file, not both")
    budgets = tuple(sorted(set(budgets or (10_000, 100_000))))
    per_type = _tga_params(params)
    if not tga_types and not candidate_files:
        owners = host.owners()
        tga_types = tuple(
            name
            for name, found in owners.items()
            if len(found) == 1 and next(s for s in found[0].types if s.name == name).available
        )
    for name in tga_types:
        spec, _ = host.resolve(name)
        spec.resolve_params(per_type.get(name, {}))
    unknown = set(per_type) - set(tga_types)
    if unknown:
        raise TgahostError(f"--param for {', '.join(sorted(unknown))}, which is not evaluated here")
    exclude = PrefixSet.read(exclude_file) if exclude_file else None
    for path in candidate_files:  # fail now, not after minutes of training
        if not os.path.isfile(path):
            raise TgahostError(f"--candidates {path}: no such file")
    if plot_file:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise TgahostError("--plot needs matplotlib: pip install 'tgahost[plot]'") from None
        check_writable(plot_file)
    if input_file:
        train, test = evaluation.split(
            read_seeds(input_file, skip_invalid).addresses, test_fraction, split_seed
        )
        source = f"{input_file} (split {1 - test_fraction:.0%}/{test_fraction:.0%}, seed {split_seed})"
    else:
        train = read_seeds(train_file, skip_invalid).addresses
        test = read_seeds(test_file, skip_invalid).addresses
        source = f"{train_file} / {test_file}"
    log.info("%s training and %s held-out addresses from %s", f"{len(train):,}", f"{len(test):,}", source)
    if split_dir:
        os.makedirs(split_dir, exist_ok=True)
        for name, part in (("train.txt", train), ("test.txt", test)):
            with AddressWriter(os.path.join(split_dir, name)) as writer:
                writer.write(part)
        log.info("wrote the split to %s", split_dir)
    tty = sys.stderr.isatty() and log.level <= logging.INFO
    show = (lambda line: log.info("%s", line)) if tty else None
    run_one = evaluation.evaluate_tga if same_process else evaluation.evaluate_tga_in_process
    results = []
    for index, name in enumerate(tga_types, 1):
        log.info("[%d/%d] evaluating %s", index, len(tga_types), name)
        results.append(run_one(name, train, test, budgets, per_type.get(name, {}), seed, exclude, show))
    for path in candidate_files:
        results.append(evaluation.evaluate_candidates(path, train, test, budgets, exclude))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "source": source,
                    "train": len(train),
                    "held_out": len(test),
                    "held_out_64s": len(np.unique(test[:, :8], axis=0)),
                    "budgets": list(budgets),
                    "results": [r.as_dict() for r in results],
                },
                indent=2,
            )
        )
    else:
        click.echo(f"{source}: {len(train):,} training, {len(test):,} held out")
        click.echo(_eval_table(results, exclude is not None))
    if plot_file:
        from tgahost.plot import plot_hits

        name = os.path.basename(input_file) if input_file else os.path.basename(test_file or "")
        plot_hits(results, plot_file, f"{name}: held-out hits ({len(test):,} held out)")
        log.info("wrote %s", plot_file)


def _parse_grid(values: tuple[str, ...]) -> dict[str, list[str]]:
    grid: dict[str, list[str]] = {}
    for item in values:
        key, sep, listed = item.partition("=")
        choices = [v.strip() for v in listed.split(",") if v.strip()]
        if not sep or not key.strip() or not choices:
            raise TgahostError(f"--grid {item!r}: write it as key=v1,v2,..., e.g. --grid hidden_size=64,128")
        grid[key.strip()] = choices
    return grid


@main.command()
@click.option("--tga-type", required=True, help="The TGA whose parameters to search.")
@click.option("--input-file", required=True, help="Seed addresses; a share is held out to score each trial.")
@click.option(
    "--output-file",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the best model (its search table goes to OUTPUT_FILE.tune.md).",
)
@click.option(
    "--time-budget",
    default=1800.0,
    show_default=True,
    type=float,
    help="Seconds to search for; no training run starts that would not fit (the refit comes on top).",
)
@click.option(
    "--budget",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Candidates each trial generates and is scored on.",
)
@click.option(
    "--grid",
    "grid_items",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="Values to try for one parameter (repeatable); replaces the TGA's suggestions for it.",
)
@param_option
@click.option(
    "--metric",
    type=click.Choice(["hits", "64s"]),
    default="hits",
    show_default=True,
    help="What best means: held-out hits, or distinct /64s with a hit (immune to aliased prefixes).",
)
@click.option(
    "--max-trials", default=0, type=click.IntRange(min=0), help="Stop after this many trials (0: none)."
)
@click.option(
    "--test-fraction", default=0.2, show_default=True, type=float, help="Share held out for scoring."
)
@click.option("--split-seed", default=0, show_default=True, type=int, help="Seed of the split's shuffle.")
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed for the search, training and generation."
)
@click.option(
    "--refit/--no-refit",
    default=True,
    show_default=True,
    help="Train the best settings again on every seed (the held-out share included) for the written model.",
)
@click.option("--skip-invalid", is_flag=True, help="Skip lines that are not IPv6 addresses.")
def tune(
    tga_type: str,
    input_file: str,
    output_file: str,
    time_budget: float,
    budget: int,
    grid_items: tuple[str, ...],
    params: tuple[str, ...],
    metric: str,
    max_trials: int,
    test_fraction: float,
    split_seed: int,
    seed: int,
    refit: bool,
    skip_invalid: bool,
) -> None:
    """Search a TGA's parameters on a held-out share of the seeds; write the best model.

    Prints the table of what was tried (also written to OUTPUT_FILE.tune.md). Ctrl-C
    stops the search and keeps the best trial so far.
    """
    from tgahost import evaluation, tuning

    host = get_host()
    host.warn_failures()
    spec, _ = host.resolve(tga_type)
    grid = _parse_grid(grid_items)
    fixed = _parse_params(params)
    spec.resolve_params(fixed)
    space = tuning.search_space(spec, grid)  # fail on a bad --grid before reading a big file
    clash = sorted(set(space) & set(fixed))
    if clash:
        raise TgahostError(f"{', '.join(clash)} given both as --param and searched; drop one")
    check_writable(output_file)
    check_writable(str(output_file) + ".tune.md")
    seeds = read_seeds(input_file, skip_invalid).addresses
    train, held_out = evaluation.split(seeds, test_fraction, split_seed)
    log.info(
        "tuning %s over %s on %s training and %s held-out addresses, %s candidates a trial, %s s budget",
        tga_type,
        ", ".join(f"{k} ({len(v)})" for k, v in space.items()),
        f"{len(train):,}",
        f"{len(held_out):,}",
        f"{budget:,}",
        f"{time_budget:g}",
    )
    result = tuning.search(
        tga_type,
        train,
        held_out,
        budget=budget,
        time_budget=time_budget,
        grid=grid,
        fixed=fixed,
        metric=metric,
        seed=seed,
        max_trials=max_trials,
        host=host,
        report=log.info,
    )
    best = result.best
    assert best is not None and result.model is not None  # search raises when no trial ran
    if best.hits == 0:
        log.warning(
            "no trial found a held-out address in its first %s candidates, so the search could not "
            "tell the settings apart; the model written has the first trial's (the defaults)",
            f"{budget:,}",
        )
    summary = {
        "metric": metric,
        "budget": budget,
        "trials": len(result.trials),
        "stopped_by": result.stopped_by,
        "best": best.params,
        "best_hits": best.hits,
        "best_64s": best.hit_64s,
        "held_out": len(held_out),
        "refit": refit,
    }
    if refit:
        log.info("training the best settings on all %s seeds", f"{len(seeds):,}")
        model = api.train(
            tga_type, seeds, params={**fixed, **best.params}, seed=seed, host=host, report=log.info
        )
    else:
        model = result.model
        # the winning generate-time settings become the model's own defaults
        model.metadata["params"] = {**model.params, **best.params}
    model.metadata.setdefault("info", {})["tune"] = summary
    table = result.table()
    click.echo(table)
    api.save_model(model, output_file)
    table_file = str(output_file) + ".tune.md"
    atomic_write_bytes(
        table_file,
        f"# tgahost tune {tga_type}: {len(result.trials)} trials on {input_file}\n\n"
        f"Scored on {len(held_out):,} held-out addresses ({test_fraction:.0%}, split seed {split_seed}), "
        f"first {budget:,} candidates; best by {metric}; search stopped by {result.stopped_by} "
        f"after {result.seconds:.0f} s.\n\n{table}\n".encode(),
    )
    log.info(
        "best: %s (%s hits in %s /64s); wrote %s and %s",
        tuning.describe(best.params),
        f"{best.hits:,}",
        f"{best.hit_64s:,}",
        output_file,
        table_file,
    )

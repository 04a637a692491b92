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
from typing import Any

import click

from tgahost import api
from tgahost.addresses import FORMATS, AddressWriter, read_seeds
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
                click.echo(f"      {p.name}={p.default!r} ({p.type}{extra}{when}): {p.help}")


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
def train(
    tga_type: str,
    input_file: str,
    output_file: str,
    params: tuple[str, ...],
    seed: int | None,
    skip_invalid: bool,
) -> None:
    """Train a TGA on seed addresses and write its model file."""
    host = get_host()
    host.warn_failures()
    spec, _ = host.resolve(tga_type)
    parsed = _parse_params(params)
    spec.resolve_params(parsed)  # fail on a bad --param before reading a big file
    started = time.perf_counter()
    seeds = read_seeds(input_file, skip_invalid=skip_invalid)
    log.info(
        "read %s distinct seeds from %s (%s lines, %s duplicates%s)",
        f"{len(seeds):,}",
        input_file,
        f"{seeds.lines:,}",
        f"{seeds.duplicates:,}",
        f", {seeds.skipped_invalid:,} invalid skipped" if seeds.skipped_invalid else "",
    )
    model = api.train(tga_type, seeds, params=parsed, seed=seed, host=host, report=log.info)
    size = api.save_model(model, output_file)
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
    type=click.Choice(api.FALLBACKS),
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
    log.info(
        "generated %s %saddresses from %s in %.1f s%s",
        f"{writer.written:,}",
        "distinct " if unique else "",
        model.tga_type,
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

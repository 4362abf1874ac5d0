"""`emulator`, `init` and `schema`: the commands that need no reconciler.yaml."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.app import App, ReconcilerCommand, pass_app
from reconciler.exitcodes import ExitCode
from reconciler.schema import SCHEMA_KINDS


@click.command("emulator", cls=ReconcilerCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=int, help="Port (0: any free one).")
@click.option(
    "--state",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SQLite file for the emulator's state (default: in memory).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every outcome.")
@click.option(
    "--time-scale", default=1.0, show_default=True, type=float, help="Runs age N times faster."
)
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per request.")
@click.option("--latency-jitter-ms", default=0.0, type=float, help="Random extra latency.")
@click.option("--rate-429", default=0.0, type=float, help="Share of requests answered 429.")
@click.option(
    "--rate-5xx", default=0.0, type=float, help="Share of requests answered 500, 502, 503 or 504."
)
@click.option("--drop-rate", default=0.0, type=float, help="Share of connections dropped.")
@click.option(
    "--lost-create-rate", default=0.0, type=float, help="Share of creates whose answer is lost."
)
@click.option(
    "--requests-per-second", default=None, type=float, help="Rate limit per API key (429)."
)
@click.option(
    "--list-order",
    type=click.Choice(["newest", "oldest", "shuffled"]),
    default="newest",
    show_default=True,
    help="Order of the run lists (no vendor documents one).",
)
@click.option(
    "--omit-dataset-id",
    is_flag=True,
    default=False,
    help="Leave datasetId out of Adaline evaluations (the docs say it may be absent).",
)
def emulator_command(
    host: str,
    port: int,
    state: Path | None,
    seed: int,
    time_scale: float,
    list_order: str,
    omit_dataset_id: bool,
    requests_per_second: float | None,
    **faults: float,
) -> int:
    """Serve the vendors' APIs locally (see docs/emulator.md)."""
    from reconciler.embedded import serve_emulator

    serve_emulator(
        host=host,
        port=port,
        state=state,
        seed=seed,
        time_scale=time_scale,
        list_order=list_order,
        omit_dataset_id=omit_dataset_id,
        faults={**faults, "requests_per_second_per_key": requests_per_second},
        on_ready=lambda url: click.echo(
            f"reconciler emulator on {url} (Ctrl-C stops it)", err=True
        ),
    )
    return ExitCode.OK


@click.command("init", cls=ReconcilerCommand)
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@pass_app
def init_command(app: App, target: Path | None, force: bool) -> int:
    """Scaffold a project in DIR (default: the current one) that runs against the emulator."""
    from reconciler.scaffold import init_project

    directory = app.directory / target if target is not None else app.directory
    done = init_project(directory, force=force)
    click.echo(f"Created {len(done.files)} file(s) in {directory} (workspace {done.workspace}):")
    for path in done.files:
        click.echo(f"  {path}")
    shown = directory.resolve()
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    where = "" if shown == Path() else f" -C {shown}"
    click.echo(
        f"Next: reconciler{where} validate, then reconciler{where} plan "
        "(every vendor is the embedded emulator; see the comments in reconciler.yaml)."
    )
    return ExitCode.OK


@click.command("schema", cls=ReconcilerCommand)
@click.option(
    "--kind",
    type=click.Choice(SCHEMA_KINDS),
    help="Print the JSON Schema of one kind on stdout.",
)
@click.option(
    "--export",
    "export_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write every schema into DIR (created if needed).",
)
@pass_app
def schema_command(app: App, kind: str | None, export_dir: Path | None) -> int:
    """Print one JSON Schema (--kind) or write them all (--export) for editors and tools."""
    from reconciler.schema import export_schemas, schema_text

    if kind is not None and export_dir is None:
        click.echo(schema_text(kind), nl=False)
        return ExitCode.OK
    if export_dir is not None and kind is None:
        written = export_schemas(app.directory / export_dir)
        click.echo(f"Wrote {len(written)} schema(s) to {app.directory / export_dir}.", err=True)
        return ExitCode.OK
    raise click.UsageError(f"pass either --kind KIND ({', '.join(SCHEMA_KINDS)}) or --export DIR")

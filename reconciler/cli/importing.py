"""`import`: manifest documents for the live runs no declared resource accounts for."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.app import App, ReconcilerCommand, pass_app
from reconciler.errors import ConfigError
from reconciler.exitcodes import ExitCode


@click.command("import", cls=ReconcilerCommand)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="FILE|DIR/",
    help="Write every document to FILE, or one file per vendor into DIR/ (bland.yaml, ...).",
)
@click.option("--force", is_flag=True, help="Write over files that exist.")
@click.option(
    "--vendor",
    "vendors",
    multiple=True,
    type=click.Choice(["bland", "adaline", "arize"]),
    help="Only this vendor's runs (repeatable).",
)
@click.option("--eval-agent-id", multiple=True, help="Bland: runs that included this eval agent.")
@click.option("--workbench-setup-id", multiple=True, help="Bland: runs started from this setup.")
@click.option("--status", "statuses", multiple=True, help="Bland: runs in this status.")
@click.option(
    "--adaline-prompt",
    multiple=True,
    help="Adaline: import this prompt's evaluations (Adaline lists evaluations per prompt).",
)
@click.option(
    "--arize-task",
    multiple=True,
    help="Arize: only this task's runs (among providers.arize.task_ids and the space's tasks).",
)
@click.option("--since", default=None, metavar="TIME", help="Runs created at or after TIME.")
@pass_app
def import_command(
    app: App,
    out: str,
    force: bool,
    vendors: tuple[str, ...],
    eval_agent_id: tuple[str, ...],
    workbench_setup_id: tuple[str, ...],
    statuses: tuple[str, ...],
    adaline_prompt: tuple[str, ...],
    arize_task: tuple[str, ...],
    since: str | None,
) -> int:
    """Write manifests for the live runs that no declared resource matches."""
    from reconciler.importer import ImportFilter
    from reconciler.model import Vendor, parse_instant

    try:
        since_at = parse_instant(since) if since is not None else None
    except (ValueError, OverflowError):
        raise ConfigError(
            f'--since: {since!r} is not an RFC 3339 time; write it like "2026-11-01T00:00:00Z"'
        ) from None
    only = ImportFilter(
        vendors=tuple(Vendor(v) for v in vendors),
        eval_agent_ids=eval_agent_id,
        workbench_setup_ids=workbench_setup_id,
        statuses=statuses,
        prompt_ids=adaline_prompt,
        task_ids=arize_task,
        since=since_at,
    )
    with app.session() as session:
        result = session.import_runs(only)
    per_vendor = out.endswith(("/", "\\")) or app.path(Path(out)).is_dir()
    target = app.path(Path(out))
    files: dict[Path, list[str]] = {}
    for document in result.documents:
        path = target / f"{document.address.kind.vendor.value}.yaml" if per_vendor else target
        files.setdefault(path, []).append(document.text)
    existing = sorted(str(p) for p in files if p.exists())
    if existing and not force:
        raise ConfigError(
            f"{', '.join(existing)} already exist(s); nothing was written. "
            "Choose another --out, or pass --force to write over"
        )
    for path, texts in sorted(files.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n".join(texts), encoding="utf-8")
        click.echo(f"Wrote {len(texts)} document(s) to {path}")
    for skipped in result.skipped:
        click.echo(f"Not imported: {skipped}", err=True)
    if not result.documents:
        click.echo("No live run to import: every run is declared already, or none matched.")
    return ExitCode.OK

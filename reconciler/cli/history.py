"""`history`: each resource's runs, newest first, from the vendors' list pages."""

from __future__ import annotations

import click

from reconciler.cli.app import App, ReconcilerCommand, echo, pass_app

HISTORY_FORMATS = ("table", "json", "markdown")


@click.command("history", cls=ReconcilerCommand)
@click.argument("address_glob", metavar="[ADDRESS-GLOB]", required=False)
@click.option(
    "--last",
    default=10,
    type=click.IntRange(min=1),
    show_default=True,
    help="How many runs to show per resource, newest first.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(HISTORY_FORMATS),
    default="table",
    show_default=True,
    help="What to print on stdout.",
)
@pass_app
def history_command(app: App, address_glob: str | None, last: int, fmt: str) -> int:
    """List each declared resource's runs: status, created, cost and its gated metrics."""
    from reconciler.exitcodes import ExitCode
    from reconciler.render import history as views

    with app.session() as session:
        history = session.history(address_glob)
        workspace = session.config.workspace
    if fmt == "json":
        echo(views.render_history_json(history, workspace=workspace, last=last))
    elif fmt == "markdown":
        echo(views.render_history_markdown(history, last=last))
    else:
        echo(views.render_history_text(history, last=last))
    return ExitCode.OK

"""`status` and `comment`: judge the runs, post the pull-request comment."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import click

from reconciler.cli.app import App, ReconcilerCommand, echo, pass_app
from reconciler.cli.plan import exclude_option, target_option
from reconciler.exitcodes import ExitCode
from reconciler.secret import scrub

if TYPE_CHECKING:
    from reconciler.gates import StatusResult
    from reconciler.model import Plan
    from reconciler.render.markdown import CiRun

STATUS_FORMATS = ("table", "json", "markdown", "junit")


class ProgressLine:
    """Report waiting on stderr: a line per change in a log, one live line on a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.last = ""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live and self.last:  # end the live line, so what follows starts on its own
            click.echo("", err=True)

    def __call__(self, result: StatusResult) -> None:
        """Show the progress of one poll."""
        from reconciler.render.progress import progress_frame

        self.last, text = progress_frame(result, last=self.last, live=self.live)
        if text is not None:
            click.echo(text, err=True, nl=False)


def render_status(
    result: StatusResult, fmt: str, plan: Plan | None = None, *, ci: CiRun | None = None
) -> str:
    """Render `result` in `fmt`; Markdown with a plan is the combined comment."""
    from reconciler.render import status as views

    if fmt == "markdown" and plan is not None:
        from reconciler.render.comment import render_plan_and_status

        return render_plan_and_status(plan, result, ci=ci)
    if fmt == "markdown":
        return views.render_status_markdown(result, ci=ci)
    renderers = {
        "table": views.render_status_text,
        "json": views.render_status_json,
        "junit": views.render_status_junit,
    }
    return renderers[fmt](result)


def _output_spec(value: str) -> tuple[str, Path]:
    fmt, sep, path = value.partition(":")
    if not sep or fmt not in STATUS_FORMATS or not path:
        raise click.BadParameter(
            f"{value!r}: write FORMAT:FILE with FORMAT one of {', '.join(STATUS_FORMATS)}, "
            "e.g. junit:report.xml"
        )
    return fmt, Path(path)


@click.command(cls=ReconcilerCommand)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(STATUS_FORMATS),
    default="table",
    show_default=True,
    help="What to print on stdout.",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="FORMAT:FILE",
    help="Also write a format to a file, e.g. -o junit:report.xml -o markdown:comment.md.",
)
@click.option(
    "--timeout",
    default=0.0,
    type=click.FloatRange(min=0),
    show_default=True,
    help="Seconds to wait for active runs to finish (0: judge them as they are now).",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A saved plan (plan -out) to show above the status in the Markdown comment.",
)
@target_option
@exclude_option
@pass_app
def status(
    app: App,
    fmt: str,
    outputs: tuple[str, ...],
    timeout: float,
    plan_file: Path | None,
    target: tuple[str, ...],
    exclude: tuple[str, ...],
) -> int:
    """Wait for the current runs, judge their thresholds; exit 0, 1, 3 or 4."""
    from reconciler.ci import ci_run
    from reconciler.outputs import write_atomically
    from reconciler.session import PlanOptions, read_plan

    # Files are checked only when written, after the result is on stdout: a CI log must
    # show the gate's verdict even when a report path is wrong (docs/cli.md).
    files = [(out_fmt, app.path(path)) for out_fmt, path in map(_output_spec, outputs)]
    shown: Plan | None = None
    with app.session() as session:
        if plan_file is not None:  # shown as saved: a refused plan shows its refusal
            saved = read_plan(app.path(plan_file))
            shown = session.replan(
                saved, allow_mass_cancel=False, allow_cost=False, guard=False
            ).plan
        options = PlanOptions(targets=target, excludes=exclude)
        with ProgressLine() as progress:
            result = session.status(options, timeout_s=timeout, progress=progress)
    ci = ci_run(app.environ)
    # The result first: a report file that cannot be written must not hide it.
    echo(render_status(result, fmt, shown, ci=ci))
    for out_fmt, path in files:
        write_atomically(path, scrub(render_status(result, out_fmt, shown, ci=ci)))
    return result.exit_code


@click.command("comment", cls=ReconcilerCommand)
@click.option(
    "--repo",
    metavar="OWNER/REPO",
    default=None,
    help="The repository (default: $GITHUB_REPOSITORY).",
)
@click.option(
    "--pr",
    "pr_number",
    type=click.IntRange(min=1),
    default=None,
    help="The pull request's number (default: from $GITHUB_EVENT_PATH).",
)
@click.option(
    "--file",
    "body_file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="The comment, from `plan --format markdown` (default: stdin).",
)
@pass_app
def comment_command(
    app: App, repo: str | None, pr_number: int | None, body_file: Path | None
) -> int:
    """Create or update the workspace's one pull-request comment (needs $GITHUB_TOKEN)."""
    from reconciler.ci import post_comment

    from_stdin = body_file is None or str(body_file) == "-"
    verb, url = post_comment(
        body_file=None if from_stdin or body_file is None else app.path(body_file),
        stdin=None if sys.stdin.isatty() else sys.stdin.read,
        repo=repo,
        pr_number=pr_number,
        environ=app.environ,
    )
    click.echo(f"{verb} {url}")
    return ExitCode.OK

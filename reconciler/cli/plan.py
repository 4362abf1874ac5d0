"""`validate`, `plan` and `apply`: parse, call the session, render, return an exit code."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli.app import App, ReconcilerCommand, echo, pass_app
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.exitcodes import ExitCode

if TYPE_CHECKING:
    from reconciler.model import Plan
    from reconciler.session import Planned, Session

target_option = click.option(
    "--target", multiple=True, metavar="GLOB", help="Only addresses matching GLOB (repeatable)."
)
exclude_option = click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Skip addresses matching GLOB (repeatable)."
)
mass_cancel_option = click.option(
    "--allow-mass-cancel", is_flag=True, help="Allow more cancels than safety.max_cancellations."
)


@click.command(cls=ReconcilerCommand)
@pass_app
def validate(app: App) -> int:
    """Check reconciler.yaml and every manifest, offline."""
    with app.session() as session:
        config, resources = session.load(offline=True)
    by_vendor: dict[str, int] = {}
    for resource in resources:
        by_vendor[resource.vendor.value] = by_vendor.get(resource.vendor.value, 0) + 1
    files = len({r.source.path for r in resources})
    detail = ", ".join(f"{v}: {n}" for v, n in sorted(by_vendor.items()))
    echo(
        f"Valid: {len(resources)} resource(s) in {files} file(s) ({detail}); "
        f"workspace {config.workspace}.\n"
    )
    return ExitCode.OK


def echo_plan(app: App, plan: Plan, *, fmt: str = "text", verbose: bool = False) -> None:
    """Print the plan; values from ${ENV} (a workspace too) are masked, as in every output."""
    if fmt == "markdown":
        from reconciler.ci import ci_run
        from reconciler.render.markdown import render_markdown

        echo(render_markdown(plan, ci=ci_run(app.environ)))
    elif fmt == "json":
        from reconciler.render.json import render_json

        echo(render_json(plan))
    else:
        from reconciler.render.text import render_text

        echo(render_text(plan, color=app.color, verbose=verbose))


@click.command(cls=ReconcilerCommand)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, markdown for a pull-request comment.",
)
@click.option(
    "-out",
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan to FILE for `reconciler apply FILE`.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 1: error, 2: changes present."
)
@click.option("-v", "--verbose", is_flag=True, help="Also list resources that need nothing.")
@click.option(
    "--no-cost",
    is_flag=True,
    help="Skip the cost estimates (no estimate requests; safety.max_cost_usd unchecked).",
)
@target_option
@exclude_option
@mass_cancel_option
@pass_app
def plan(
    app: App,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    verbose: bool,
    no_cost: bool,
    target: tuple[str, ...],
    exclude: tuple[str, ...],
    allow_mass_cancel: bool,
) -> int:
    """Show what apply would create and cancel."""
    from reconciler.outputs import check_writable
    from reconciler.session import PlanOptions, Pricing, failed_plan_comment

    out_path = app.path(out) if out is not None else None
    if out_path is not None:
        check_writable(out_path)  # before any listing: a typo in -out fails at once
    options = PlanOptions(
        targets=target,
        excludes=exclude,
        allow_mass_cancel=allow_mass_cancel,
        pricing=Pricing.NEVER if no_cost else Pricing.ALWAYS,
    )
    try:
        with app.session() as session:
            planned = session.make_plan(options)
    except ReconcilerError as error:
        if fmt == "markdown":  # replace the PR comment, or it goes on showing an older plan
            echo(failed_plan_comment(error, config_path=app.config_path, environ=app.environ))
        raise
    echo_plan(app, planned.plan, fmt=fmt, verbose=verbose)
    if out is not None and out_path is not None:
        from reconciler.planfile import write_plan_file

        write_plan_file(
            out_path,
            planned.plan,
            planned.state,
            targets=target,
            excludes=exclude,
            allow_mass_cancel=allow_mass_cancel,
        )
        if planned.plan.refusal:
            hint = app.command("apply", "--allow-mass-cancel", str(out))
            echo(f"Saved the refused plan to {out}; only `{hint}` applies it.\n", err=True)
        else:
            hint = app.command("apply", str(out))
            echo(f"Saved the plan to {out}; apply it with `{hint}`.\n", err=True)
    if planned.plan.refusal:
        raise ConfigError(planned.plan.refusal)
    if detailed_exitcode and planned.plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


@click.command(cls=ReconcilerCommand)
@click.argument("plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required in CI).")
@target_option
@exclude_option
@mass_cancel_option
@click.option(
    "--allow-cost", is_flag=True, help="Apply even above safety.max_cost_usd (estimated)."
)
@click.option(
    "--wait", is_flag=True, help="Then wait for the runs and judge the thresholds, as status."
)
@click.option(
    "--timeout",
    default=3600.0,
    type=click.FloatRange(min=0),
    show_default=True,
    help="With --wait: seconds to wait for active runs.",
)
@pass_app
def apply(
    app: App,
    plan_file: Path | None,
    auto_approve: bool,
    target: tuple[str, ...],
    exclude: tuple[str, ...],
    allow_mass_cancel: bool,
    allow_cost: bool,
    wait: bool,
    timeout: float,
) -> int:
    """Create the missing runs and cancel the stale ones (shows the plan first)."""
    from reconciler.cli.status import ProgressLine, render_status
    from reconciler.session import PlanOptions, read_plan

    with app.session() as session:
        if plan_file is not None:
            saved = read_plan(app.path(plan_file))
            planned = session.replan(
                saved, allow_mass_cancel=allow_mass_cancel, allow_cost=allow_cost, guard=True
            )
            target, exclude = saved.targets, saved.excludes
        options = PlanOptions(
            targets=target,
            excludes=exclude,
            allow_mass_cancel=allow_mass_cancel,
            allow_cost=allow_cost,
        )
        if plan_file is None:
            planned = session.make_plan(options)
        echo_plan(app, planned.plan)
        if planned.plan.refusal:
            raise ConfigError(planned.plan.refusal)
        if planned.plan.cost_refusal:
            raise ConfigError(planned.plan.cost_refusal)
        waiting = wait
        if not planned.plan.has_changes:
            click.echo("Nothing to do.")
        else:
            if plan_file is None and not auto_approve and not _confirmed():
                click.echo("Apply cancelled.", err=True)
                return ExitCode.ERROR
            code = _execute(session, planned)
            if code is not None:
                return code
        if not waiting:
            return ExitCode.OK
        started = time.monotonic()
        held = _held(planned.plan)
        with ProgressLine() as progress:
            status = session.wait_for(planned.plan, timeout_s=timeout, progress=progress)
            # Stages: each held create starts once the stage before it passed, within --timeout.
            while held and not status.timed_out:
                left = timeout - (time.monotonic() - started)
                stage = session.next_stage(options, held) if left > 0 else None
                if stage is None:
                    break
                click.echo(
                    "Stage ready: creating " + ", ".join(c.subject for c in stage.plan.changes)
                )
                code = _execute(session, stage)
                if code is not None:
                    return code
                held -= {c.subject for c in stage.plan.changes}
                status = session.wait_for(planned.plan, timeout_s=left, progress=progress)
    echo(render_status(status, "table"))
    return status.exit_code


def _held(plan: Plan) -> frozenset[str]:
    """Return the addresses whose create waits for a stage that may still pass."""
    from reconciler.model import Action, Reason

    return frozenset(
        c.subject
        for c in plan.changes
        if c.action is Action.WAIT and c.reason is Reason.STAGE_PENDING
    )


def _execute(session: Session, planned: Planned) -> int | None:
    """Apply `planned`; return an exit code when apply must stop here, else None."""
    stop = threading.Event()
    with _stop_on_sigterm(stop) as signalled:
        result = session.apply(planned, stop=stop)
    click.echo(result.summary)
    for outcome in result.failed:
        change = outcome.change
        click.echo(f"Failed: {change.action.value} {change.subject}: {outcome.error}", err=True)
    if stop.is_set():
        click.echo(
            f"Stopped by {signalled[0] if signalled else 'Ctrl-C'}: actions in flight "
            f"finished, {len(result.not_started)} were not started. The next apply "
            "picks up from here.",
            err=True,
        )
        return ExitCode.TERMINATED if signalled else ExitCode.INTERRUPTED
    if result.failed:
        return ExitCode.ERROR
    return None


def _confirmed() -> bool:
    """Ask on a terminal; elsewhere apply needs --auto-approve or a saved plan."""
    if not sys.stdin.isatty():
        raise ConfigError(
            "apply needs confirmation, and stdin is not a terminal. "
            "Pass --auto-approve (CI), or apply a saved plan file"
        )
    return click.confirm("Apply these changes?")


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[list[str]]:
    """Turn SIGTERM (a CI job cancelled) into `stop`, as Ctrl-C is; yield the signal names."""
    import signal

    signalled: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield signalled  # signals can only be handled in the main thread (tests run others)
        return

    def handle(signum: int, frame: object) -> None:
        del frame
        signalled.append(signal.Signals(signum).name)
        stop.set()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield signalled
    finally:
        signal.signal(signal.SIGTERM, previous)

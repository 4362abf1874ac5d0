"""The command line: parse, call one function, render, return an exit code.

This module holds the only `except ReconcilerError` and the only catch-all. Everything below
it just raises. Exit codes live in `ExitCode`, documented in docs/reference/exit-codes.md.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.errors import ConfigError, ReconcilerError
from reconciler.model import LiveRun, Plan, PlanSettings, Resource, Vendor
from reconciler.secret import ScrubFilter, scrub

if TYPE_CHECKING:  # imported lazily at run time: `reconciler --help` must start fast
    from reconciler.gates import StatusResult
    from reconciler.live import LiveState
    from reconciler.manifest import Config
    from reconciler.providers.base import Provider
    from reconciler.render.markdown import CiRun

log = logging.getLogger(__name__)

EMULATOR = "emulator"
EMULATOR_DEMO_KEY = "emulator-demo-key"
# The embedded emulator's seed: under it the first runs a new state gets (the examples') all
# finish well, so the quickstart's second apply has nothing to do; later runs fail at the
# emulator's usual rates. See docs/decisions.md.
EMBEDDED_SEED = 3
# The embedded emulator's default speed: the vendors' own (runs take minutes), so the tour's
# replace and cancel meet active runs at a human's pace. See docs/decisions.md.
EMBEDDED_TIME_SCALE = "1"
STATE_DIR = ".reconciler"


class ExitCode(IntEnum):
    """Every exit code reconciler uses (docs/cli.md)."""

    OK = 0  # success; `plan --detailed-exitcode`: no changes
    ERROR = 1  # any error, including usage errors and refused plans
    CHANGES = 2  # `plan --detailed-exitcode`: changes present
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM during apply (a cancelled CI job): in-flight actions finished


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    """The global options, carried to every command through click's ctx.obj."""

    directory: Path
    config_path: Path
    debug: bool
    color: bool
    environ: Mapping[str, str]
    # As typed, for hints that must work when copied: `-C DIR` and `--config FILE`.
    chdir: str | None = None
    config_file: str | None = None

    def path(self, given: Path) -> Path:
        """Resolve a path from the command line as Terraform's -chdir does: relative to DIR."""
        return given if given.is_absolute() else self.directory / given

    def command(self, *args: str) -> str:
        """Return a reconciler command line that works when copied from where this one ran."""
        import shlex

        words = ["reconciler"]
        if self.chdir is not None:
            words += ["-C", self.chdir]
        if self.config_file is not None:
            words += ["--config", self.config_file]
        return shlex.join([*words, *args])


pass_app = click.make_pass_decorator(App)

GLOBALS = "reconciler.globals"  # ctx.meta key: the global options, before or after the command


def _record_global(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Record a global option that was given; one given after the command wins."""
    if value is not None and value is not False and param.name is not None:
        ctx.meta.setdefault(GLOBALS, {})[param.name] = value
    return value


def _global_options() -> list[click.Option]:
    """Return the global options, for the group and (so they also work after it) each command."""
    common: dict[str, Any] = {"expose_value": False, "callback": _record_global}
    return [
        click.Option(
            ["-C", "directory"],
            type=click.Path(path_type=Path, file_okay=False),
            metavar="DIR",
            help="Run in DIR (where reconciler.yaml lives), as Terraform's -chdir: relative "
            "paths given to -out, -o, apply FILE and --plan are relative to DIR too.",
            **common,
        ),
        click.Option(
            ["--config", "config_file"],
            type=click.Path(path_type=Path, dir_okay=False),
            metavar="FILE",
            help="Path of reconciler.yaml, relative to DIR (default: DIR/reconciler.yaml).",
            **common,
        ),
        click.Option(
            ["--debug"], is_flag=True, help="Log every HTTP request; show tracebacks.", **common
        ),
        click.Option(["--no-color"], is_flag=True, help="Never colour output.", **common),
    ]


GLOBAL_NAMES = frozenset(str(o.name) for o in _global_options())


def _make_app(ctx: click.Context) -> App:
    """Build the App from the global options, wherever on the command line they were given."""
    given: dict[str, Any] = ctx.meta.get(GLOBALS, {})
    chdir: Path | None = given.get("directory")
    config_file: Path | None = given.get("config_file")
    debug = bool(given.get("debug"))
    _setup_logging(debug=debug)
    directory = (chdir or Path(".")).resolve()
    config_path = (directory / (config_file or "reconciler.yaml")).resolve()  # as -chdir
    color = not given.get("no_color") and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    return App(
        directory=directory,
        config_path=config_path,
        debug=debug,
        color=color,
        environ=dict(os.environ),
        chdir=str(chdir) if chdir is not None else None,
        config_file=str(config_file) if config_file is not None else None,
    )


class ReconcilerCommand(click.Command):
    """A command that also takes the global options after its name (`validate -C evals`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_global_options())

    def invoke(self, ctx: click.Context) -> Any:
        """Build the App from every global option given, then run the command."""
        ctx.obj = _make_app(ctx)
        return super().invoke(ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the command's own options, then the global ones under a heading of their own."""
        own: list[tuple[str, str]] = []
        shared: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                (shared if param.name in GLOBAL_NAMES else own).append(record)
        if own:
            with formatter.section("Options"):
                formatter.write_dl(own)
        if shared:
            with formatter.section("Global options (before or after the command)"):
                formatter.write_dl(shared)


class DebugTraceback(Exception):
    """An unexpected exception under `--debug`: its whole traceback, scrubbed of secrets."""


class ReconcilerGroup(click.Group):
    """A click group whose `main` maps every outcome to our exit codes (usage errors: 1)."""

    command_class = ReconcilerCommand

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        **extra: Any,
    ) -> int:
        """Run the CLI and return (standalone: exit with) our exit code."""
        standalone = extra.pop("standalone_mode", True)
        debug = "--debug" in (sys.argv[1:] if args is None else list(args))
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
            result = int(code) if isinstance(code, int) else ExitCode.OK
        except click.exceptions.Exit as exc:
            result = exc.exit_code
        except click.ClickException as exc:  # usage errors too: exit 1, never 2
            exc.show()
            result = ExitCode.ERROR
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("Interrupted.", err=True)
            result = ExitCode.INTERRUPTED
        except ReconcilerError as exc:
            if debug:
                log.exception("error")  # the handler's ScrubFilter masks every secret
            first, *rest = exc.lines() or [str(exc)]
            click.echo(scrub(f"Error: {first}"), err=True)
            for line in rest:
                click.echo(scrub(line), err=True)
            result = ExitCode.ERROR
        except Exception as exc:  # noqa: BLE001 (the single catch-all: no traceback for users)
            if debug:
                # Re-raised for the developer, but as a copy whose text is the scrubbed
                # traceback: Python's printer would show a secret quoted in the original.
                text = scrub("".join(traceback.format_exception(exc)))
                raise DebugTraceback(text).with_traceback(exc.__traceback__) from None
            click.echo(
                scrub(
                    f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)"
                ),
                err=True,
            )
            result = ExitCode.ERROR
        if standalone:
            sys.exit(result)
        return result


def _setup_logging(*, debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(ScrubFilter())
    root = logging.getLogger("reconciler")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)


def _version() -> str:
    from reconciler import __version__

    return __version__


@click.group(
    cls=ReconcilerGroup,
    params=_global_options(),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(_version(), "--version", prog_name="reconciler")
def cli() -> None:
    """GitOps for LLM eval runs: plan and apply eval runs from YAML manifests.

    The global options work before or after the command (`reconciler validate -C evals`).
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the console script's entry point."""
    return cli.main(argv, prog_name="reconciler")


# --- shared steps -------------------------------------------------------------------------


def _load(app: App, *, offline: bool = False) -> tuple[Config, tuple[Resource, ...]]:
    from reconciler.manifest import load_config, load_manifests

    config = load_config(app.config_path, environ=app.environ, offline=offline)
    resources = load_manifests(config, environ=app.environ)
    return config, resources


def _vendors(config: Config, resources: Sequence[Resource]) -> tuple[Vendor, ...]:
    used = {r.vendor for r in resources}
    configured = {p.vendor for p in config.providers}
    missing = sorted(used - configured)
    if missing:
        names = ", ".join(v.value for v in missing)
        raise ConfigError(
            f"{config.path}: providers: no block for {names}, which the manifests use. "
            f"Add `providers: {{{missing[0].value}: {{api_key: ...}}}}` to reconciler.yaml"
        )
    return tuple(sorted(used | configured))


@contextmanager
def _embedded_emulator(root: Path, environ: Mapping[str, str]) -> Iterator[str]:
    """Serve the emulator in this process over loopback, its state under `.reconciler/`."""
    from reconciler import emulator

    state_dir = root / STATE_DIR
    state_path = state_dir / "emulator.sqlite3"
    try:
        state_dir.mkdir(exist_ok=True)
        writable = os.access(state_dir, os.W_OK | os.X_OK) and (
            not state_path.exists() or os.access(state_path, os.R_OK | os.W_OK)
        )
    except OSError as exc:
        raise ConfigError(
            f"{state_dir}: cannot create the embedded emulator's state directory "
            f"({exc.strerror}). Make {root} writable, or remove the file in the way"
        ) from exc
    if not writable:  # sqlite would fail later, inside a request, as a vendor error
        raise ConfigError(
            f"{state_dir}: the embedded emulator cannot write its state there (permission "
            "denied). Make it writable, or run from a writable copy of the project"
        )
    try:
        time_scale = float(environ.get("RECONCILER_EMULATOR_TIME_SCALE", EMBEDDED_TIME_SCALE))
    except ValueError as exc:
        raise ConfigError("RECONCILER_EMULATOR_TIME_SCALE must be a number, e.g. 60") from exc
    # A short poll interval: shutdown() waits up to one interval, and every command pays it.
    with emulator.serve_in_thread(
        seed=EMBEDDED_SEED, time_scale=time_scale, state_path=state_path, poll_interval=0.05
    ) as url:
        yield url


def _open_providers(
    stack: ExitStack, app: App, config: Config, vendors: Sequence[Vendor]
) -> dict[Vendor, Provider]:
    from reconciler.providers.registry import emulator_base_url, make_provider
    from reconciler.secret import Secret

    providers: dict[Vendor, Provider] = {}
    emulator_url: str | None = None
    for vendor in vendors:
        settings = config.provider(vendor)
        if settings is None:
            raise ConfigError(f"{config.path}: providers.{vendor.value} is missing")
        base_url = settings.base_url
        api_key = settings.api_key
        if base_url == EMULATOR:
            if emulator_url is None:
                emulator_url = stack.enter_context(_embedded_emulator(config.root, app.environ))
            base_url = emulator_base_url(vendor, emulator_url)
            api_key = api_key or Secret(EMULATOR_DEMO_KEY)
        if api_key is None or not api_key:
            raise ConfigError(
                f"{config.path}: providers.{vendor.value}.api_key is not set. "
                f'Set it, e.g. `api_key: "${{{vendor.value.upper()}_API_KEY}}"`, '
                "or use `base_url: emulator`"
            )
        provider = make_provider(
            vendor,
            base_url=base_url,
            api_key=api_key,
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
            max_concurrency=settings.max_concurrency,
            requests_per_second=settings.requests_per_second,
            owner_user_id=settings.owner_user_id,
            task_ids=settings.task_ids,
            space_id=settings.space_id,
        )
        stack.callback(provider.close)
        providers[vendor] = provider
    return providers


def _settings(
    config: Config, *, targets: Sequence[str], excludes: Sequence[str], allow_mass_cancel: bool
) -> PlanSettings:
    owners = tuple(
        (p.vendor, p.owner_user_id) for p in config.providers if p.owner_user_id is not None
    )
    return PlanSettings(
        workspace=config.workspace,
        now=datetime.now(UTC),
        owners=owners,
        max_cancellations=config.safety.max_cancellations,
        allow_mass_cancel=allow_mass_cancel,
        targets=tuple(targets),
        excludes=tuple(excludes),
    )


def _make_plan(
    stack: ExitStack,
    app: App,
    *,
    targets: Sequence[str],
    excludes: Sequence[str],
    allow_mass_cancel: bool,
    allow_cost: bool = False,
) -> tuple[Config, Plan, dict[Vendor, Provider], LiveState]:
    from reconciler.cost import price_plan
    from reconciler.live import gather_live_state
    from reconciler.plan import plan

    config, resources = _load(app)
    providers = _open_providers(stack, app, config, _vendors(config, resources))
    state = gather_live_state(providers, resources)
    _check_globs(targets=targets, excludes=excludes, resources=resources, runs=state.runs)
    settings = _settings(
        config, targets=targets, excludes=excludes, allow_mass_cancel=allow_mass_cancel
    )
    the_plan = price_plan(
        plan(resources, state.runs, settings=settings),
        providers,
        state.runs,
        max_cost_usd=config.safety.max_cost_usd,
        allow_cost=allow_cost,
    )
    return config, the_plan, providers, state


def _check_globs(
    *,
    targets: Sequence[str],
    excludes: Sequence[str],
    resources: Sequence[Resource],
    runs: Sequence[LiveRun] | None = None,
) -> None:
    """Refuse a --target/--exclude glob that matches nothing: a typo must not read as No changes.

    `runs` is None where no live state was read (status judges declared resources only).
    """
    from reconciler.plan import unmatched_globs

    for option, globs in (("--target", targets), ("--exclude", excludes)):
        for glob in unmatched_globs(globs, resources=resources, runs=runs or ()):
            where = "declared address" + (" and no live run" if runs is not None else "")
            raise ConfigError(
                f"{option} {glob!r} matches no {where}. "
                "Check it against `reconciler plan -v` (addresses look like "
                "BlandEvalRun/checkout-nightly)"
            )


def _echo_plan(app: App, the_plan: Plan, *, fmt: str = "text", verbose: bool = False) -> None:
    """Print the plan; values from ${ENV} (a workspace too) are masked, as in every output."""
    from reconciler.secret import scrub

    if fmt == "markdown":
        from reconciler.render.markdown import render_markdown

        text = render_markdown(the_plan, ci=_ci_run(app.environ))
    elif fmt == "json":
        from reconciler.render.json import render_json

        text = render_json(the_plan)
    else:
        from reconciler.render.text import render_text

        text = render_text(the_plan, color=app.color, verbose=verbose)
    click.echo(scrub(text), nl=False)


def _ci_run(environ: Mapping[str, str]) -> CiRun | None:
    """The commit and CI run a comment's header names (GitHub's or GitLab's variables)."""
    import json

    from reconciler.render.markdown import CiRun

    event: object = None
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path:
        try:
            event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            event = None  # the header then names GITHUB_SHA; `comment` reports a bad file
    return CiRun.from_environ(environ, event=event if isinstance(event, dict) else None)


def _failed_plan_comment(app: App, error: ReconcilerError) -> str:
    """The comment of a failed plan: its errors, scrubbed, under the workspace's marker."""
    from reconciler.manifest import load_config
    from reconciler.render.markdown import fallback_workspace, render_failed_plan
    from reconciler.secret import scrub

    try:
        workspace = load_config(app.config_path, environ=app.environ).workspace
    except ReconcilerError:
        try:
            text: str | None = app.config_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        workspace = fallback_workspace(text, directory_name=app.config_path.parent.name)
    lines = [scrub(line) for line in error.lines() or [str(error)]]
    return render_failed_plan(workspace, lines, ci=_ci_run(app.environ))


target_option = click.option(
    "--target", multiple=True, metavar="GLOB", help="Only addresses matching GLOB (repeatable)."
)
exclude_option = click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Skip addresses matching GLOB (repeatable)."
)
mass_cancel_option = click.option(
    "--allow-mass-cancel", is_flag=True, help="Allow more cancels than safety.max_cancellations."
)


# --- commands -----------------------------------------------------------------------------


@cli.command()
@pass_app
def validate(app: App) -> int:
    """Check reconciler.yaml and every manifest, offline."""
    from reconciler.secret import scrub

    config, resources = _load(app, offline=True)
    by_vendor: dict[str, int] = {}
    for resource in resources:
        by_vendor[resource.vendor.value] = by_vendor.get(resource.vendor.value, 0) + 1
    files = len({r.source.path for r in resources})
    detail = ", ".join(f"{v}: {n}" for v, n in sorted(by_vendor.items()))
    click.echo(
        scrub(
            f"Valid: {len(resources)} resource(s) in {files} file(s) ({detail}); "
            f"workspace {config.workspace}."
        )
    )
    return ExitCode.OK


@cli.command()
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
    target: tuple[str, ...],
    exclude: tuple[str, ...],
    allow_mass_cancel: bool,
) -> int:
    """Show what apply would create and cancel."""
    from reconciler.outputs import check_writable
    from reconciler.secret import scrub

    out_path = app.path(out) if out is not None else None
    if out_path is not None:
        check_writable(out_path)  # before any listing: a typo in -out fails at once
    try:
        with ExitStack() as stack:
            _, the_plan, _, state = _make_plan(
                stack, app, targets=target, excludes=exclude, allow_mass_cancel=allow_mass_cancel
            )
    except ReconcilerError as error:
        if fmt == "markdown":  # replace the PR comment, or it goes on showing an older plan
            click.echo(_failed_plan_comment(app, error), nl=False)
        raise
    _echo_plan(app, the_plan, fmt=fmt, verbose=verbose)
    if out is not None and out_path is not None:
        from reconciler.planfile import write_plan_file

        write_plan_file(
            out_path,
            the_plan,
            state,
            targets=target,
            excludes=exclude,
            allow_mass_cancel=allow_mass_cancel,
        )
        if the_plan.refusal:
            hint = app.command("apply", "--allow-mass-cancel", str(out))
            click.echo(
                scrub(f"Saved the refused plan to {out}; only `{hint}` applies it."), err=True
            )
        else:
            hint = app.command("apply", str(out))
            click.echo(scrub(f"Saved the plan to {out}; apply it with `{hint}`."), err=True)
    if the_plan.refusal:
        raise ConfigError(the_plan.refusal)
    if detailed_exitcode and the_plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


@cli.command()
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
    from reconciler.apply import apply_plan

    with ExitStack() as stack:
        if plan_file is not None:
            from reconciler.planfile import check_saved_plan, read_plan_file

            # The safety options come from this command line, never from the file: a saved
            # plan never widens what apply may do (docs/cli.md).
            saved = read_plan_file(app.path(plan_file))
            if saved.refusal and not allow_mass_cancel:
                raise ConfigError(saved.refusal)
            if saved.cost_refusal and not allow_cost:
                raise ConfigError(saved.cost_refusal)
            config, the_plan, providers, state = _make_plan(
                stack,
                app,
                targets=saved.targets,
                excludes=saved.excludes,
                allow_mass_cancel=allow_mass_cancel,
                allow_cost=allow_cost,
            )
            check_saved_plan(saved, the_plan, state)
        else:
            config, the_plan, providers, state = _make_plan(
                stack,
                app,
                targets=target,
                excludes=exclude,
                allow_mass_cancel=allow_mass_cancel,
                allow_cost=allow_cost,
            )
        _echo_plan(app, the_plan)
        if the_plan.refusal:
            raise ConfigError(the_plan.refusal)
        if the_plan.cost_refusal:
            raise ConfigError(the_plan.cost_refusal)
        if not the_plan.has_changes:
            click.echo("Nothing to do.")
            if wait:
                return _gate(the_plan, providers, timeout=timeout)
            return ExitCode.OK
        if plan_file is None and not auto_approve:
            if not sys.stdin.isatty():
                raise ConfigError(
                    "apply needs confirmation, and stdin is not a terminal. "
                    "Pass --auto-approve (CI), or apply a saved plan file"
                )
            if not click.confirm("Apply these changes?"):
                click.echo("Apply cancelled.", err=True)
                return ExitCode.ERROR
        concurrency = {
            p.vendor: p.max_concurrency for p in config.providers if p.vendor in providers
        }
        stop = threading.Event()
        with _stop_on_sigterm(stop) as signalled:
            result = apply_plan(
                the_plan,
                providers,
                concurrency=concurrency,
                listed_at=state.listed_at,
                stop=stop,
            )
        click.echo(result.summary)
        for outcome in result.failed:
            click.echo(
                f"Failed: {outcome.change.action.value} {outcome.change.subject}: {outcome.error}",
                err=True,
            )
        if wait and not stop.is_set() and not result.failed:
            return _gate(the_plan, providers, timeout=timeout)
    if stop.is_set():
        click.echo(
            f"Stopped by {signalled[0] if signalled else 'Ctrl-C'}: actions in flight finished, "
            f"{len(result.not_started)} were not started. The next apply picks up from here.",
            err=True,
        )
        return ExitCode.TERMINATED if signalled else ExitCode.INTERRUPTED
    return ExitCode.ERROR if result.failed else ExitCode.OK


def _gate(the_plan: Plan, providers: Mapping[Vendor, Provider], *, timeout: float) -> int:
    """`apply --wait`: wait for the plan's resources and judge them, as `status` does."""
    from reconciler.status import wait_and_judge

    resources = {str(c.resource.address): c.resource for c in the_plan.changes if c.resource}
    progress = _Progress()
    result = wait_and_judge(
        list(resources.values()),
        providers,
        workspace=the_plan.workspace,
        timeout_s=timeout,
        progress=progress,
    )
    progress.close()
    from reconciler.secret import scrub

    click.echo(scrub(_render_status(result, "table")), nl=False)
    return int(result.exit_code)


class _Progress:
    """Report waiting on stderr: a line per change in a log, one live line on a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.last = ""

    def __call__(self, result: StatusResult) -> None:
        from reconciler.gates import Outcome, progress_of

        # Runs, not resources: a resource with no run yet has nothing to wait for.
        runs = [s for s in result.resources if s.run is not None]
        done = sum(1 for s in runs if s.outcome is not Outcome.RUNNING)
        items_done = items_total = 0
        for status in runs:
            if status.run is not None:
                got, total = progress_of(status.resource.vendor, status.run.raw_object)
                items_done += got
                items_total += total if total is not None else got
        line = (
            f"status: {done}/{len(runs)} run(s) finished, {items_done}/{items_total} item(s) scored"
        )
        if self.live:
            click.echo(f"\r{line} ({result.elapsed_s:.0f} s)\033[K", err=True, nl=False)
        elif line != self.last:
            click.echo(f"{line} ({result.elapsed_s:.0f} s)", err=True)
        self.last = line

    def close(self) -> None:
        """End the live line, so what follows starts on a line of its own."""
        if self.live and self.last:
            click.echo("", err=True)


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


STATUS_FORMATS = ("table", "json", "markdown", "junit")


def _output_spec(value: str) -> tuple[str, Path]:
    fmt, sep, path = value.partition(":")
    if not sep or fmt not in STATUS_FORMATS or not path:
        raise click.BadParameter(
            f"{value!r}: write FORMAT:FILE with FORMAT one of {', '.join(STATUS_FORMATS)}, "
            "e.g. junit:report.xml"
        )
    return fmt, Path(path)


@cli.command()
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
    from reconciler.outputs import write_atomically
    from reconciler.plan import scope_matcher
    from reconciler.secret import scrub
    from reconciler.status import wait_and_judge

    # Files are checked only when written, after the result is on stdout: a CI log must
    # show the gate's verdict even when a report path is wrong (docs/cli.md).
    files = [(out_fmt, app.path(path)) for out_fmt, path in map(_output_spec, outputs)]
    the_plan: Plan | None = None
    with ExitStack() as stack:
        if plan_file is not None:
            from reconciler.planfile import check_saved_plan, read_plan_file

            saved = read_plan_file(app.path(plan_file))
            _, the_plan, _, state = _make_plan(
                stack,
                app,
                targets=saved.targets,
                excludes=saved.excludes,
                allow_mass_cancel=False,  # shown as saved: a refused plan shows its refusal
            )
            check_saved_plan(saved, the_plan, state)
        config, resources = _load(app)
        _check_globs(targets=target, excludes=exclude, resources=resources)
        in_scope = scope_matcher(target, exclude)
        resources = tuple(r for r in resources if in_scope(str(r.address)))
        providers = _open_providers(stack, app, config, _vendors(config, resources))
        progress = _Progress()
        result = wait_and_judge(
            resources,
            providers,
            workspace=config.workspace,
            timeout_s=timeout,
            progress=progress,
        )
        progress.close()
    if timeout == 0:  # judged as they are, without waiting: runs still active did not time out
        result = dataclasses.replace(result, timed_out=False)
    # The result first: a report file that cannot be written must not hide it.
    click.echo(scrub(_render_status(result, fmt, the_plan, app=app)), nl=False)
    for out_fmt, path in files:
        write_atomically(path, scrub(_render_status(result, out_fmt, the_plan, app=app)))
    return int(result.exit_code)


PLAN_SHARE = 40_000  # of a combined comment's 65,536 characters, what the plan may use


def _render_status(
    result: StatusResult, fmt: str, the_plan: Plan | None = None, *, app: App | None = None
) -> str:
    from reconciler.render import status as views

    ci = _ci_run(app.environ) if app is not None else None
    if fmt == "markdown" and the_plan is not None:
        from reconciler.render.markdown import MAX_CHARS, render_markdown

        head = render_markdown(the_plan, limit=PLAN_SHARE, ci=ci)
        tail = views.render_status_markdown(
            result, limit=MAX_CHARS - len(head) - 2, with_marker=False
        )
        return head + "\n" + tail

    renderers = {
        "table": views.render_status_text,
        "json": views.render_status_json,
        "markdown": lambda r: views.render_status_markdown(r, ci=ci),
        "junit": views.render_status_junit,
    }
    return renderers[fmt](result)


def _event_pr_number(environ: Mapping[str, str]) -> int | None:
    """The pull request's number from the GitHub Actions event file, if there is one."""
    import json

    event_path = environ.get("GITHUB_EVENT_PATH")
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read GITHUB_EVENT_PATH {event_path}: {exc}") from exc
    for key in ("pull_request", "issue"):
        part = event.get(key) if isinstance(event, dict) else None
        number = part.get("number") if isinstance(part, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            return number
    return None


@cli.command("comment")
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
    from reconciler.github import REPO_RE, GitHub, PullRequest, first_line_marker

    repo = repo or app.environ.get("GITHUB_REPOSITORY") or ""
    if not REPO_RE.match(repo):
        raise ConfigError(
            f"--repo {repo!r} is not OWNER/REPO: pass --repo or set GITHUB_REPOSITORY"
            if repo
            else "no repository: pass --repo OWNER/REPO or set GITHUB_REPOSITORY"
        )
    number = pr_number or _event_pr_number(app.environ)
    if number is None:
        raise ConfigError(
            "no pull request number: pass --pr N or run on a pull_request event (GITHUB_EVENT_PATH)"
        )
    if body_file is None or str(body_file) == "-":
        stdin = sys.stdin
        if stdin.isatty():
            raise ConfigError("no comment: pass --file FILE or pipe `plan --format markdown`")
        body = stdin.read()
    else:
        path = app.path(body_file)
        try:
            body = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(
                f"{path}: cannot read the comment ({reason}). "
                "Pass the file `reconciler plan --format markdown` wrote"
            ) from exc
    if first_line_marker(body) is None:
        raise ConfigError(
            "the comment's first line is not a reconciler marker (<!-- reconciler:WORKSPACE -->): "
            "pass the output of `reconciler plan --format markdown` "
            "(or `status --format markdown`)"
        )
    with GitHub.from_env(app.environ) as github:
        posted, verb = github.upsert_comment(PullRequest(repo, number), body)
    click.echo(f"{verb} {posted.html_url}")
    return ExitCode.OK


@cli.command("emulator")
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
    latency_ms: float,
    latency_jitter_ms: float,
    rate_429: float,
    rate_5xx: float,
    drop_rate: float,
    lost_create_rate: float,
    requests_per_second: float | None,
    list_order: str,
    omit_dataset_id: bool,
) -> int:
    """Serve the vendors' APIs locally (see docs/emulator.md)."""
    from reconciler import emulator

    faults = emulator.Faults(
        latency_ms=latency_ms,
        latency_jitter_ms=latency_jitter_ms,
        rate_429=rate_429,
        rate_5xx=rate_5xx,
        drop_rate=drop_rate,
        lost_create_rate=lost_create_rate,
        requests_per_second_per_key=requests_per_second,
    )
    try:
        server = emulator.make_server(
            host,
            port,
            seed=seed,
            time_scale=time_scale,
            state_path=state,
            faults=faults,
            list_order=list_order,
            omit_dataset_id=omit_dataset_id,
        )
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror}") from exc
    bound_host, bound_port = server.server_address[:2]
    click.echo(
        f"reconciler emulator on http://{bound_host!s}:{bound_port} (Ctrl-C stops it)", err=True
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return ExitCode.OK


@cli.command("init")
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


SCHEMA_KINDS = ("BlandEvalRun", "AdalineEvaluation", "ArizeTaskRun", "Config", "Plan", "Status")


@cli.command("schema")
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
    from reconciler.schema import SchemaKind, export_schemas, schema_text

    if kind is not None and export_dir is None:
        click.echo(schema_text(SchemaKind(kind)), nl=False)
        return ExitCode.OK
    if export_dir is not None and kind is None:
        written = export_schemas(app.directory / export_dir)
        click.echo(f"Wrote {len(written)} schema(s) to {app.directory / export_dir}.", err=True)
        return ExitCode.OK
    raise click.UsageError(f"pass either --kind KIND ({', '.join(SCHEMA_KINDS)}) or --export DIR")


if __name__ == "__main__":
    raise SystemExit(main())

"""The command line: parse, call one function, render, return an exit code.

This module holds the only `except ReconcilerError` and the only catch-all. Everything below
it just raises. Exit codes live in `ExitCode`, documented in docs/reference/exit-codes.md.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.errors import ConfigError, ReconcilerError
from reconciler.model import Plan, PlanSettings, Resource, Vendor
from reconciler.secret import ScrubFilter, scrub

if TYPE_CHECKING:  # imported lazily at run time: `reconciler --help` must start fast
    from reconciler.gates import StatusResult
    from reconciler.live import LiveState
    from reconciler.manifest import Config
    from reconciler.providers.base import Provider

log = logging.getLogger(__name__)

EMULATOR = "emulator"
EMULATOR_DEMO_KEY = "emulator-demo-key"
# The embedded emulator's seed: under it the first runs a new state gets (the examples') all
# finish well, so the quickstart's second apply has nothing to do; later runs fail at the
# emulator's usual rates. See docs/decisions.md.
EMBEDDED_SEED = 3
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


pass_app = click.make_pass_decorator(App)


class DebugTraceback(Exception):
    """An unexpected exception under `--debug`: its whole traceback, scrubbed of secrets."""


class ReconcilerGroup(click.Group):
    """A click group whose `main` maps every outcome to our exit codes (usage errors: 1)."""

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
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reconciler")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=".",
    help="Run as if started in DIR (where reconciler.yaml lives).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Path of reconciler.yaml (default: DIR/reconciler.yaml).",
)
@click.option("--debug", is_flag=True, help="Log every HTTP request; show tracebacks.")
@click.option("--no-color", is_flag=True, help="Never colour output.")
@click.version_option(_version(), "--version", prog_name="reconciler")
@click.pass_context
def cli(
    ctx: click.Context, directory: Path, config_file: Path | None, debug: bool, no_color: bool
) -> None:
    """GitOps for LLM eval runs: plan and apply eval runs from YAML manifests."""
    _setup_logging(debug=debug)
    directory = directory.resolve()
    config_path = (config_file or directory / "reconciler.yaml").resolve()
    color = not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    ctx.obj = App(
        directory=directory,
        config_path=config_path,
        debug=debug,
        color=color,
        environ=dict(os.environ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the console script's entry point."""
    return cli.main(argv, prog_name="reconciler")


# --- shared steps -------------------------------------------------------------------------


def _load(app: App) -> tuple[Config, tuple[Resource, ...]]:
    from reconciler.manifest import load_config, load_manifests

    config = load_config(app.config_path, environ=app.environ)
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
    state_dir.mkdir(exist_ok=True)
    try:
        time_scale = float(environ.get("RECONCILER_EMULATOR_TIME_SCALE", "60"))
    except ValueError as exc:
        raise ConfigError("RECONCILER_EMULATOR_TIME_SCALE must be a number, e.g. 60") from exc
    server = emulator.make_server(
        "127.0.0.1",
        0,
        seed=EMBEDDED_SEED,
        time_scale=time_scale,
        state_path=state_dir / "emulator.sqlite3",
    )
    # A short poll interval: shutdown() waits up to one interval, and every command pays it.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator", daemon=True
    )
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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


def _echo_plan(app: App, the_plan: Plan, *, fmt: str = "text", verbose: bool = False) -> None:
    if fmt == "markdown":
        from reconciler.render.markdown import render_markdown

        click.echo(render_markdown(the_plan), nl=False)
        return
    if fmt == "json":
        from reconciler.render.json import render_json

        click.echo(render_json(the_plan), nl=False)
    else:
        from reconciler.render.text import render_text

        click.echo(render_text(the_plan, color=app.color, verbose=verbose), nl=False)


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
    config, resources = _load(app)
    by_vendor: dict[str, int] = {}
    for resource in resources:
        by_vendor[resource.vendor.value] = by_vendor.get(resource.vendor.value, 0) + 1
    files = len({r.source.path for r in resources})
    detail = ", ".join(f"{v}: {n}" for v, n in sorted(by_vendor.items()))
    click.echo(
        f"Valid: {len(resources)} resource(s) in {files} file(s) ({detail}); "
        f"workspace {config.workspace}."
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
    with ExitStack() as stack:
        _, the_plan, _, state = _make_plan(
            stack, app, targets=target, excludes=exclude, allow_mass_cancel=allow_mass_cancel
        )
    _echo_plan(app, the_plan, fmt=fmt, verbose=verbose)
    if out is not None:
        from reconciler.planfile import write_plan_file

        write_plan_file(
            out,
            the_plan,
            state,
            targets=target,
            excludes=exclude,
            allow_mass_cancel=allow_mass_cancel,
        )
        click.echo(f"Saved the plan to {out}; apply it with `reconciler apply {out}`.", err=True)
    if the_plan.refusal:
        raise ConfigError(the_plan.refusal)
    if detailed_exitcode and the_plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


@cli.command()
@click.argument(
    "plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
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

            saved = read_plan_file(plan_file)
            config, the_plan, providers, state = _make_plan(
                stack,
                app,
                targets=saved.targets,
                excludes=saved.excludes,
                allow_mass_cancel=saved.allow_mass_cancel,
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
            click.confirm("Apply these changes?", abort=True)
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
    click.echo(_render_status(result, "table"), nl=False)
    return int(result.exit_code)


class _Progress:
    """Report waiting on stderr: a line per change in a log, one live line on a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.last = ""

    def __call__(self, result: StatusResult) -> None:
        from reconciler.gates import Outcome, progress_of

        done = len(result.resources) - result.count(Outcome.RUNNING)
        items_done = items_total = 0
        for status in result.resources:
            if status.run is not None:
                got, total = progress_of(status.resource.vendor, status.run.raw_object)
                items_done += got
                items_total += total if total is not None else got
        line = (
            f"status: {done}/{len(result.resources)} run(s) finished, "
            f"{items_done}/{items_total} item(s) scored"
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
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
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
    from reconciler.status import wait_and_judge

    files = [_output_spec(o) for o in outputs]
    the_plan: Plan | None = None
    with ExitStack() as stack:
        if plan_file is not None:
            from reconciler.planfile import check_saved_plan, read_plan_file

            saved = read_plan_file(plan_file)
            _, the_plan, _, state = _make_plan(
                stack,
                app,
                targets=saved.targets,
                excludes=saved.excludes,
                allow_mass_cancel=saved.allow_mass_cancel,
            )
            check_saved_plan(saved, the_plan, state)
        config, resources = _load(app)
        matcher = _scope_filter(target, exclude)
        resources = tuple(r for r in resources if matcher(str(r.address)))
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
    for out_fmt, path in files:
        path.write_text(_render_status(result, out_fmt, the_plan), encoding="utf-8")
    click.echo(_render_status(result, fmt, the_plan), nl=False)
    return int(result.exit_code)


PLAN_SHARE = 40_000  # of a combined comment's 65,536 characters, what the plan may use


def _render_status(result: StatusResult, fmt: str, the_plan: Plan | None = None) -> str:
    from reconciler.render import status as views

    if fmt == "markdown" and the_plan is not None:
        from reconciler.render.markdown import MAX_CHARS, render_markdown

        head = render_markdown(the_plan, limit=PLAN_SHARE)
        tail = views.render_status_markdown(
            result, limit=MAX_CHARS - len(head) - 2, with_marker=False
        )
        return head + "\n" + tail

    renderers = {
        "table": views.render_status_text,
        "json": views.render_status_json,
        "markdown": views.render_status_markdown,
        "junit": views.render_status_junit,
    }
    return renderers[fmt](result)


def _scope_filter(targets: Sequence[str], excludes: Sequence[str]) -> Callable[[str], bool]:
    import fnmatch

    def matches(address: str) -> bool:
        if targets and not any(fnmatch.fnmatchcase(address, t) for t in targets):
            return False
        return not any(fnmatch.fnmatchcase(address, e) for e in excludes)

    return matches


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
    type=click.Path(path_type=Path, dir_okay=False, exists=True, allow_dash=True),
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
        body = body_file.read_text(encoding="utf-8")
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
            host, port, seed=seed, time_scale=time_scale, state_path=state, faults=faults
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


if __name__ == "__main__":
    raise SystemExit(main())

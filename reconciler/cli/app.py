"""The command line's frame: global options, the App on ctx.obj, and the one error boundary.

`ReconcilerGroup.main` holds the only `except ReconcilerError` and the only catch-all;
everything below it just raises. Exit codes come from the one table, `ExitCode`.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.errors import ReconcilerError
from reconciler.exitcodes import ExitCode
from reconciler.secret import ScrubFilter, scrub

if TYPE_CHECKING:
    from reconciler.session import Session

log = logging.getLogger(__name__)


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

    def session(self) -> Session:
        """Open this command's session: config, manifests and providers, each once."""
        from reconciler.session import Session

        return Session(config_path=self.config_path, environ=self.environ)


pass_app = click.make_pass_decorator(App)

GLOBALS = "reconciler.globals"  # ctx.meta key: the global options, before or after the command


def _record_global(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Record a global option that was given; one given after the command wins."""
    if value is not None and value is not False and param.name is not None:
        ctx.meta.setdefault(GLOBALS, {})[param.name] = value
    return value


def global_options() -> list[click.Option]:
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


GLOBAL_NAMES = frozenset(str(o.name) for o in global_options())


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
        self.params.extend(global_options())

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


def echo(text: str, *, err: bool = False) -> None:
    """Write `text` as it is (no newline added), every remembered secret masked."""
    click.echo(scrub(text), nl=False, err=err)

"""The command line: parse, call the session, render, return an exit code.

One module per group of commands (`plan`: validate, plan, apply; `status`: status, comment;
`history`: history; `tools`: emulator, init, schema) under the frame in `app` (global
options, the one error boundary). Exit codes come from the one table, `ExitCode`
(docs/reference/cli.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from reconciler.cli.app import DebugTraceback, ReconcilerGroup, global_options
from reconciler.cli.history import history_command
from reconciler.cli.importing import import_command
from reconciler.cli.plan import apply, plan, validate
from reconciler.cli.status import comment_command, status
from reconciler.cli.tools import emulator_command, init_command, schema_command
from reconciler.embedded import EMBEDDED_SEED, EMBEDDED_TIME_SCALE
from reconciler.exitcodes import ExitCode
from reconciler.schema import SCHEMA_KINDS

__all__ = [
    "EMBEDDED_SEED",
    "EMBEDDED_TIME_SCALE",
    "SCHEMA_KINDS",
    "DebugTraceback",
    "ExitCode",
    "ReconcilerGroup",
    "cli",
    "main",
]


def _version() -> str:
    from reconciler import __version__

    return __version__


@click.group(
    cls=ReconcilerGroup,
    params=global_options(),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(_version(), "--version", prog_name="reconciler")
def cli() -> None:
    """GitOps for LLM eval runs: plan and apply eval runs from YAML manifests.

    The global options work before or after the command (`reconciler validate -C evals`).
    """


for _command in (
    validate,
    plan,
    apply,
    status,
    history_command,
    comment_command,
    emulator_command,
    init_command,
    schema_command,
    import_command,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the console script's entry point."""
    return cli.main(argv, prog_name="reconciler")

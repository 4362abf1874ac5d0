"""Every exit code reconciler uses: the one table (docs/reference/cli.md lists it).

It sits at the bottom of the layers because two places must say a code: the command line,
which exits with it, and the status JSON document, which records it (`exit_code`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code reconciler uses (docs/cli.md)."""

    OK = 0  # success; `plan --detailed-exitcode`: no changes; `status`: every gate passed
    ERROR = 1  # any error, including usage errors and refused plans
    CHANGES = 2  # `plan --detailed-exitcode`: changes present
    GATE_FAILED = 3  # `status` / `apply --wait`: a threshold missed, a run failed or cancelled
    TIMED_OUT = 4  # `status` / `apply --wait`: runs still active at `--timeout`
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM during apply (a cancelled CI job): in-flight actions finished

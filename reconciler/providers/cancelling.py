"""Cancel a run idempotently, the same way at every vendor.

A cancel the vendor refuses for the run's state (`ConflictError`: the run finished, or is
already cancelling, between the plan and the apply) is not a failure: the run is read and
returned as it is. Only a run that is still active after the refusal raises the refusal.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.errors import ConflictError
from reconciler.model import LiveRun, RunPhase


def cancel_idempotently(
    run: LiveRun, *, cancel: Callable[[LiveRun], LiveRun], read: Callable[[LiveRun], LiveRun]
) -> LiveRun:
    """Cancel `run`; on a conflict return its current state, unless it is active still."""
    try:
        return cancel(run)
    except ConflictError:
        current = read(run)
        if current.phase is RunPhase.ACTIVE:
            raise
        return current

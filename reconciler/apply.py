"""Execute a Plan through the providers: creates, cancels and replaces, concurrently per vendor.

A failure of one action never stops the others; every outcome is a value in `ApplyResult`,
and cli.py turns a failed one into exit 1. One canonical log line per action.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import assert_never

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Change, LiveRun, Plan, Vendor
from reconciler.providers.base import Provider

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionOutcome:
    """What happened to one change of the plan."""

    change: Change
    ok: bool
    created: LiveRun | None = None
    cancelled: LiveRun | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """Every outcome of an apply, in plan order."""

    outcomes: tuple[ActionOutcome, ...]

    @property
    def failed(self) -> tuple[ActionOutcome, ...]:
        """Return the outcomes that failed."""
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def summary(self) -> str:
        """Return the one-line summary of what was done."""
        done = {a: 0 for a in Action}
        for outcome in self.outcomes:
            if outcome.ok:
                done[outcome.change.action] += 1
        text = (
            f"Apply complete: {done[Action.CREATE]} created, {done[Action.CANCEL]} cancelled, "
            f"{done[Action.REPLACE]} replaced"
        )
        if self.failed:
            text += f", {len(self.failed)} failed"
        return text + "."


def new_request_id() -> str:
    """Return a fresh id for one logical create (the `reconciler.request-id` label)."""
    return str(uuid.uuid4())


def _execute(
    change: Change,
    provider: Provider,
    *,
    workspace: str,
    request_id: Callable[[], str],
) -> tuple[LiveRun | None, LiveRun | None]:
    created: LiveRun | None = None
    cancelled: LiveRun | None = None
    match change.action:
        case Action.CREATE | Action.REPLACE:
            if change.resource is None:
                raise ReconcilerError(f"{change.subject}: the plan has no resource to create")
            # Create first, then cancel: a failed create must not leave the user with nothing.
            created = provider.create_run(
                change.resource, workspace=workspace, request_id=request_id()
            )
            if change.action is Action.REPLACE and change.run is not None:
                cancelled = provider.cancel_run(change.run)
        case Action.CANCEL:
            if change.run is None:
                raise ReconcilerError(f"{change.subject}: the plan has no run to cancel")
            cancelled = provider.cancel_run(change.run)
        case Action.NO_OP:
            pass
        case _:
            assert_never(change.action)
    return created, cancelled


def _run_one(
    change: Change,
    provider: Provider,
    *,
    workspace: str,
    request_id: Callable[[], str],
    clock: Callable[[], float],
) -> ActionOutcome:
    started = clock()
    try:
        created, cancelled = _execute(change, provider, workspace=workspace, request_id=request_id)
    except ReconcilerError as exc:
        outcome = ActionOutcome(change=change, ok=False, error=str(exc), seconds=clock() - started)
    else:
        outcome = ActionOutcome(
            change=change,
            ok=True,
            created=created,
            cancelled=cancelled,
            seconds=clock() - started,
        )
    run_id = (
        outcome.created.run_id
        if outcome.created
        else (outcome.cancelled.run_id if outcome.cancelled else change.run_id)
    )
    log.info(
        "apply address=%s action=%s vendor=%s run=%s outcome=%s duration_ms=%d%s",
        change.subject,
        change.action.value,
        change.vendor.value,
        run_id or "-",
        "ok" if outcome.ok else "failed",
        round(outcome.seconds * 1000),
        f" error={outcome.error!r}" if outcome.error else "",
    )
    return outcome


def apply_plan(
    plan: Plan,
    providers: Mapping[Vendor, Provider],
    *,
    concurrency: Mapping[Vendor, int],
    request_id: Callable[[], str] = new_request_id,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyResult:
    """Apply every action of `plan`, each vendor's within its concurrency limit.

    The caller has already refused a plan with a `refusal`; this function only executes.
    """
    actions = plan.actions
    by_vendor: dict[Vendor, list[Change]] = {}
    for change in actions:
        by_vendor.setdefault(change.vendor, []).append(change)
    for vendor in by_vendor:
        if vendor not in providers:
            raise ReconcilerError(f"no provider is configured for {vendor.value}")
    pools = {
        v: ThreadPoolExecutor(max_workers=max(1, concurrency.get(v, 8)), thread_name_prefix=v.value)
        for v in by_vendor
    }
    try:
        futures = [
            pools[c.vendor].submit(
                _run_one,
                c,
                providers[c.vendor],
                workspace=plan.workspace,
                request_id=request_id,
                clock=clock,
            )
            for c in actions
        ]
        outcomes = tuple(f.result() for f in futures)
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
    return ApplyResult(outcomes=outcomes)

"""Execute a Plan through the providers: creates, cancels and replaces, concurrently per vendor.

A failure of one action never stops the others; every outcome is a value in `ApplyResult`,
and cli.py turns a failed one into exit 1. One canonical log line per action. Before each
create, the resource's identity is looked at again (another apply, or one that crashed after
its create, may have made the run since the plan), and a run found there is adopted. When
`stop` is set (Ctrl-C, SIGTERM), no new action starts; those in flight finish.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from reconciler.errors import ReconcilerError, TransientProviderError
from reconciler.model import (
    Action,
    Change,
    IdentityMode,
    LiveRun,
    Plan,
    Resource,
    RunPhase,
    Vendor,
    identity_mode,
)
from reconciler.providers.base import Provider

log = logging.getLogger(__name__)

# How far before the plan's listing a fresh look reaches: clocks of vendor and CI differ.
CLOCK_SKEW = timedelta(minutes=5)
ADOPTED = "adopted"  # the first word of the note of a create that adopted an existing run
CREATE_ATTEMPTS = 3  # each after a fresh look at the resource's identity
CREATE_BACKOFF_S = 1.0
CREATE_BACKOFF_CAP_S = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionOutcome:
    """What happened to one change of the plan."""

    change: Change
    ok: bool
    created: LiveRun | None = None
    cancelled: LiveRun | None = None
    error: str | None = None
    note: str | None = None  # e.g. the run was adopted, or had finished before the cancel
    started: bool = True  # False: interrupted before it began
    seconds: float = 0.0

    @property
    def adopted(self) -> bool:
        """Say whether the create found its run already made, and made none."""
        return (self.note or "").startswith(ADOPTED)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """Every outcome of an apply, in plan order."""

    outcomes: tuple[ActionOutcome, ...]

    @property
    def failed(self) -> tuple[ActionOutcome, ...]:
        """Return the outcomes that failed."""
        return tuple(o for o in self.outcomes if o.started and not o.ok)

    @property
    def not_started(self) -> tuple[ActionOutcome, ...]:
        """Return the actions an interruption kept from starting."""
        return tuple(o for o in self.outcomes if not o.started)

    @property
    def summary(self) -> str:
        """Return the one-line summary of what was done."""
        done = dict.fromkeys(Action, 0)
        adopted = 0
        for outcome in self.outcomes:
            if outcome.ok and outcome.adopted and outcome.change.action is Action.CREATE:
                adopted += 1
            elif outcome.ok:
                done[outcome.change.action] += 1
        head = "Apply interrupted" if self.not_started else "Apply complete"
        text = (
            f"{head}: {done[Action.CREATE]} created, {done[Action.CANCEL]} cancelled, "
            f"{done[Action.REPLACE]} replaced"
        )
        if adopted:
            text += f", {adopted} adopted"
        if self.failed:
            text += f", {len(self.failed)} failed"
        if self.not_started:
            text += f", {len(self.not_started)} not started"
        return text + "."


def new_request_id() -> str:
    """Return a fresh id for one logical create (the `reconciler.request-id` label)."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    workspace: str
    since: datetime | None  # when the plan's listing began, minus the clock skew
    request_id: Callable[[], str]
    stop: threading.Event
    sleep: Callable[[float], None]


def _create(change: Change, provider: Provider, ctx: _Context) -> tuple[LiveRun, str | None]:
    """Create the resource's run, looking for it first, before every attempt.

    A create is never retried blindly: after a 429, a 5xx or a lost answer (which the provider
    has already looked for by request id or key), the next attempt starts with a fresh look
    at the resource's identity, so a run that exists after all is adopted, not duplicated.
    """
    resource = change.resource
    if resource is None:
        raise ReconcilerError(f"{change.subject}: the plan has no resource to create")
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        if ctx.since is not None:
            found = provider.find_runs(resource, workspace=ctx.workspace, since=ctx.since)
            if found:  # the oldest, as rule 7 keeps: two applies adopting agree on one run
                return found[0], f"{ADOPTED}: run {found[0].run_id} was made since the plan"
        try:
            run = provider.create_run(
                resource, workspace=ctx.workspace, request_id=ctx.request_id()
            )
        except TransientProviderError as error:
            if attempt == CREATE_ATTEMPTS or ctx.stop.is_set():
                raise
            ceiling = min(CREATE_BACKOFF_CAP_S, CREATE_BACKOFF_S * 2 ** (attempt - 1))
            wait = error.retry_after if error.retry_after is not None else ceiling
            ctx.sleep(min(wait, CREATE_BACKOFF_CAP_S) * (0.5 + random.random() / 2))
            continue
        note = f"created on attempt {attempt}" if attempt > 1 else None
        return _settle_race(run, resource, provider, ctx, note)
    raise AssertionError("unreachable")  # pragma: no cover


def _settle_race(
    run: LiveRun, resource: Resource, provider: Provider, ctx: _Context, note: str | None
) -> tuple[LiveRun, str | None]:
    """After a create at a label-less vendor, keep the oldest of twin runs; cancel our copy.

    Two applies that looked at the same moment both found nothing and both created. Each
    looks again after its create: the one whose run is newer cancels it (it made it, so it
    may) and adopts the older one. Bland needs no such step: its runs carry labels, and
    rule 7 cancels the newer copy at the next apply.
    """
    if ctx.since is None or identity_mode(resource.vendor) is not IdentityMode.NATURAL_KEY:
        return run, note
    twins = provider.find_runs(resource, workspace=ctx.workspace, since=ctx.since)
    oldest = min([run, *twins], key=lambda r: (r.created_at, r.run_id))
    if oldest.run_id == run.run_id:
        return run, note
    _cancel(run, provider)
    return oldest, (
        f"{ADOPTED}: another apply made run {oldest.run_id} at the same moment; "
        f"cancelled our copy {run.run_id}"
    )


def _cancel(run: LiveRun, provider: Provider) -> tuple[LiveRun, str | None]:
    result = provider.cancel_run(run)
    if result.phase is RunPhase.ACTIVE:
        raise ReconcilerError(f"run {run.run_id} is still {result.status} after the cancel")
    if result.phase is not RunPhase.CANCELLED:
        return result, f"run {run.run_id} had already finished ({result.status}); nothing to stop"
    return result, None


def _execute(
    change: Change, provider: Provider, ctx: _Context
) -> tuple[LiveRun | None, LiveRun | None, str | None]:
    created: LiveRun | None = None
    cancelled: LiveRun | None = None
    notes: list[str] = []
    match change.action:
        case Action.CREATE | Action.REPLACE:
            # Create first, then cancel: a failed create must not leave the user with nothing.
            created, note = _create(change, provider, ctx)
            notes += [note] if note else []
            if change.action is Action.REPLACE and change.run is not None:
                cancelled, note = _cancel(change.run, provider)
                notes += [note] if note else []
        case Action.CANCEL:
            if change.run is None:
                raise ReconcilerError(f"{change.subject}: the plan has no run to cancel")
            cancelled, note = _cancel(change.run, provider)
            notes += [note] if note else []
        case Action.NO_OP:
            pass
        case _:
            assert_never(change.action)
    return created, cancelled, "; ".join(notes) or None


def _run_one(
    change: Change,
    provider: Provider,
    ctx: _Context,
    *,
    stop: threading.Event,
    clock: Callable[[], float],
) -> ActionOutcome:
    if stop.is_set():
        outcome = ActionOutcome(change=change, ok=False, started=False, error="interrupted")
        _log(outcome, "not-started")
        return outcome
    started = clock()
    try:
        created, cancelled, note = _execute(change, provider, ctx)
    except ReconcilerError as exc:
        outcome = ActionOutcome(change=change, ok=False, error=str(exc), seconds=clock() - started)
    else:
        outcome = ActionOutcome(
            change=change,
            ok=True,
            created=created,
            cancelled=cancelled,
            note=note,
            seconds=clock() - started,
        )
    _log(outcome, "ok" if outcome.ok else "failed")
    return outcome


def _log(outcome: ActionOutcome, word: str) -> None:
    change = outcome.change
    run = outcome.created or outcome.cancelled
    log.info(
        "apply address=%s action=%s vendor=%s run=%s outcome=%s duration_ms=%d%s%s",
        change.subject,
        change.action.value,
        change.vendor.value,
        (run.run_id if run else change.run_id) or "-",
        word,
        round(outcome.seconds * 1000),
        f" note={outcome.note!r}" if outcome.note else "",
        f" error={outcome.error!r}" if outcome.error and outcome.started else "",
    )


def apply_plan(
    plan: Plan,
    providers: Mapping[Vendor, Provider],
    *,
    concurrency: Mapping[Vendor, int],
    listed_at: datetime | None = None,
    stop: threading.Event | None = None,
    request_id: Callable[[], str] = new_request_id,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyResult:
    """Apply every action of `plan`, each vendor's within its concurrency limit.

    `listed_at` is when the plan's live state was listed: each create first looks for a
    satisfying run made since then. The caller has already refused a plan with a `refusal`.
    """
    actions = plan.actions
    stop = stop or threading.Event()
    ctx = _Context(
        workspace=plan.workspace,
        since=listed_at - CLOCK_SKEW if listed_at is not None else None,
        request_id=request_id,
        stop=stop,
        sleep=sleep,
    )
    vendors = {change.vendor for change in actions}
    for vendor in vendors:
        if vendor not in providers:
            raise ReconcilerError(f"no provider is configured for {vendor.value}")
    pools = {
        v: ThreadPoolExecutor(max_workers=max(1, concurrency.get(v, 8)), thread_name_prefix=v.value)
        for v in vendors
    }
    try:
        futures = [
            pools[c.vendor].submit(_run_one, c, providers[c.vendor], ctx, stop=stop, clock=clock)
            for c in actions
        ]
        outcomes = tuple(_wait(f, stop) for f in futures)
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True)
    return ApplyResult(outcomes=outcomes)


def _wait(future: Future[ActionOutcome], stop: threading.Event) -> ActionOutcome:
    """Wait for one outcome; on Ctrl-C, set `stop` so queued actions do not start, and go on."""
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue
        except KeyboardInterrupt:
            stop.set()

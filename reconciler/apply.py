"""Execute a Plan through the providers: creates, cancels and replaces, concurrently per vendor.

A failure of one action never stops the others; every outcome is a value in `ApplyResult`,
and cli.py turns a failed one into exit 1. One canonical log line per action (logfmt). Before each
create, the resource's identity is looked at again (another apply, or one that crashed after
its create, may have made the run since the plan), and a run found there is adopted. After
each create it is looked at once more: when another apply made an older run of the same
identity at the same moment, this apply cancels its own copy and adopts the older run (rule
7, at every vendor, protected or not). When `stop` is set (Ctrl-C, SIGTERM), no new action
starts; those in flight finish.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar, assert_never

from reconciler.errors import ReconcilerError, TransientProviderError
from reconciler.model import (
    Action,
    Change,
    LiveRun,
    Plan,
    Resource,
    RunPhase,
    Vendor,
)
from reconciler.providers.base import Provider
from reconciler.render.logfmt import logfmt

log = logging.getLogger(__name__)
T = TypeVar("T")

# How far before the plan's listing a fresh look reaches: clocks of vendor and CI differ.
CLOCK_SKEW = timedelta(minutes=5)
ADOPTED = "adopted"  # the first word of the note of a create that adopted an existing run
CREATE_ATTEMPTS = 3  # each after a fresh look at the resource's identity
CREATE_BACKOFF_S = 1.0
CREATE_BACKOFF_CAP_S = 30.0
# How often a vendor's creates are settled in a batch while the apply runs (at most one look
# per this many seconds per vendor; the rest are settled when the vendor's actions are done).
SETTLE_EVERY_S = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionOutcome:
    """What happened to one change of the plan.

    A failed outcome still carries what was done before the failure (the run a replace
    created before its cancel failed), so the user is told about every run that exists.
    """

    change: Change
    ok: bool
    created: LiveRun | None = None
    cancelled: LiveRun | None = None
    error: str | None = None
    note: str | None = None  # e.g. the run was adopted, or had finished before the cancel
    twin: LiveRun | None = None  # our own copy, cancelled because another apply's is older
    adopted: bool = False  # the create found its run already made, and kept none of its own
    started: bool = True  # False: interrupted before it began
    seconds: float = 0.0


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
        twins = sum(1 for outcome in self.outcomes if outcome.twin is not None)
        if twins:  # runs made and at once cancelled: the user may see them on the bill
            text += f" ({twins} after cancelling our own twin copy)"
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


@dataclass(slots=True)
class _Done:
    """What one action has done so far: kept even when a later step of it fails."""

    created: LiveRun | None = None
    cancelled: LiveRun | None = None
    twin: LiveRun | None = None
    adopted: bool = False
    unsettled: bool = False  # made a run whose race with another apply is not settled yet
    notes: list[str] = field(default_factory=list)

    def note(self, text: str | None) -> None:
        if text:
            self.notes.append(text)


def _create(change: Change, provider: Provider, ctx: _Context, done: _Done) -> None:
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
                done.created, done.adopted = found[0], True
                done.note(f"{ADOPTED}: run {found[0].run_id} was made since the plan")
                return
        try:
            run = provider.create_run(
                resource, workspace=ctx.workspace, request_id=ctx.request_id()
            )
        except TransientProviderError as error:
            if attempt == CREATE_ATTEMPTS or ctx.stop.is_set():
                raise
            told = error.retry_after
            if told is not None and told > CREATE_BACKOFF_CAP_S:
                # Never a silent cap: waiting less than asked earns another 429, and a wait
                # of an hour inside an apply is a hung CI job. Say what the vendor asked for.
                raise TransientProviderError(
                    f"{error.detail}; the vendor asked to retry after {told:.0f} s, more than"
                    f" the {CREATE_BACKOFF_CAP_S:.0f} s apply waits between create attempts."
                    " Nothing was created; the next apply tries again",
                    vendor=error.vendor,
                    operation=error.operation,
                    status=error.status,
                    request_id=error.request_id,
                ) from error
            if told is not None:
                ctx.sleep(told)  # honoured in full: the vendor said when
            else:
                ceiling = min(CREATE_BACKOFF_CAP_S, CREATE_BACKOFF_S * 2 ** (attempt - 1))
                ctx.sleep(ceiling * (0.5 + random.random() / 2))
            continue
        done.created = run
        done.unsettled = True  # the race settles in a batch (`_Settler`), before apply ends
        done.note(f"created on attempt {attempt}" if attempt > 1 else None)
        return
    raise AssertionError("unreachable")  # pragma: no cover


def _settle_race(resource: Resource, provider: Provider, ctx: _Context, done: _Done) -> None:
    """After a create, keep the oldest of twin runs: cancel our copy when another is older.

    Two applies that looked at the same moment both found nothing and both created. Each
    looks again after its create: the newer copy's maker sees the older run (it existed
    before the newer one did), cancels its own copy (it made it, so it may, at every vendor
    and whether the resource is protected or not: protection guards the run that satisfies
    the resource) and adopts the older run. The older copy's maker keeps its run. Only a
    tie in creation time seen from one side only can leave two; rule 7 cancels the newer at
    the next plan (docs/apply.md).
    """
    run = done.created
    if ctx.since is None or run is None:
        return
    try:
        twins = provider.find_runs(resource, workspace=ctx.workspace, since=ctx.since)
    except ReconcilerError as error:
        raise ReconcilerError(
            f"created run {run.run_id}, but the look for a twin made by another apply at the "
            f"same moment failed: {error}. The next plan shows any twin"
        ) from error
    oldest = min([run, *twins], key=lambda r: (r.created_at, r.run_id))
    if oldest.run_id == run.run_id:
        return
    try:
        _cancel(run, provider)
    except ReconcilerError as error:
        raise ReconcilerError(
            f"created run {run.run_id}, a twin of the older run {oldest.run_id} another apply "
            f"made at the same moment, and cancelling it failed: {error}. The next plan "
            "cancels it (duplicate)"
        ) from error
    done.created, done.twin, done.adopted = oldest, run, True
    done.notes = [
        f"{ADOPTED}: another apply made run {oldest.run_id} at the same moment; "
        f"cancelled our copy {run.run_id}"
    ]


def _cancel(run: LiveRun, provider: Provider) -> tuple[LiveRun, str | None]:
    result = provider.cancel_run(run)
    if result.phase is RunPhase.ACTIVE:
        raise ReconcilerError(f"run {run.run_id} is still {result.status} after the cancel")
    if result.phase is not RunPhase.CANCELLED:
        return result, f"run {run.run_id} had already finished ({result.status}); nothing to stop"
    return result, None


def _execute(change: Change, provider: Provider, ctx: _Context, done: _Done) -> None:
    match change.action:
        case Action.CREATE | Action.REPLACE:
            # Create first, then cancel: a failed create must not leave the user with nothing.
            _create(change, provider, ctx, done)
            if change.action is Action.REPLACE and change.run is not None:
                try:
                    done.cancelled, note = _cancel(change.run, provider)
                except ReconcilerError as error:
                    created = done.created.run_id if done.created else "-"
                    raise ReconcilerError(
                        f"created run {created}, but cancelling the stale run "
                        f"{change.run.run_id} failed: {error}. The next apply cancels it"
                    ) from error
                done.note(note)
        case Action.CANCEL:
            if change.run is None:
                raise ReconcilerError(f"{change.subject}: the plan has no run to cancel")
            done.cancelled, note = _cancel(change.run, provider)
            done.note(note)
        case Action.NO_OP | Action.MOVED | Action.RELEASED | Action.WAIT:
            pass  # lines that only report (rule 10)
        case _:
            assert_never(change.action)


@dataclass(slots=True, kw_only=True)
class _Action:
    """One action under way: what it did, and its outcome once it has one."""

    change: Change
    done: _Done = field(default_factory=_Done)
    error: str | None = None
    seconds: float = 0.0
    outcome: ActionOutcome | None = None

    def finish(self) -> ActionOutcome:
        done = self.done
        self.outcome = ActionOutcome(
            change=self.change,
            ok=self.error is None,
            created=done.created,
            cancelled=done.cancelled,
            twin=done.twin,
            adopted=done.adopted,
            error=self.error,
            note="; ".join(done.notes) or None,
            seconds=self.seconds,
        )
        _log(self.outcome, "ok" if self.outcome.ok else "failed")
        return self.outcome


class _Settler:
    """Settle the races of one vendor's creates in batches: one look serves a whole batch.

    A create's race settlement needs a look begun after that create returned. Done one
    create at a time, those looks ran one after another (each under the provider's lock)
    and cost about one listing per create. Here a create waits in `pending`; whichever
    worker finishes an action at least SETTLE_EVERY_S after the last batch began takes
    every pending create, and its first look (begun after all of them returned) settles
    them all; the other workers go on creating meanwhile. `drain` settles the rest once the
    vendor's actions are done, so every race is settled before apply ends.
    """

    def __init__(
        self, provider: Provider, ctx: _Context, clock: Callable[[], float], every_s: float
    ) -> None:
        self._provider = provider
        self._ctx = ctx
        self._clock = clock
        self._every_s = every_s
        self._lock = threading.Lock()  # guards pending and last
        self._busy = threading.Lock()  # one batch at a time
        self._pending: list[_Action] = []
        self._last = float("-inf")

    def add(self, action: _Action) -> None:
        with self._lock:
            self._pending.append(action)

    def maybe(self) -> None:
        """Settle a batch when one is due and no other worker is settling one."""
        with self._lock:
            if not self._pending or self._clock() - self._last < self._every_s:
                return
        if not self._busy.acquire(blocking=False):
            return
        try:
            self._batch()
        finally:
            self._busy.release()

    def drain(self) -> None:
        """Settle every create still pending (the vendor's actions are all done)."""
        with self._busy:
            self._batch()

    def _batch(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._last = self._clock()
        for action in batch:
            started = self._clock()
            resource = action.change.resource
            try:
                if resource is not None:
                    _settle_race(resource, self._provider, self._ctx, action.done)
            except ReconcilerError as exc:  # keep an earlier failure (a replace's cancel)
                action.error = f"{action.error}; {exc}" if action.error else str(exc)
            action.seconds += self._clock() - started
            action.finish()


def _run_one(
    action: _Action,
    provider: Provider,
    ctx: _Context,
    *,
    settler: _Settler,
    stop: threading.Event,
    clock: Callable[[], float],
) -> _Action:
    change = action.change
    if stop.is_set():
        action.outcome = ActionOutcome(change=change, ok=False, started=False, error="interrupted")
        _log(action.outcome, "not-started")
        return action
    started = clock()
    try:
        _execute(change, provider, ctx, action.done)
    except ReconcilerError as exc:
        action.error = str(exc)
    action.seconds = clock() - started
    if action.done.unsettled and ctx.since is not None:
        # Its log line waits for the settlement, which may change what it says.
        settler.add(action)
    else:
        action.finish()
    settler.maybe()
    return action


def _log(outcome: ActionOutcome, word: str) -> None:
    """Log the action's canonical line, as logfmt: `key=value`, quoted where it must be."""
    change = outcome.change
    run = outcome.created or outcome.cancelled
    fields: list[tuple[str, str | None]] = [
        ("address", change.subject),
        ("action", change.action.value),
        ("vendor", change.vendor.value),
        ("run", (run.run_id if run else change.run_id) or "-"),
        ("outcome", word),
        ("duration_ms", str(round(outcome.seconds * 1000))),
        ("note", outcome.note),
        ("error", outcome.error if outcome.started else None),
    ]
    log.info("apply %s", logfmt(fields))


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
    settle_every_s: float = SETTLE_EVERY_S,
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
    settlers = {v: _Settler(providers[v], ctx, clock, settle_every_s) for v in vendors}
    try:
        futures = [
            pools[c.vendor].submit(
                _run_one,
                _Action(change=c),
                providers[c.vendor],
                ctx,
                settler=settlers[c.vendor],
                stop=stop,
                clock=clock,
            )
            for c in actions
        ]
        done = [_wait(f, stop) for f in futures]
        # Every create made is settled, interrupted or not: a twin must not outlive the apply.
        drains = [pools[v].submit(settlers[v].drain) for v in vendors]
        for drain in drains:
            _wait(drain, stop)
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True)
    outcomes = []
    for action in done:
        assert action.outcome is not None, "every action is finished once the pools are done"
        outcomes.append(action.outcome)
    return ApplyResult(outcomes=tuple(outcomes))


def _wait(future: Future[T], stop: threading.Event) -> T:
    """Wait for one outcome; on Ctrl-C, set `stop` so queued actions do not start, and go on."""
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue
        except KeyboardInterrupt:
            stop.set()

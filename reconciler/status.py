"""Status: find the run that satisfies each resource, wait for it, judge its thresholds.

The current run of a resource is the one the planner says satisfies it, so status and plan
never disagree about which run counts. Waiting re-lists the vendors (list pages, never a GET
per run) with a poll interval that backs off, until every current run is terminal or the
timeout passes.

`--timeout T` is a deadline: polls start only before T, and every request of the last one,
retries included, ends by T + `timeout_s` (`providers.http.deadline`). When a vendor is too
slow to answer by then (it trickles, or asks to retry later than that), status reports the
runs as the last complete look saw them: still running at the timeout.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from reconciler.cost import estimate_each
from reconciler.errors import OutOfTimeError, ProviderError, TransientProviderError
from reconciler.gates import Outcome, ResourceStatus, StatusResult, Verdict, evaluate
from reconciler.live import gather_live_state
from reconciler.model import (
    LABEL_ADDRESS,
    LABEL_WORKSPACE,
    Action,
    Change,
    LiveRun,
    PlanSettings,
    Reason,
    Resource,
    RunPhase,
    Threshold,
    Vendor,
)
from reconciler.plan import plan
from reconciler.providers.base import Provider
from reconciler.providers.deadline import deadline
from reconciler.vendors.base import IdentityMode, NaturalKey
from reconciler.vendors.registry import kind_module, vendor_module

log = logging.getLogger(__name__)

FIRST_POLL_S = 2.0
MAX_POLL_S = 30.0


def judge(
    resources: Sequence[Resource],
    live: Sequence[LiveRun],
    *,
    workspace: str,
    baselines: Sequence[Resource] = (),
) -> StatusResult:
    """Judge every resource against the live runs (pure but for the clock of `now`).

    `baselines` are resources outside the scope that a `baseline: {address: ...}` names:
    planned for their current run, never judged themselves.
    """
    settings = PlanSettings(workspace=workspace, now=datetime.now(UTC))
    the_plan = plan([*resources, *baselines], live, settings=settings)
    primary: dict[str, Change] = {}
    for change in the_plan.changes:
        if change.resource is None or change.action in (Action.CANCEL, Action.MOVED):
            continue  # a duplicate or stale run being cancelled says nothing of the resource
        if change.reason is Reason.PROTECTED:
            continue
        primary.setdefault(str(change.resource.address), change)
    histories = history_of(resources, live, workspace=workspace)
    statuses = [
        _status(r, primary[str(r.address)], histories.get(str(r.address), ()), primary)
        for r in resources
    ]
    return StatusResult(
        workspace=workspace, resources=tuple(sorted(statuses, key=lambda s: s.resource.address))
    )


def baseline_resources(
    chosen: Sequence[Resource], declared: Sequence[Resource]
) -> tuple[Resource, ...]:
    """Return the declared resources outside `chosen` whose runs a chosen gate compares with."""
    inside = {str(r.address) for r in chosen}
    named = {
        t.baseline for r in chosen for t in r.thresholds if t.baseline not in (None, "previous")
    }
    return tuple(r for r in declared if str(r.address) in named and str(r.address) not in inside)


def history_of(
    resources: Sequence[Resource], live: Sequence[LiveRun], *, workspace: str
) -> dict[str, tuple[LiveRun, ...]]:
    """Return each resource's runs from the listed live state, newest first, by address.

    A resource's history is every run of it, of any spec: at a labelling vendor (Bland) the
    runs this workspace labelled with its address; at a keyed vendor (Adaline, Arize) the runs
    with its natural key at Adaline (prompt, evaluator and dataset), and at Arize the runs of
    its task (any window or experiment).
    One pass over the runs, no request: the list pages already hold them.
    """
    by_address: dict[str, list[LiveRun]] = defaultdict(list)
    by_key: dict[object, list[LiveRun]] = defaultdict(list)
    for run in live:
        if run.natural_key is not None:
            by_key[_history_key(run.natural_key)].append(run)
        elif run.labels and vendor_module(run.vendor).IDENTITY is IdentityMode.LABELS:
            labels = dict(run.labels)
            if labels.get(LABEL_WORKSPACE) == workspace and LABEL_ADDRESS in labels:
                by_address[labels[LABEL_ADDRESS]].append(run)
    histories: dict[str, tuple[LiveRun, ...]] = {}
    for resource in resources:
        address = str(resource.address)
        if resource.natural_key is not None:
            runs = by_key.get(_history_key(resource.natural_key), [])
        else:
            runs = by_address.get(address, [])
        histories[address] = tuple(sorted(runs, key=_newest_first))
    return histories


def _history_key(key: NaturalKey) -> object:
    """A kind's history is its key's container (Arize: the task) or the whole key (Adaline)."""
    if kind_module(key.kind).HISTORY_BY_CONTAINER:
        return (key.kind, key.container)
    return key


def _newest_first(run: LiveRun) -> tuple[float, str]:
    return (-run.created_at.timestamp(), run.run_id)


def previous_run(
    history: Sequence[LiveRun], current: LiveRun, metric: str | None = None
) -> LiveRun | None:
    """Return the newest run before `current` that succeeded and reported `metric`.

    Failed, cancelled or running runs are never baselines; nor is a finished run without a
    value for the metric (its gate could only say n/a, which no change of the manifest fixes).
    """
    mark = (current.created_at, current.run_id)
    for run in history:  # newest first
        if run.phase is not RunPhase.SUCCEEDED or (run.created_at, run.run_id) >= mark:
            continue
        if metric is None or run.metrics.value(metric) is not None:
            return run
    return None


def _baseline(
    threshold: Threshold,
    run: LiveRun,
    history: Sequence[LiveRun],
    primary: Mapping[str, Change],
) -> LiveRun | None:
    if threshold.baseline == "previous":
        return previous_run(history, run, threshold.metric)
    other = primary.get(threshold.baseline or "")
    if other is None or other.run is None or other.run.phase is not RunPhase.SUCCEEDED:
        return None  # the other resource has no finished run yet
    return other.run


def _status(
    resource: Resource,
    change: Change,
    history: Sequence[LiveRun] = (),
    primary: Mapping[str, Change] | None = None,
) -> ResourceStatus:
    run = change.run
    if change.action is Action.WAIT:
        waits = ", ".join(str(a) for a in change.waits_for)
        if change.reason is Reason.STAGE_FAILED:
            detail = f"not created: the stage before it ({waits}) failed its gates"
            return ResourceStatus(
                resource=resource, run=None, outcome=Outcome.FAILED, detail=detail
            )
        detail = f"waits for {waits} to pass before its run is created"
        return ResourceStatus(resource=resource, run=None, outcome=Outcome.RUNNING, detail=detail)
    if change.reason is Reason.ATTEMPTS_EXHAUSTED:
        detail = f"{change.attempts} runs of this spec failed or were cancelled"
        return ResourceStatus(resource=resource, run=run, outcome=Outcome.FAILED, detail=detail)
    if change.creates or run is None:
        if change.reason is Reason.RETRY_AFTER_FAILURE:
            detail = "its last run failed or was cancelled; the next apply tries again"
            return ResourceStatus(
                resource=resource, run=None, outcome=Outcome.FAILED, detail=detail
            )
        detail = "no run of the current spec: run `reconciler apply`"
        return ResourceStatus(resource=resource, run=None, outcome=Outcome.ERROR, detail=detail)
    if run.phase is not RunPhase.SUCCEEDED:
        if run.phase is RunPhase.ACTIVE:
            return ResourceStatus(resource=resource, run=run, outcome=Outcome.RUNNING)
        detail = f"its run is {run.status}, which reconciler does not know"
        return ResourceStatus(resource=resource, run=run, outcome=Outcome.ERROR, detail=detail)
    gates = tuple(
        evaluate(t, run, _baseline(t, run, history, primary or {}) if t.baseline else None)
        for t in resource.thresholds
    )
    trend = _trend(history, run) if any(t.metric for t in resource.thresholds) else ()
    verdicts = {g.verdict for g in gates}
    if Verdict.ERROR in verdicts:
        outcome = Outcome.ERROR
    elif Verdict.FAILED in verdicts:
        outcome = Outcome.FAILED
    else:
        outcome = Outcome.PASSED
    return ResourceStatus(resource=resource, run=run, outcome=outcome, gates=gates, trend=trend)


TREND_RUNS = 10  # how many finished runs a trend chart and sparkline show


def _trend(history: Sequence[LiveRun], current: LiveRun) -> tuple[LiveRun, ...]:
    """Return the last finished runs up to and including `current`, oldest first."""
    mark = (current.created_at, current.run_id)
    earlier = [
        r for r in history if r.phase is RunPhase.SUCCEEDED and (r.created_at, r.run_id) < mark
    ]
    return (*reversed(earlier[: TREND_RUNS - 1]), current)


def _with_estimates(
    statuses: Sequence[ResourceStatus],
    providers: Mapping[Vendor, Provider],
    live: Sequence[LiveRun],
) -> tuple[ResourceStatus, ...]:
    """Add each finished run's estimate, so reports set its actual cost beside it."""
    finished = [s.resource for s in statuses if s.run is not None and s.cost_usd is not None]
    if not finished:
        return tuple(statuses)
    # An estimate from history must not include the very run it is compared with.
    current = {s.run.run_id for s in statuses if s.run is not None}
    estimates = estimate_each(finished, providers, [r for r in live if r.run_id not in current])
    return tuple(
        dataclasses.replace(s, estimate_usd=estimates.get(str(s.resource.address)))
        for s in statuses
    )


def wait_and_judge(
    resources: Sequence[Resource],
    providers: Mapping[Vendor, Provider],
    *,
    workspace: str,
    timeout_s: float,
    baselines: Sequence[Resource] = (),
    progress: Callable[[StatusResult], None] = lambda result: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> StatusResult:
    """Poll until every current run is terminal or `timeout_s` passes; judge the result.

    `timeout_s` 0 looks once. A poll after the first that the vendor cannot answer in time
    ends the wait with the runs as the previous poll saw them (still running: exit 4); a
    first poll that fails is an error, since nothing is known.
    """
    started = clock()
    interval = FIRST_POLL_S
    last: tuple[StatusResult, tuple[LiveRun, ...]] | None = None
    with deadline(time.monotonic() + timeout_s, what=f"status --timeout {timeout_s:g}"):
        while True:
            try:
                listed = [*resources, *baselines]
                runs = gather_live_state(providers, listed, workspace=workspace).runs
            except ProviderError as error:
                if last is None or not _out_of_time(error, late=clock() - started >= timeout_s):
                    raise
                log.warning("%s; reporting the runs as the previous look saw them", error)
                result, runs = last
                elapsed = clock() - started
                return _final(result, providers, runs, elapsed=elapsed, waited=True)
            result = judge(resources, runs, workspace=workspace, baselines=baselines)
            elapsed = clock() - started
            result = StatusResult(
                workspace=workspace, resources=result.resources, elapsed_s=elapsed
            )
            progress(result)
            done = not result.count(Outcome.RUNNING)
            if done or elapsed + interval > timeout_s:
                return _final(result, providers, runs, elapsed=elapsed, waited=timeout_s > 0)
            last = (result, runs)
            sleep(interval)
            interval = min(interval * 1.5, MAX_POLL_S)


def _final(
    result: StatusResult,
    providers: Mapping[Vendor, Provider],
    runs: Sequence[LiveRun],
    *,
    elapsed: float,
    waited: bool,
) -> StatusResult:
    """Add the estimates; say "timed out" only when status waited and runs are still active.

    `--timeout 0` judges the runs as they are: still running is exit 4, but nothing timed out.
    """
    return StatusResult(
        workspace=result.workspace,
        resources=_with_estimates(result.resources, providers, runs),
        elapsed_s=elapsed,
        timed_out=waited and bool(result.count(Outcome.RUNNING)),
    )


def _out_of_time(error: BaseException, *, late: bool) -> bool:
    """Tell whether `error` (or what caused it) means the vendor could not answer in time."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OutOfTimeError):
            return True
        if late and isinstance(cause, TransientProviderError):
            return True
        cause = cause.__cause__
    return False

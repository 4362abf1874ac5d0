"""Arize AX task runs (`/v2/tasks/{task_id}/trigger`, `/v2/task-runs`), per `providers/arize.md`.

A task run carries no labels (§8). Its natural key is the task and data window, or the task
and experiment name (found through the run's `experiment_id`, §12.9); it is ours only when
`created_by_user_id` is the configured `owner_user_id`. There is no global run list: the runs
of every task a resource names are listed, plus, for prune, the configured tasks or space.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.errors import (
    ConflictError,
    ListingError,
    ManifestError,
    NotFoundError,
    Problem,
    ProviderError,
    TransientProviderError,
)
from reconciler.model import LiveRun, NaturalKey, Resource, RunPhase, parse_instant
from reconciler.providers.base import NOT_KEPT, KeepLeaves, every_run, no_run, with_leaves
from reconciler.providers.cancelling import cancel_idempotently
from reconciler.providers.config import ProviderConfig
from reconciler.providers.fresh import FreshLooks
from reconciler.providers.http import JsonClient, gather
from reconciler.providers.listing import listing_errors
from reconciler.providers.paging import NewestFirst, PageShape, describe, required_strings, walk
from reconciler.vendors import arize as known

log = logging.getLogger("reconciler.providers.arize")

DEFAULT_BASE_URL = "https://api.arize.com"
PAGE_SIZE = 100
PAGINATION_MORE = ("pagination", "has_more")
PAGINATION_CURSOR = ("pagination", "next_cursor")
RECOVERY_MARGIN = timedelta(minutes=1)
VENDOR = known.VENDOR.value
CANCEL_REFUSED = frozenset({400, 409})  # §9.1: a terminal run's cancel is refused (400 ASSUMED)


def _path(*parts: str) -> str:
    """Join path segments, each percent-encoded with no safe characters (§12.5)."""
    return "/" + "/".join(quote(p, safe="") for p in parts)


class ArizeProvider:
    """Trigger, list, read and cancel Arize task runs over one httpx client."""

    vendor = known.VENDOR

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._max_concurrency = config.max_concurrency
        self._owner = config.owner_user_id
        self._task_ids = tuple(config.task_ids)
        self._space_id = config.space_id
        self._experiment_names: dict[str, str] = {}
        self._names_lock = threading.Lock()
        self._fresh: FreshLooks[str, list[LiveRun]] = FreshLooks(self._runs_since)
        self._api = JsonClient.from_config(
            config, default_base_url=DEFAULT_BASE_URL, auth_prefix="Bearer ", transport=transport
        )

    def close(self) -> None:
        """Release the HTTP client."""
        self._api.close()

    def _pages(
        self,
        path: str,
        key: str,
        *,
        operation: str,
        params: Mapping[str, str | int] | None = None,
        read_ahead: bool = False,
    ) -> Iterator[Mapping[str, object]]:
        """Yield every item of an Arize list (`{key: [...], pagination}`), in any order (§9.10).

        Raises ListingError when the list cannot be read to its end (see paging.py).
        `read_ahead` only for a caller that reads every page (paging.walk).
        """
        query: dict[str, str | int] = {"limit": PAGE_SIZE, **(params or {})}
        shape = PageShape(items=key, has_more=PAGINATION_MORE, cursor=PAGINATION_CURSOR)

        def fetch(cursor: str | None) -> object:
            asked = query if cursor is None else {**query, "cursor": cursor}
            return self._api.request("GET", path, operation=operation, params=asked)

        return walk(fetch, shape, vendor=VENDOR, operation=operation, read_ahead=read_ahead)

    # --- listing -----------------------------------------------------------------------

    def _tasks_to_list(self, desired: Sequence[Resource]) -> list[str]:
        tasks = {r.natural_key.container for r in desired if r.natural_key is not None}
        tasks.update(self._task_ids)
        if self._space_id:
            operation = f"list tasks of space {self._space_id}"
            tasks.update(
                _text(task, "id", what="task", operation=operation)
                for task in self._pages(
                    "/v2/tasks",
                    "tasks",
                    operation=operation,
                    params={"space_id": self._space_id},
                    read_ahead=True,
                )
            )
        return sorted(tasks)

    def list_runs(
        self, desired: Sequence[Resource], *, keep_leaves: KeepLeaves = every_run
    ) -> list[LiveRun]:
        """List the runs of every task in play, all pages, concurrently; or raise ListingError.

        Each task a resource names is read once, so a resource whose spec does not fit its
        task's type (a window for a RUN_EXPERIMENT task, or the reverse) is reported before
        anything is triggered, as a manifest problem.
        """
        declared: dict[str, list[Resource]] = {}
        for resource in desired:
            if resource.natural_key is not None:
                declared.setdefault(resource.natural_key.container, []).append(resource)
        with listing_errors(vendor=VENDOR):
            tasks = self._tasks_to_list(desired)
            results = gather(
                lambda task: self._task_runs(task, declared.get(task, []), keep_leaves),
                tasks,
                max_workers=self._max_concurrency,
            )
        problems = [problem for _, found in results for problem in found]
        if problems:
            raise ManifestError(problems)
        return [run for runs, _ in results for run in runs]

    def _task_runs(
        self, task_id: str, declared: Sequence[Resource], keep_leaves: KeepLeaves
    ) -> tuple[list[LiveRun], list[Problem]]:
        operation = f"list runs of task {task_id}"
        task: Mapping[str, Any] | None = None
        try:
            if declared:
                task = self._api.request(
                    "GET", _path("v2", "tasks", task_id), operation="read task"
                )
            items = list(
                self._pages(
                    _path("v2", "tasks", task_id, "runs"),
                    "task_runs",
                    operation=operation,
                    read_ahead=True,
                )
            )
        except NotFoundError as error:
            raise ListingError(
                f"task {task_id} was not found or is not readable with this key",
                vendor=VENDOR,
                operation=operation,
                status=404,
            ) from error
        problems = [p for r in declared if (p := _mismatch(r, task)) is not None]
        unknown = {
            str(item["experiment_id"])
            for item in items
            if item.get("experiment_id")
            and str(item["experiment_id"]) not in self._experiment_names
        }
        if unknown:  # one page walk for the task's experiments instead of a GET per run
            self._learn_experiments(task_id, task)
        runs = [self._parse(item, operation=operation, keep_leaves=keep_leaves) for item in items]
        return runs, problems

    def _learn_experiments(self, task_id: str, task: Mapping[str, Any] | None) -> None:
        """Map the experiments of a RUN_EXPERIMENT task's dataset to their names (§12.9)."""
        if task is None:
            task = self._api.request("GET", _path("v2", "tasks", task_id), operation="read task")
        dataset_id = task.get("dataset_id") if isinstance(task, dict) else None
        if not dataset_id:
            return
        operation = f"list experiments of dataset {dataset_id}"
        names = {
            _text(e, "id", what="experiment", operation=operation): _text(
                e, "name", what="experiment", operation=operation
            )
            for e in self._pages(
                "/v2/experiments",
                "experiments",
                operation=operation,
                params={"dataset_id": str(dataset_id)},
                read_ahead=True,
            )
        }
        with self._names_lock:
            self._experiment_names.update(names)

    def _experiment_name(self, experiment_id: str) -> str:
        with self._names_lock:
            known = self._experiment_names.get(experiment_id)
        if known is not None:
            return known
        data = self._api.request(
            "GET", _path("v2", "experiments", experiment_id), operation="read experiment"
        )
        name = _text(data, "name", what="experiment", operation="read experiment")
        with self._names_lock:
            self._experiment_names[experiment_id] = name
        return name

    def _parse(
        self, item: object, *, operation: str, keep_leaves: KeepLeaves, created: bool = False
    ) -> LiveRun:
        experiment_id = item.get("experiment_id") if isinstance(item, dict) else None
        if not isinstance(experiment_id, str) or not experiment_id:
            return parse_task_run(
                item, operation=operation, created=created, keep_leaves=keep_leaves
            )
        parse_task_run(item, operation=operation, created=created, keep_leaves=no_run)  # shape
        return parse_task_run(
            item,
            experiment_name=self._experiment_name(experiment_id),
            operation=operation,
            created=created,
            keep_leaves=keep_leaves,
        )

    # --- create, get, cancel ---------------------------------------------------------------

    def create_run(self, resource: Resource, *, workspace: str, request_id: str) -> LiveRun:
        """Trigger the run; after a timeout or 5xx (or a 409 for a started experiment), adopt it."""
        del workspace, request_id  # Arize stores no labels (§8)
        spec = resource.spec
        task_id = str(spec.pop("task_id"))
        key = resource.natural_key
        started = datetime.now().astimezone()
        try:
            data = self._api.request(
                "POST", _path("v2", "tasks", task_id, "trigger"), operation="trigger", body=spec
            )
        except ProviderError as error:
            lost = isinstance(error, TransientProviderError)
            already = isinstance(error, ConflictError) and "experiment_name" in spec
            if not (lost or already) or key is None:
                raise
            # A 409 proves the name is taken (unique in the dataset, §12.9): a run with the
            # exact key is adopted whatever its age; only keyless runs are matched on time.
            found = self._recover(
                task_id, key, since=started - RECOVERY_MARGIN, exact_any_age=already
            )
            if found is not None:
                log.info("trigger of %s: adopted %s", resource.address, found.run_id)
                return found
            if already:
                raise
            raise TransientProviderError(
                f"{error.detail}; no run with this key was triggered since, so nothing was created."
                " The next apply will try again",
                vendor=VENDOR,
                operation="trigger",
                status=error.status,
                # a 429 says when to come back
                retry_after=error.retry_after
                if isinstance(error, TransientProviderError)
                else None,
            ) from error
        run = self._parse(data, operation="trigger", created=True, keep_leaves=no_run)
        self._fresh.created(key)
        return run

    def _runs_since(self, task_id: str, since: datetime) -> list[LiveRun]:
        """Return the task's runs triggered since `since`: only the pages that can hold one.

        When the listing shows itself newest first (`NewestFirst`: observed, never assumed),
        the walk stops at the first page that has gone past `since`; otherwise it reads the
        whole history, as a listing does.
        """
        operation = f"look for runs of task {task_id} made since the plan"
        watch = NewestFirst(since)
        items: list[Mapping[str, object]] = []
        try:
            for item in self._pages(
                _path("v2", "tasks", task_id, "runs"),
                "task_runs",
                operation=operation,
            ):
                created = item.get("created_at") if isinstance(item, dict) else None
                if isinstance(created, str):
                    with contextlib.suppress(ValueError):  # the parse below names the field
                        watch.read(parse_instant(created))
                if watch.passed:
                    break
                items.append(item)
        except NotFoundError as error:
            raise ListingError(
                f"task {task_id} was not found or is not readable with this key",
                vendor=VENDOR,
                operation=operation,
                status=404,
            ) from error
        if any(
            item.get("experiment_id") and str(item["experiment_id"]) not in self._experiment_names
            for item in items
        ):
            self._learn_experiments(task_id, None)
        runs = [self._parse(item, operation=operation, keep_leaves=no_run) for item in items]
        return [r for r in runs if r.created_at >= since]

    def _recover(
        self, task_id: str, key: NaturalKey, *, since: datetime, exact_any_age: bool = False
    ) -> LiveRun | None:
        try:
            runs, _ = self._task_runs(task_id, (), no_run)
        except ProviderError as error:
            raise TransientProviderError(
                f"whether the run was triggered is unknown: listing failed ({error.detail})."
                " The next plan lists the runs again and creates only what is missing",
                vendor=VENDOR,
                operation="trigger",
            ) from error
        mine = [
            r
            for r in runs
            if r.phase.satisfies
            and (self._owner is None or r.created_by == self._owner)
            and (
                (r.natural_key == key and (exact_any_age or r.created_at >= since))
                # An experiment run has no key until its experiment exists (§4): take it on time.
                or (
                    r.natural_key is None
                    and "experiment_name" in dict(key.parts)
                    and r.created_at >= since
                )
            )
        ]
        return max(mine, key=lambda r: (r.created_at, r.run_id)) if mine else None

    def find_runs(self, resource: Resource, *, workspace: str, since: datetime) -> list[LiveRun]:
        """Return the runs with the resource's key, triggered since `since`, that satisfy it.

        Whoever triggered them: a run with the key satisfies the resource (DESIGN.md).
        """
        del workspace
        key = resource.natural_key
        if key is None:
            return []
        runs = self._fresh.look(key.container, since, identity=key)
        found = [
            r for r in runs if r.natural_key == key and r.phase.satisfies and r.created_at >= since
        ]
        return sorted(found, key=lambda r: (r.created_at, r.run_id))

    def get_run(self, run: LiveRun) -> LiveRun:
        """Return the current state of `run`."""
        data = self._api.request("GET", _path("v2", "task-runs", run.run_id), operation="read run")
        return self._parse(data, operation="read run", keep_leaves=every_run)

    def cancel_run(self, run: LiveRun) -> LiveRun:
        """Cancel `run`; a run that is already terminal is returned as it is (§9.1)."""
        return cancel_idempotently(run, cancel=self._cancel, read=self.get_run)

    def _cancel(self, run: LiveRun) -> LiveRun:
        data = self._api.request(
            "POST",
            _path("v2", "task-runs", run.run_id, "cancel"),
            operation="cancel",
            retry=True,
            conflict=CANCEL_REFUSED,
        )
        return self._parse(data, operation="cancel", keep_leaves=every_run)

    def estimate_cost(self, resource: Resource, history: Sequence[LiveRun]) -> float | None:
        """Return None: Arize publishes no price and task runs report no cost."""
        del resource, history
        return None


EVALUATION_TYPES = ("TEMPLATE_EVALUATION", "CODE_EVALUATION")


def _text(item: object, name: str, *, what: str, operation: str) -> str:
    """Return a required string field of an Arize object; a ProviderError when it is not one.

    An experiment's name is half the key of its runs: a missing one would key them to
    nothing, and the run would be triggered again.
    """
    if not isinstance(item, dict):
        problem = f"the {what} is {describe(item)}, not an object"
    elif not isinstance(value := item.get(name), str) or not value:
        problem = f"the {what}'s `{name}` is {describe(value)}, not a non-empty string"
    else:
        return value
    raise ProviderError(problem, vendor=VENDOR, operation=operation, status=200)


def _mismatch(resource: Resource, task: Mapping[str, Any] | None) -> Problem | None:
    """Say how a resource's spec does not fit its task's type (§3.1), or None when it fits."""
    if not isinstance(task, Mapping):
        return None
    kind = str(task.get("type", "")).upper()
    experiment = "experiment_name" in resource.spec
    if experiment and kind in EVALUATION_TYPES:
        message = f"task {task.get('id')} is a {kind} task: it takes a data window"
        fix = "Give data_start_time and data_end_time instead of experiment_name"
    elif not experiment and kind == "RUN_EXPERIMENT":
        message = f"task {task.get('id')} is a RUN_EXPERIMENT task: it takes experiment_name"
        fix = "Give experiment_name instead of the data window"
    else:
        return None
    return Problem(
        path=resource.source.path,
        line=resource.source.line,
        field="spec.task_id",
        message=message,
        fix=fix,
    )


def parse_task_run(
    item: object,
    *,
    experiment_name: str | None = None,
    operation: str = "read run",
    created: bool = False,
    keep_leaves: KeepLeaves = every_run,
) -> LiveRun:
    """Parse a TaskRun; statuses in any case, unknown fields (`failure_reason`...) ignored.

    A field reconciler decides on of the wrong type is a ProviderError naming `operation`.
    `created`: the object answers a trigger, so the message says the run may exist.
    """

    def wrong(problem: str) -> ProviderError:
        if created:
            problem += "; the run may have been triggered: the next plan lists it"
        return ProviderError(problem, vendor=VENDOR, operation=operation, status=200)

    if not isinstance(item, dict):
        raise wrong(f"the answer is {describe(item)}, not a task run object")
    texts = required_strings(item, ("id", "task_id", "status", "created_at"), what="task run")
    if isinstance(texts, str):
        raise wrong(texts)
    # intern what repeats from run to run: one copy for all (docs/performance.md, memory)
    run_id, task_id, status = texts["id"], sys.intern(texts["task_id"]), sys.intern(texts["status"])
    optional: dict[str, str | None] = {}
    for name in ("data_start_time", "data_end_time", "created_by_user_id", "experiment_id"):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            raise wrong(f"task run {run_id}: `{name}` is {describe(value)}, not a string")
        optional[name] = value or None
    try:
        created_at = parse_instant(texts["created_at"])
        start, end = optional["data_start_time"], optional["data_end_time"]
        key: NaturalKey | None = None
        if start and end:
            key = known.window_key(
                task_id=task_id, start=parse_instant(start), end=parse_instant(end)
            )
        elif experiment_name:
            key = known.experiment_key(task_id=task_id, experiment_name=experiment_name)
    except ValueError as exc:
        raise wrong(f"task run {run_id}: a time field is not an RFC 3339 timestamp") from exc
    run = LiveRun(
        vendor=known.VENDOR,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=created_at,
        natural_key=key,
        created_by=sys.intern(creator) if (creator := optional["created_by_user_id"]) else None,
        metrics=known.metrics(item),
        fields=NOT_KEPT,
    )
    return with_leaves(run, item, keep_leaves)

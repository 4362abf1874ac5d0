"""Arize AX's tasks and task-runs API (v2), written from `shared/providers/arize.md` alone.

Routes: `/v2/tasks...`, `/v2/task-runs...` and `/v2/experiments...` (arize.md §3, §12.9), as a
table the server merges with the other vendors'. The catalogue is fixed (`catalogue.py`); runs
are stored once, at trigger time (`store.py`, `trigger.py`), and what they show is computed
when read (`lifecycle.py`).

Runs are visible to every key (they belong to the task, not to the caller); a run's
`created_by_user_id` is derived from the key that triggered it (`user_id_of`), which is how a
client recognises its own runs (arize.md §8).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.emulator.arize.catalogue import (
    CATALOGUE_TAG,
    CATALOGUE_USER_ID,
    DATASETS,
    PROJECTS,
    SPACES,
    TASKS,
    Task,
    global_id,
    user_id_of,
)
from reconciler.emulator.arize.experiments import Experiments
from reconciler.emulator.arize.lifecycle import ACTIVE, STATUSES, TERMINAL, Lifecycle
from reconciler.emulator.arize.paging import (
    decode_cursor,
    encode_cursor,
    limit_of,
    page_of,
    substring_filter,
)
from reconciler.emulator.arize.problems import (
    Problem,
    check_filter,
    check_id,
    instant_ms,
    not_found,
    problem,
)
from reconciler.emulator.arize.store import ArizeStore
from reconciler.emulator.arize.trigger import DEFAULT_MAX_SPANS, TASK_TYPES, Triggers, insert_run
from reconciler.emulator.base import Setting
from reconciler.emulator.formats import instant
from reconciler.emulator.http import ApiError, Request, Response
from reconciler.emulator.order import check_order, position
from reconciler.emulator.routing import Call, Match, Route

PREFIXES = ("/v2/tasks", "/v2/task-runs", "/v2/experiments")
REVOKED_PREFIX = "revoked-"  # keys that are unknown, expired or revoked: every route is 401
PROBLEM_JSON = "application/problem+json"


class ArizeApi:
    """The Arize v2 task routes over one SQLite database shared with the other vendors."""

    def __init__(self, setting: Setting, *, legacy_enums: bool = False) -> None:
        self._seed = setting.seed
        self.list_order = check_order(setting.list_order)  # of task runs (§9.10 leaves it open)
        self._clock = setting.clock
        self.legacy_enums = legacy_enums  # lower-case enums in and out, as before 2026-07-16
        self._final: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, Task] = dict(TASKS)  # the catalogue, plus add_tasks() copies
        self._store = ArizeStore(setting.db, setting.lock)
        self._lifecycle = Lifecycle(seed=setting.seed, time_scale=setting.time_scale)
        self._experiments = Experiments(
            self._store, self._lifecycle, seed=setting.seed, clock=setting.clock, tasks=self._tasks
        )
        self._triggers = Triggers(
            self._store, seed=setting.seed, clock=setting.clock, tasks=self._tasks
        )

    # --- routing ---------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        """Return Arize's routes (arize.md §3)."""
        return (
            Route(method="GET", path="/v2/tasks", handler=self._list_tasks),
            Route(method="GET", path="/v2/tasks/{task_id}", handler=self._task),
            Route(method="GET", path="/v2/tasks/{task_id}/runs", handler=self._list_runs),
            Route(
                method="POST",
                path="/v2/tasks/{task_id}/trigger",
                handler=self._trigger,
                creates=True,
            ),
            Route(method="GET", path="/v2/task-runs/{run_id}", handler=self._get_run),
            Route(method="POST", path="/v2/task-runs/{run_id}/cancel", handler=self._cancel),
            Route(method="GET", path="/v2/experiments", handler=self._experiments.listing),
            Route(
                method="GET", path="/v2/experiments/{experiment_id}", handler=self._experiments.one
            ),
        )

    def fault(self, status: int, request: Request) -> Response:
        """Answer an injected 429 or 5xx as a Problem (§2.3, §6)."""
        detail = "Rate limit exceeded" if status == 429 else "The service is unavailable"
        return Response(status, problem(status, detail, request.path), {}, PROBLEM_JSON)

    def answer(self, request: Request, match: Match) -> Response:
        """Answer one request, or raise ApiError with a problem+json body."""
        try:
            user_id = self._authenticate(request.headers.get("authorization"))
            if match.route is None:
                if not match.allowed:
                    raise Problem(404, f"No route {request.method} {request.path}")
                raise Problem(
                    405,
                    f"Method {request.method} is not allowed on {request.path}",
                    {"Allow": ", ".join(match.allowed)},
                )
            return match.call(request, user_id)
        except Problem as error:
            raise ApiError(
                error.status,
                problem(error.status, error.detail, request.path),
                headers=error.headers,
                content_type=PROBLEM_JSON,
            ) from None

    @staticmethod
    def _authenticate(header: str | None) -> str:
        """Return the caller's user id, or 401 (arize.md §1, §9.18)."""
        if header is None or not header.strip():
            raise Problem(401, "Missing Authorization header")
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Problem(401, "Authorization header must be 'Bearer <api key>'")
        key = key.strip()
        if key.startswith(REVOKED_PREFIX):
            raise Problem(401, "The API key is invalid, expired or revoked")
        return user_id_of(key)

    def _enum(self, value: str) -> str:
        return value.lower() if self.legacy_enums else value

    def _enum_filter(
        self, query: Mapping[str, str], name: str, allowed: tuple[str, ...]
    ) -> str | None:
        value = query.get(name)
        if value is None:
            return None
        if self.legacy_enums:
            value = value.upper()
        if value not in allowed:
            raise Problem(400, f"{name} must be one of {', '.join(allowed)}")
        return value

    # --- tasks -------------------------------------------------------------------------

    def _lookup_task(self, task_id: str) -> Task:
        check_id(task_id, "OnlineTask", "task")
        task = self._tasks.get(task_id)
        if task is None:
            raise not_found("task", task_id)
        return task

    def _render_task(self, task: Task, last_run: float | None) -> dict[str, Any]:
        return {
            "id": task.id,
            "name": task.name,
            "type": self._enum(task.type),
            "project_id": task.project_id,
            "dataset_id": task.dataset_id,
            "sampling_rate": task.sampling_rate,
            "is_continuous": task.is_continuous,
            "query_filter": task.query_filter,
            "evaluators": [dict(e) for e in task.evaluators],
            "experiment_ids": list(task.experiment_ids),
            "run_configuration": dict(task.run_configuration) if task.run_configuration else None,
            "last_run_at": instant(last_run) if last_run is not None else None,
            "created_at": instant(task.created),
            "updated_at": instant(task.created),
            "created_by_user_id": CATALOGUE_USER_ID,
        }

    def _task(self, call: Call) -> Response:
        task = self._lookup_task(call.params["task_id"])
        return Response(200, self._render_task(task, self._store.last_runs().get(task.id)))

    def _list_tasks(self, call: Call) -> Response:
        query = call.request.query
        space_id = check_filter(query, "space_id", "Space", "space", SPACES)
        project_id = check_filter(query, "project_id", "Project", "project", PROJECTS)
        dataset_id = check_filter(query, "dataset_id", "Dataset", "dataset", DATASETS)
        space_name = substring_filter(query, "space_name")
        name = substring_filter(query, "name")
        task_type = self._enum_filter(query, "type", TASK_TYPES)
        limit_of(query)
        last_runs = self._store.last_runs()
        items = [
            (task.created, task.id, self._render_task(task, last_runs.get(task.id)))
            for task in self._tasks.values()
            if (space_id is None or task.space_id == space_id)
            and (space_name is None or space_name in SPACES[task.space_id].name.lower())
            and (name is None or name in task.name.lower())
            and (project_id is None or task.project_id == project_id)
            and (dataset_id is None or task.dataset_id == dataset_id)
            and (task_type is None or task.type == task_type)
        ]
        filters = [space_id, space_name, name, project_id, dataset_id, task_type]
        return page_of(items, query, "tasks:" + json.dumps(filters), "tasks")

    def _trigger(self, call: Call) -> Response:
        task = self._lookup_task(call.params["task_id"])
        run_id = self._triggers.trigger(task, call.caller, call.request)
        return Response(201, self._run(run_id))

    # --- runs --------------------------------------------------------------------------

    def _row(self, run_id: str) -> sqlite3.Row:
        check_id(run_id, "TaskRun", "task run")
        row = self._store.row(run_id)
        if row is None or row["task_id"] not in self._tasks:
            raise not_found("task run", run_id)
        return row

    def _run(self, run_id: str) -> dict[str, Any]:
        return self._render(self._row(run_id), self._clock())

    def _get_run(self, call: Call) -> Response:
        return Response(200, self._run(call.params["run_id"]))

    def _render(self, row: sqlite3.Row, now: float) -> dict[str, Any]:
        final = self._final.get(row["id"])
        if final is not None:
            return final
        view = self._lifecycle.view(row, now)
        run: dict[str, Any] = {"id": row["id"], "task_id": row["task_id"]}
        if view["experiment"]:
            provisioned = view["started"] is not None
            run["experiment_id"] = (
                self._experiments.experiment_id(row["seq"]) if provisioned else None
            )
        run |= {
            "status": self._enum(view["status"]),
            "run_started_at": instant(view["started"]) if view["started"] is not None else None,
            "run_finished_at": instant(view["finished"]) if view["finished"] is not None else None,
            "data_start_time": instant_ms(row["data_start_ms"])
            if row["data_start_ms"] is not None
            else None,
            "data_end_time": instant_ms(row["data_end_ms"])
            if row["data_end_ms"] is not None
            else None,
            "num_successes": view["num_successes"],
            "num_errors": view["num_errors"],
            "num_skipped": view["num_skipped"],
            "created_at": instant(row["created"]),
            "created_by_user_id": row["user_id"],
            "failure_reason": view["failure_reason"],
        }
        if view["status"] in TERMINAL:  # a finished run never changes again: keep its answer
            self._final[row["id"]] = run
        return run

    def _list_runs(self, call: Call) -> Response:
        task, query = self._lookup_task(call.params["task_id"]), call.request.query
        status = self._enum_filter(query, "status", STATUSES)
        limit = limit_of(query)
        scope = f"runs:{task.id}:{status or ''}"
        if self.list_order != "newest":
            return self._list_runs_arranged(task.id, query, status=status, limit=limit)
        anchor = None
        if (cursor := query.get("cursor")) is not None:
            anchor = decode_cursor(cursor, scope)
        now = self._clock()
        take = limit + 1 if status is None else None
        batch = self._store.page(task.id, anchor=anchor, take=take)
        items: list[tuple[sqlite3.Row, dict[str, Any]]] = []
        more = False
        for row in batch:
            run = self._render(row, now)
            if status is not None and run["status"] != self._enum(status):
                continue
            if len(items) == limit:
                more = True
                break
            items.append((row, run))
        pagination: dict[str, Any] = {"has_more": more}
        if more:
            last = items[-1][0]
            pagination["next_cursor"] = encode_cursor(scope, last["created"], last["id"])
        return Response(200, {"task_runs": [run for _, run in items], "pagination": pagination})

    def _list_runs_arranged(
        self, task_id: str, query: Mapping[str, str], *, status: str | None, limit: int
    ) -> Response:
        """Answer a page of task runs in the `oldest` or `shuffled` order.

        `oldest` reads a keyset on the index (O(page) without a status filter); `shuffled`
        sorts the task's runs on every page (a test order: O(runs)).
        """
        scope = f"runs:{task_id}:{status or ''}"
        if self.list_order == "oldest":
            cursor = query.get("cursor")
            keyset = None if cursor is None else decode_cursor(cursor, scope)
            take = limit + 1 if status is None else None
            now = self._clock()
            picked: list[tuple[sqlite3.Row, dict[str, Any]]] = []
            for row in self._store.oldest(task_id, anchor=keyset, take=take):
                run = self._render(row, now)
                if status is None or run["status"] == self._enum(status):
                    picked.append((row, run))
                if len(picked) > limit:
                    break
            return self._arranged_page(picked, scope, limit)
        found = self._store.every(task_id)

        def place(created: float, ident: str) -> tuple[float | str, str]:
            return position(self.list_order, self._seed, created, ident)

        ordered = sorted(found, key=lambda r: place(r["created"], r["id"]))
        if (cursor := query.get("cursor")) is not None:
            mark = place(*decode_cursor(cursor, scope))
            ordered = [r for r in ordered if place(r["created"], r["id"]) > mark]
        now = self._clock()
        items = [(row, self._render(row, now)) for row in ordered]
        if status is not None:
            items = [(row, run) for row, run in items if run["status"] == self._enum(status)]
        return self._arranged_page(items, scope, limit)

    @staticmethod
    def _arranged_page(
        items: list[tuple[sqlite3.Row, dict[str, Any]]], scope: str, limit: int
    ) -> Response:
        """Answer the first `limit` of `items` (in list order) and the cursor after them."""
        chosen = items[:limit]
        pagination: dict[str, Any] = {"has_more": len(items) > limit}
        if pagination["has_more"]:
            last = chosen[-1][0]
            pagination["next_cursor"] = encode_cursor(scope, last["created"], last["id"])
        return Response(200, {"task_runs": [run for _, run in chosen], "pagination": pagination})

    def _cancel(self, call: Call) -> Response:
        """Cancel a PENDING or RUNNING run atomically; 400 for a finished one (§9.1, §9.2)."""
        run_id = call.params["run_id"]
        self._row(run_id)
        with self._store.lock:
            row = self._store.row_locked(run_id)
            assert row is not None
            now = self._clock()
            status = self._lifecycle.view(row, now)["status"]
            if status not in ACTIVE:
                raise Problem(
                    400,
                    f"Task run {run_id} is {status}; only PENDING or RUNNING runs can be cancelled",
                )
            self._store.cancel_locked(row["id"], now)
            row = self._store.row_locked(run_id)
            assert row is not None
        return Response(200, self._render(row, now))

    # --- seeding (tests and benchmarks) ------------------------------------------------

    def add_tasks(
        self, count: int, *, like: str = global_id("OnlineTask", 1, CATALOGUE_TAG)
    ) -> list[str]:
        """Add `count` copies of task `like` (new ids and names), for benchmarks."""
        template = self._tasks[like]
        ids = []
        for n in range(count):
            task = replace(
                template,
                id=global_id("OnlineTask", 1000 + len(self._tasks) + n, "bench"),
                name=f"{template.name}-copy-{n + 1}",
            )
            self._tasks[task.id] = task
            ids.append(task.id)
        return ids

    def seed_runs(
        self,
        key: str,
        count: int,
        *,
        task_id: str = global_id("OnlineTask", 1, CATALOGUE_TAG),
        spacing_s: float = 1.0,
    ) -> list[str]:
        """Insert `count` runs of `task_id` triggered by `key`, `spacing_s` apart, ending now.

        Evaluation runs get one-hour windows ending at their creation; RUN_EXPERIMENT runs get
        the experiment names `seed-<seq>`. Returns the run ids, oldest first.
        """
        task = self._tasks[task_id]
        user_id = user_id_of(key)
        now = self._clock()
        ids: list[str] = []
        with self._store.lock:
            for n in range(count):
                created = now - (count - n) * spacing_s
                window: tuple[int | None, int | None] = (None, None)
                name: str | None = None
                if task.type == "RUN_EXPERIMENT":
                    assert task.dataset_id is not None
                    name = f"seed-{self._store.next_seq_locked()}"
                    dataset = DATASETS[task.dataset_id]
                    request: dict[str, Any] = {
                        "kind": "experiment",
                        "experiment_name": name,
                        "dataset_version_id": dataset.version_ids[-1],
                        "example_count": dataset.example_count,
                        "evaluation_task_ids": [],
                    }
                else:
                    request = {
                        "kind": "evaluation",
                        "max_spans": DEFAULT_MAX_SPANS,
                        "override_evaluations": False,
                        "experiment_ids": list(task.experiment_ids),
                    }
                    end_ms = int(created * 1000)
                    window = (end_ms - 3_600_000, end_ms)
                run_id = insert_run(
                    self._store,
                    seed=self._seed,
                    task=task,
                    created=created,
                    user_id=user_id,
                    window_ms=window,
                    experiment_name=name,
                    request=request,
                    commit=False,
                )
                ids.append(run_id)
            self._store.commit_locked()
        return ids

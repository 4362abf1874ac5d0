"""Adaline's v2 evaluations API (`/v2/prompts/...`, `/v2/datasets`), from `adaline.md` alone.

The routes are a table (`AdalineApi.routes`); the server merges it with the other vendors'.
What a run shows when read comes from `lifecycle.py`; where it is kept, from `store.py`.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Sequence
from typing import Any

from reconciler.emulator.adaline.catalogue import (
    DATASETS_BY_ID,
    EVALUATORS_BY_ID,
    PROMPTS_BY_ID,
    row_id,
    row_values,
)
from reconciler.emulator.adaline.envelope import check_id, error, id_issue, invalid, not_found
from reconciler.emulator.adaline.lifecycle import Schedule, Slot, ms
from reconciler.emulator.adaline.lookups import (
    find_evaluator,
    find_prompt,
    get_dataset,
    get_evaluator,
    list_datasets,
    list_evaluators,
)
from reconciler.emulator.adaline.paging import (
    RESULT_SORTS,
    SORTS,
    Pager,
    created_range,
)
from reconciler.emulator.adaline.store import AdalineStore, NewRun
from reconciler.emulator.base import Setting
from reconciler.emulator.formats import uuid_of
from reconciler.emulator.http import ApiError, Request, Response
from reconciler.emulator.order import check_order, position
from reconciler.emulator.routing import Call, Match, Route

PROMPTS = "/v2/prompts"
DATASETS = "/v2/datasets"
STATUSES = ("queued", "running", "completed", "failed", "cancelled", "cancelling")
CANCELLABLE = ("queued", "running")
GRADES = ("pass", "fail", "unknown")
CREATE_FIELDS = ("evaluatorId", "datasetId")
EVALUATIONS = PROMPTS + "/{promptId}/evaluations"


def workspace_of(key: str) -> str:
    """Return the workspace of an API key (each key is its own workspace)."""
    return "ws_" + hashlib.sha256(key.encode()).hexdigest()[:16]


class AdalineApi:
    """The `/v2/prompts` and `/v2/datasets` routes over the SQLite database of the emulator."""

    def __init__(self, setting: Setting) -> None:
        self._seed = setting.seed
        self._clock = setting.clock
        self.list_order = check_order(setting.list_order)  # "newest": as `sort` asks (§10.18)
        self.omit_dataset_id = setting.omit_dataset_id  # §2: datasetId "may be absent"
        self._store = AdalineStore(setting.db, setting.lock)
        self._schedule = Schedule(
            self._store, setting.lock, seed=setting.seed, time_scale=setting.time_scale
        )
        self._requests = itertools.count(1)

    # --- routing ---------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        """Return Adaline's routes (adaline.md §3)."""
        return (
            Route(method="GET", path=DATASETS, handler=list_datasets),
            Route(method="GET", path=DATASETS + "/{datasetId}", handler=get_dataset),
            Route(method="GET", path=PROMPTS + "/{promptId}/evaluators", handler=list_evaluators),
            Route(
                method="GET",
                path=PROMPTS + "/{promptId}/evaluators/{evaluatorId}",
                handler=get_evaluator,
            ),
            Route(method="POST", path=EVALUATIONS, handler=self._create, creates=True),
            Route(method="GET", path=EVALUATIONS, handler=self._list),
            Route(method="GET", path=EVALUATIONS + "/{evaluationId}", handler=self._get),
            Route(method="POST", path=EVALUATIONS + "/{evaluationId}/cancel", handler=self._cancel),
            Route(
                method="GET", path=EVALUATIONS + "/{evaluationId}/results", handler=self._results
            ),
        )

    def fault(self, status: int, request: Request) -> Response:
        """Answer an injected 429 or 5xx in Adaline's envelope (§5, §10.27)."""
        del request
        if status == 429:
            return error(429, "RATE_LIMITED", "Rate limit exceeded.").response
        return error(status, "INTERNAL_ERROR", "Internal server error.").response

    def answer(self, request: Request, match: Match) -> Response:
        """Answer one request with an `x-request-id`, or raise ApiError in Adaline's envelope."""
        request_id = uuid_of(f"adaline-request:{self._seed}:{next(self._requests)}")
        try:
            response = self._answer(request, match)
        except ApiError as failure:
            answer = failure.response
            raise ApiError(
                answer.status, answer.body, headers={**answer.headers, "x-request-id": request_id}
            ) from None
        return Response(response.status, response.body, {"x-request-id": request_id})

    def _answer(self, request: Request, match: Match) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise error(401, "AUTHENTICATION_REQUIRED", "Invalid or missing API key.")
        if match.route is None:
            raise error(404, "RESOURCE_NOT_FOUND", f"No route {request.method} {request.path}")
        return match.call(request, workspace_of(token.strip()))

    # --- create ----------------------------------------------------------------------

    def _create(self, call: Call) -> Response:
        workspace, prompt_id = call.caller, call.params["promptId"]
        check_id("promptId", prompt_id)
        try:
            body = call.request.json()
        except ApiError:
            raise invalid("body", "must be valid JSON") from None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise invalid("body", "must be a JSON object")
        details = [
            {"field": name, "issue": "is not a recognised field"}
            for name in body
            if name not in CREATE_FIELDS
        ]
        for name in CREATE_FIELDS:
            if name in body and (issue := id_issue(body[name])) is not None:
                details.append({"field": name, "issue": issue})
        if details:
            message = "; ".join(f"{d['field']}: {d['issue']}" for d in details)
            raise error(400, "VALIDATION_ERROR", message, details)
        prompt = find_prompt(prompt_id)
        evaluator_id: str | None = body.get("evaluatorId")
        dataset_id: str | None = body.get("datasetId")
        if evaluator_id is not None:
            evaluator = find_evaluator(prompt, evaluator_id)
            if evaluator.status != "active":
                raise invalid("evaluatorId", f"evaluator is {evaluator.status}")
            evaluators = [evaluator]
        else:  # every active evaluator of the prompt (§3.1, §10.3)
            evaluators = [
                e
                for e in EVALUATORS_BY_ID.values()
                if e.prompt_id == prompt.id and e.status == "active"
            ]
            if not evaluators:
                raise invalid("evaluatorId", "the prompt has no active evaluator")
        if dataset_id is not None and dataset_id not in DATASETS_BY_ID:
            raise not_found("Dataset")
        now = self._clock()
        ids: list[str] = []

        def numbered(seq: int) -> list[NewRun]:
            rows = []
            for n, chosen in enumerate(evaluators, start=seq + 1):
                run_id = uuid_of(f"adaline:{self._seed}:{n}")
                ids.append(run_id)
                dataset = DATASETS_BY_ID[dataset_id or chosen.dataset_id]
                rows.append(
                    (workspace, run_id, prompt.id, chosen.id, dataset.id, dataset.row_count, now)
                )
            return rows

        self._store.insert(numbered)
        return Response(202, self._evaluation(workspace, prompt.id, ids[0]))

    # --- read ------------------------------------------------------------------------

    def _row(self, workspace: str, prompt_id: str, run_id: str) -> sqlite3.Row:
        row = self._store.row(workspace, prompt_id, run_id)
        if row is None:  # unknown, another workspace's, or under another prompt (§10.6)
            raise not_found("Evaluation")
        return row

    def _evaluation(self, workspace: str, prompt_id: str, run_id: str) -> dict[str, Any]:
        row = self._row(workspace, prompt_id, run_id)
        return self._render(row, self._schedule.slots(workspace)[run_id], self._clock())

    def _get(self, call: Call) -> Response:
        prompt_id, run_id = call.params["promptId"], call.params["evaluationId"]
        find_prompt(prompt_id, evaluationId=run_id)
        return Response(200, self._evaluation(call.caller, prompt_id, run_id))

    def _render(self, row: sqlite3.Row, slot: Slot, now: float) -> dict[str, Any]:
        fate = self._schedule.fate(row["id"], row["total_rows"])
        status = slot.status(now)
        done = fate.rows[: slot.processed_at(now)]
        failed_rows = sum(1 for r in done if r.failed)
        completed_rows = len(done) - failed_rows
        total = row["total_rows"]
        grades = [r.grade for r in done if not r.failed]
        started = slot.start is not None and now >= slot.start
        evaluation: dict[str, Any] = {
            "runId": row["id"],
            "evaluatorId": row["evaluator_id"],
            "datasetId": row["dataset_id"],
            "status": status,
            "progress": {
                "totalRows": total,
                "completedRows": completed_rows,
                "failedRows": failed_rows,
                "percent": 100 * len(done) // total if total else 0,
            },
            "metrics": {
                "passRuns": grades.count("pass"),
                "failRuns": grades.count("fail"),
                "unknownRuns": grades.count("unknown"),
                "totalCost": round(sum((r.cost for r in done), 0.0), 6),
                "totalLatency": sum(r.latency for r in done),
                "totalTokenCount": sum(r.tokens for r in done),
            },
            "timeline": {
                "submittedAt": row["submitted_ms"],
                "startedAt": ms(slot.start) if started and slot.start is not None else None,
                "finishedAt": ms(slot.finish) if now >= slot.finish else None,
            },
        }
        if self.omit_dataset_id:
            del evaluation["datasetId"]
        return evaluation

    # --- list, cancel, results ----------------------------------------------------------

    def _list(self, call: Call) -> Response:
        workspace, prompt_id, query = call.caller, call.params["promptId"], call.request.query
        check_id("promptId", prompt_id)
        status = query.get("status")
        if status is not None and status not in STATUSES:
            raise invalid("status", f"must be one of {', '.join(STATUSES)}")
        evaluator_id = query.get("evaluatorId")
        dataset_id = query.get("datasetId")
        if evaluator_id is not None:
            check_id("evaluatorId", evaluator_id)
        if dataset_id is not None:
            check_id("datasetId", dataset_id)
        after, before = created_range(query)
        scope = ("evaluations", workspace, prompt_id, status, evaluator_id, dataset_id)
        pager = Pager(query, (*scope, after, before), SORTS)
        prompt = find_prompt(prompt_id)
        if evaluator_id is not None:
            find_evaluator(prompt, evaluator_id)
        if dataset_id is not None and dataset_id not in DATASETS_BY_ID:
            raise not_found("Dataset")
        where = ["workspace = ?", "prompt_id = ?"]
        params: list[object] = [workspace, prompt_id]
        for column, value in (("evaluator_id", evaluator_id), ("dataset_id", dataset_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        for op, bound in ((">=", after), ("<", before)):
            if bound is not None:
                where.append(f"submitted_ms {op} ?")
                params.append(bound)
        if self.list_order != "newest":  # the vendor ignores `sort` (docs/emulator.md)
            pager.descending = False
        if self.list_order != "shuffled":  # keyset on the index: O(page) without a status filter
            anchor = None if pager.anchor is None else (pager.anchor[0], pager.anchor[1])
            take = pager.limit + 1 if status is None else None
            rows = self._store.keyset(
                " AND ".join(where), params, descending=pager.descending, anchor=anchor, take=take
            )
        else:
            rows = self._store.keys(" AND ".join(where), params)
        schedule = self._schedule.slots(workspace)
        now = self._clock()
        keys = [
            {"id": r["id"], "at": r["submitted_ms"]}
            for r in rows
            if status is None or schedule[r["id"]].status(now) == status
        ]

        def place(item: dict[str, Any]) -> tuple[Any, str]:
            return position(self.list_order, self._seed, item["at"], item["id"])

        page, pagination = pager.page(keys, place)
        by_id = {r["id"]: r for r in rows}
        items = [self._render(by_id[k["id"]], schedule[k["id"]], now) for k in page]
        return Response(200, {"evaluations": items, "pagination": pagination})

    def _cancel(self, call: Call) -> Response:
        workspace, prompt_id = call.caller, call.params["promptId"]
        run_id = call.params["evaluationId"]
        find_prompt(prompt_id, evaluationId=run_id)
        self._row(workspace, prompt_id, run_id)
        now = self._clock()
        status = self._schedule.slots(workspace)[run_id].status(now)
        if status == "cancelling":  # idempotent (§10.9)
            return Response(200, self._evaluation(workspace, prompt_id, run_id))
        if status not in CANCELLABLE:  # terminal (§10.8)
            raise invalid("status", f"evaluation is not cancellable in status {status}")
        self._store.cancel(workspace, run_id, now)
        run = self._evaluation(workspace, prompt_id, run_id)
        if run["status"] == "cancelled":  # nothing was in flight: it went at once (§10.10)
            run["status"] = "cancelling"  # ... but the cancel itself answers `cancelling`
            run["timeline"]["finishedAt"] = None
        return Response(200, run)

    def _results(self, call: Call) -> Response:
        workspace, prompt_id = call.caller, call.params["promptId"]
        run_id, query = call.params["evaluationId"], call.request.query
        find_prompt(prompt_id, evaluationId=run_id)
        grade = query.get("grade")
        if grade is not None and grade not in GRADES:
            raise invalid("grade", f"must be one of {', '.join(GRADES)}")
        expand = query.get("expand")
        if expand is not None and expand != "row":
            raise invalid("expand", "must be row")
        scope = ("results", workspace, prompt_id, run_id, grade, expand)
        pager = Pager(query, scope, RESULT_SORTS, "createdAt:asc")
        row = self._row(workspace, prompt_id, run_id)
        slot = self._schedule.slots(workspace)[run_id]
        fate = self._schedule.fate(run_id, row["total_rows"])
        dataset = DATASETS_BY_ID[row["dataset_id"]]
        items = []
        for n, outcome in enumerate(fate.rows[: slot.processed_at(self._clock())]):
            if grade is not None and outcome.grade != grade:
                continue
            item: dict[str, Any] = {
                "id": uuid_of(f"adaline-result:{run_id}:{n}"),
                "rowId": row_id(dataset.id, n),
                "grade": outcome.grade,
                "score": outcome.score,
                "reason": outcome.reason,
                "cost": outcome.cost,
                "latency": outcome.latency,
                "tokenCount": outcome.tokens,
                "createdAt": ms(slot.rows_from + (n + 1) * slot.row_s),
            }
            if expand == "row":
                item["row"] = {"values": row_values(dataset, n)}
            items.append(item)
        field = "score" if pager.sort.startswith("score") else "createdAt"
        page, pagination = pager.page(items, lambda i: (i[field], i["id"]))
        return Response(200, {"results": page, "pagination": pagination})

    # --- seeding (tests and benchmarks) ------------------------------------------------

    def seed_runs(
        self,
        key: str,
        count: int,
        *,
        prompt_id: str = "prompt_checkout_assistant_0001",
        evaluator_id: str | None = None,
        spacing_s: float = 1.0,
    ) -> list[str]:
        """Insert `count` runs for `key` (oldest first), submitted `spacing_s` apart, ending now."""
        prompt = PROMPTS_BY_ID[prompt_id]
        evaluator = (
            EVALUATORS_BY_ID[evaluator_id]
            if evaluator_id is not None
            else next(
                e
                for e in EVALUATORS_BY_ID.values()
                if e.prompt_id == prompt.id and e.status == "active"
            )
        )
        dataset = DATASETS_BY_ID[evaluator.dataset_id]
        workspace = workspace_of(key)
        now = self._clock()
        ids: list[str] = []

        def numbered(start: int) -> list[NewRun]:
            rows = []
            for n in range(count):
                run_id = uuid_of(f"adaline-seed:{self._seed}:{start + n}")
                ids.append(run_id)
                submitted = now - (count - n) * spacing_s
                rows.append(
                    (
                        workspace,
                        run_id,
                        prompt.id,
                        evaluator.id,
                        dataset.id,
                        dataset.row_count,
                        submitted,
                    )
                )
            return rows

        self._store.insert(numbered)
        return ids

"""Bland AI's evals API (`/v1/evals`), written from `shared/providers/bland.md` alone.

The routes are a table (`BlandApi.routes`); the server merges it with the other vendors'.
What a run shows when read comes from `lifecycle.py`; where it is kept, from `store.py`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.emulator.base import Setting
from reconciler.emulator.bland import catalogue
from reconciler.emulator.bland.envelope import body_of, error, invalid, ok
from reconciler.emulator.bland.lifecycle import ACTIVE, FINISHED, STATUSES, Lifecycle
from reconciler.emulator.bland.store import BlandStore, Filter
from reconciler.emulator.bland.validation import TRIGGERS, validate
from reconciler.emulator.formats import uuid_of
from reconciler.emulator.http import Request, Response
from reconciler.emulator.order import check_order, position
from reconciler.emulator.routing import Call, Match, Route

PREFIX = "/v1/evals"
FEATURE_OFF_PREFIX = "evals-off-"  # keys of organisations without Evals (every route 404s)
NO_BILLING_PREFIX = "no-billing-"  # keys of organisations without a billing record (402)
LIST_FIELDS = (
    "id",
    "status",
    "triggered_by",
    "run_mode",
    "resolved_call_count",
    "resolved_agent_count",
    "resolved_atom_count",
    "completed_atom_count",
    "summary",
    "billable_cost_usd",
    "workbench_setup_id",
    "workbench_setup_version_id",
    "metadata",
    "created_at",
    "started_at",
    "completed_at",
)


def org_of(key: str) -> str:
    """Return the organisation id of an API key (each key is its own organisation)."""
    return "org_" + hashlib.sha256(key.encode()).hexdigest()[:16]


class BlandApi:
    """The `/v1/evals` routes over one SQLite database shared with the other vendors."""

    def __init__(self, setting: Setting) -> None:
        self._seed = setting.seed
        self.list_order = check_order(setting.list_order)
        self._clock = setting.clock
        self._store = BlandStore(setting.db, setting.lock)
        self._lifecycle = Lifecycle(seed=setting.seed, time_scale=setting.time_scale)
        self._final: dict[str, dict[bool, dict[str, Any]]] = {}

    # --- routing ---------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        """Return Bland's routes (bland.md §3)."""
        return (
            Route(method="GET", path=PREFIX + "/status", handler=self._status, name="status"),
            Route(method="POST", path=PREFIX + "/runs", handler=self._create, creates=True),
            Route(method="GET", path=PREFIX + "/runs", handler=self._list),
            Route(method="POST", path=PREFIX + "/runs/estimates", handler=self._estimate),
            Route(method="GET", path=PREFIX + "/runs/{run_id}", handler=self._get),
            Route(
                method="POST", path=PREFIX + "/runs/{run_id}/cancellations", handler=self._cancel
            ),
        )

    def fault(self, status: int, request: Request) -> Response:
        """Answer an injected 429 or 5xx in Bland's envelope (§10, §11.20)."""
        del request
        if status == 429:
            return error(429, "RATE_LIMITED", "Rate limit exceeded").response
        return error(status, "INTERNAL_ERROR", "Internal server error").response

    def answer(self, request: Request, match: Match) -> Response:
        """Check the key, then answer the route; raise ApiError with Bland's envelope."""
        key = request.headers.get("authorization", "")
        if not key or key.lower().startswith("bearer ") or " " in key.strip():
            raise error(401, "AUTH_FAILURE", "Unauthorized")
        ungated = match.route is not None and match.route.name == "status"
        if key.startswith(FEATURE_OFF_PREFIX) and not ungated:
            raise error(404, "NOT_FOUND", "Not found")
        if match.route is None:
            raise error(404, "NOT_FOUND", f"No route {request.method} {request.path}")
        return match.call(request, org_of(key))

    # --- handlers --------------------------------------------------------------------

    def _status(self, call: Call) -> Response:
        key = call.request.headers.get("authorization", "")
        enabled = not key.startswith(FEATURE_OFF_PREFIX)
        reason = None if enabled else "Evals is not enabled for this organization"
        return ok({"enabled": enabled, "gate": "evals_enabled", "reason": reason})

    def _create(self, call: Call) -> Response:
        normalised, _ = validate(body_of(call.request))
        if call.request.headers.get("authorization", "").startswith(NO_BILLING_PREFIX):
            raise error(402, "BILLING_REQUIRED", "A billing record is required to run evals")
        run_id = self._store.insert(
            call.caller,
            lambda seq: uuid_of(f"bland:{self._seed}:{seq}"),
            self._clock(),
            normalised,
        )
        return ok(self._run(call.caller, run_id, full=True), status=202)

    def _estimate(self, call: Call) -> Response:
        _, atoms = validate(body_of(call.request))
        return ok(
            {
                "resolved_atom_count": atoms.count,
                "estimated_input_tokens": atoms.count * 2800,
                "estimated_output_tokens": atoms.count * 100,
                "estimated_cost_usd_cents": round(atoms.count * atoms.modality_cost * 100, 4),
            }
        )

    def _get(self, call: Call) -> Response:
        return ok(self._run(call.caller, call.params["run_id"], full=True))

    def _cancel(self, call: Call) -> Response:
        org, run_id = call.caller, call.params["run_id"]
        status = self._render(self._row(org, run_id), full=False)["status"]
        if status in FINISHED:
            raise error(409, "EVAL_RUN_NOT_CANCELLABLE", f"Eval run is {status}")
        if status in ACTIVE:
            self._store.cancel(run_id, self._clock())
        return ok(self._run(org, run_id, full=True))

    # --- read ------------------------------------------------------------------------

    def _row(self, org: str, run_id: str) -> sqlite3.Row:
        row = self._store.row(org, run_id)
        if row is None:
            raise error(404, "EVAL_RUN_NOT_FOUND", "Eval run not found")
        return row

    def _run(self, org: str, run_id: str, *, full: bool) -> dict[str, Any]:
        return self._render(self._row(org, run_id), full=full)

    def _render(self, row: sqlite3.Row, *, full: bool) -> dict[str, Any]:
        final = self._final.get(row["id"])
        if final is not None:
            return final[full]
        request = json.loads(row["request"])
        view = self._lifecycle.view(
            row["id"],
            request,
            created=row["created"],
            cancelled=row["cancelled"],
            now=self._clock(),
        )
        run: dict[str, Any] = {
            "id": row["id"],
            "org_id": row["org"],
            "status": view["status"],
            "triggered_by": row["triggered_by"],
            "run_mode": row["run_mode"],
            "submitted_call_ids": request["call_ids"],
            "submitted_attached_agents": request["attached_agents"],
            "workbench_setup_id": row["setup_id"],
            "workbench_setup_version_id": row["setup_version_id"],
            **{k: v for k, v in view.items() if k != "status"},
            "metadata": request["metadata"],
            "workflow_id": f"wf_{row['id'][:8]}",
            "agent_id": None,
            "agent_version_id": None,
        }
        item = {k: run[k] for k in LIST_FIELDS}
        if view["status"] not in ACTIVE:  # a finished run never changes again: keep its answer
            self._final[row["id"]] = {True: run, False: item}
        return run if full else item

    # --- list ------------------------------------------------------------------------

    def _list(self, call: Call) -> Response:
        org, query = call.caller, call.request.query
        # Unknown query parameters are ignored, as unknown body fields are.
        try:
            limit = int(query.get("limit", "25"))
        except ValueError:
            raise invalid("limit must be an integer between 1 and 100") from None
        if not 1 <= limit <= 100:
            raise invalid("limit must be an integer between 1 and 100")
        after, before = query.get("starting_after"), query.get("ending_before")
        if after is not None and before is not None:
            raise invalid("starting_after and ending_before cannot be combined")
        status = query.get("status")
        if status is not None and status not in STATUSES:
            raise invalid(f"status must be one of {', '.join(STATUSES)}")
        triggered_by = query.get("triggered_by")
        if triggered_by is not None and triggered_by not in TRIGGERS:
            raise invalid("triggered_by must be one of manual, auto, backfill")
        where = Filter(org)
        if (agent := query.get("eval_agent_id")) is not None:
            where.add("instr(agent_ids, ?) > 0", f",{agent},")
        if (setup := query.get("workbench_setup_id")) is not None:
            where.add("setup_id = ?", setup)
        if triggered_by is not None:
            where.add("triggered_by = ?", triggered_by)
        if self.list_order != "newest":
            return self._list_arranged(org, where, status=status, limit=limit, query=query)
        cursor = after or before
        anchor = None
        if cursor is not None:
            found = self._store.row(org, cursor)
            if found is None:
                raise invalid(f"Unknown cursor {cursor}")
            anchor = (found["created"], found["id"])
        ascending = anchor is not None and after is None
        take = limit + 1 if status is None else None
        batch = self._store.page(where, anchor=anchor, after=after is not None, take=take)
        items: list[dict[str, Any]] = []
        more = False
        for row in batch:
            item = self._render(row, full=False)
            if status is not None and item["status"] != status:
                continue
            if len(items) == limit:
                more = True
                break
            items.append(item)
        if ascending:
            items.reverse()
        next_cursor = items[-1]["id"] if more and items and not ascending else None
        if ascending:
            next_cursor = items[-1]["id"] if items else None
        return ok({"object": "list", "data": items, "has_more": more, "next_cursor": next_cursor})

    def _list_arranged(
        self,
        org: str,
        where: Filter,
        *,
        status: str | None,
        limit: int,
        query: Mapping[str, str],
    ) -> Response:
        """Answer a list page in the `oldest` or `shuffled` order (§11.18 leaves it open).

        `oldest` reads a keyset on the index (O(page) without a status filter); `shuffled`
        sorts the organisation's runs on every page (a test order: O(runs)).
        """
        after, before = query.get("starting_after"), query.get("ending_before")
        anchor = None
        if (cursor := after or before) is not None:
            anchor = self._store.row(org, cursor)
            if anchor is None:
                raise invalid(f"Unknown cursor {cursor}")
        if self.list_order == "oldest":
            keyset = None if anchor is None else (anchor["created"], anchor["id"])
            take = limit + 1 if status is None else None
            batch = self._store.oldest(where, anchor=keyset, newer=before is None, take=take)
            found: list[dict[str, Any]] = []
            for row in batch:
                item = self._render(row, full=False)
                if status is None or item["status"] == status:
                    found.append(item)
                if len(found) > limit:
                    break
            if before is not None:  # read backwards from the cursor: put back in list order
                found.reverse()
            return self._arranged_page(found, limit=limit, before=before is not None)
        rows = self._store.every(where)

        def place(row: sqlite3.Row) -> tuple[float | str, str]:
            return position(self.list_order, self._seed, row["created"], row["id"])

        ordered = sorted(rows, key=place)
        if anchor is not None:
            mark = place(anchor)
            ordered = [r for r in ordered if (place(r) > mark if after else place(r) < mark)]
        items = [self._render(row, full=False) for row in ordered]
        if status is not None:
            items = [item for item in items if item["status"] == status]
        return self._arranged_page(items, limit=limit, before=before is not None)

    @staticmethod
    def _arranged_page(items: list[dict[str, Any]], *, limit: int, before: bool) -> Response:
        """Page `items`, in list order past the cursor (before it when `before`)."""
        if before:  # the `limit` items just before the cursor, in list order
            page, more = items[-limit:], len(items) > limit
            next_cursor = page[0]["id"] if page else None
        else:
            page, more = items[:limit], len(items) > limit
            next_cursor = page[-1]["id"] if more and page else None
        return ok({"object": "list", "data": page, "has_more": more, "next_cursor": next_cursor})

    # --- seeding (tests and benchmarks) ------------------------------------------------

    def seed_runs(
        self,
        key: str,
        count: int,
        *,
        metadata: Mapping[str, str] | None = None,
        calls: int = 2,
        spacing_s: float = 1.0,
    ) -> list[str]:
        """Insert `count` runs for `key`, created `spacing_s` apart and ending now."""
        org = org_of(key)
        agent = next(iter(catalogue.AGENTS.values()))
        request = {
            "call_ids": [catalogue.call_id(n) for n in range(1, calls + 1)],
            "attached_agents": [
                {
                    "eval_agent_id": agent.id,
                    "eval_agent_version_id": agent.published_version_id,
                    "weight": 100,
                    "target_level_keys": ["pass"],
                }
            ],
            "run_mode": "text",
            "pass_threshold_pct": None,
            "workbench_setup_id": None,
            "workbench_setup_version_id": None,
            "triggered_by": "manual",
            "metadata": dict(metadata or {}),
        }
        body = json.dumps(request)
        now = self._clock()
        start = self._store.last_seq()
        ids: list[str] = []
        rows: list[tuple[object, ...]] = []
        for n in range(count):
            run_id = uuid_of(f"bland-seed:{self._seed}:{start + n}")
            ids.append(run_id)
            created = now - (count - n) * spacing_s
            rows.append((org, run_id, created, "manual", "text", None, None, f",{agent.id},", body))
        self._store.insert_many(rows)
        return ids

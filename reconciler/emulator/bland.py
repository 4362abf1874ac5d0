"""Bland AI's evals API (`/v1/evals`), written from `shared/providers/bland.md` alone.

Runs are stored once, at creation, with what they were asked to do; their status, progress,
summary and cost are computed when read, from the age of the run (the emulator's clock times
`time_scale`) and a random stream seeded by the emulator seed and the run id. So the same seed
gives the same scores and outcomes, and a run read twice at the same moment reads the same.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator import catalogue
from reconciler.emulator.http import ApiError, Request, Response
from reconciler.emulator.order import check_order, position

PREFIX = "/v1/evals"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATUSES = ("PENDING", "QUEUED", "RUNNING", "COMPLETE", "PARTIAL", "FAILED", "CANCELLED")
ACTIVE = ("PENDING", "QUEUED", "RUNNING")
RUN_MODES = ("text", "audio", "full")
TRIGGERS = ("manual", "auto", "backfill")
FEATURE_OFF_PREFIX = "evals-off-"  # keys of organisations without Evals (every route 404s)
NO_BILLING_PREFIX = "no-billing-"  # keys of organisations without a billing record (402)
COST_PER_ATOM_USD = {"text": 0.002, "audio": 0.006}
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS bland_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    cancelled REAL,
    triggered_by TEXT NOT NULL,
    run_mode TEXT NOT NULL,
    setup_id TEXT,
    setup_version_id TEXT,
    agent_ids TEXT NOT NULL,
    request TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bland_runs_order ON bland_runs (org, created DESC, id DESC);
"""


def _instant(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, {"data": None, "errors": [{"error": code, "message": message}]})


def _invalid(message: str) -> ApiError:
    return _error(400, "VALIDATION_ERROR", message)


def _ok(data: object, status: int = 200) -> Response:
    return Response(status, {"data": data, "errors": None})


def org_of(key: str) -> str:
    """Return the organisation id of an API key (each key is its own organisation)."""
    return "org_" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Atoms:
    """What a run evaluates, fixed at creation."""

    calls: int
    agents: int
    modality_cost: float

    @property
    def count(self) -> int:
        return self.calls * self.agents


@dataclass(frozen=True, slots=True)
class Timeline:
    """A run's fate, drawn once from the seed: phase lengths (emulated s) and its outcome."""

    pending_s: float
    queued_s: float
    running_s: float
    outcome: str  # COMPLETE | PARTIAL | FAILED
    score_mean: float
    match_rate: float
    failed_calls: int
    insufficient: int


def _timeline(seed: int, run_id: str, atoms: Atoms) -> Timeline:
    rng = random.Random(f"{seed}:{run_id}")
    draw = rng.random()
    outcome = "FAILED" if draw < 0.05 else "PARTIAL" if draw < 0.15 else "COMPLETE"
    failed_calls = 0
    if outcome == "PARTIAL":
        failed_calls = max(1, round(atoms.calls * rng.uniform(0.1, 0.4)))
        failed_calls = min(failed_calls, max(atoms.calls - 1, 1))
    elif rng.random() < 0.2:
        failed_calls = min(1, atoms.calls - 1)
    return Timeline(
        pending_s=rng.uniform(2, 6),
        queued_s=rng.choice((0.0, rng.uniform(5, 20))),
        running_s=20 + atoms.count * rng.uniform(1.0, 3.0),
        outcome=outcome,
        score_mean=round(rng.uniform(55, 97), 2),
        match_rate=rng.uniform(0.6, 0.98),
        failed_calls=failed_calls,
        insufficient=rng.choice((0, 0, 0, 1)),
    )


class BlandApi:
    """The `/v1/evals` routes over one SQLite database shared with the other vendors."""

    def __init__(
        self,
        db: sqlite3.Connection,
        lock: threading.Lock,
        *,
        seed: int,
        time_scale: float,
        clock: Callable[[], float],
        list_order: str = "newest",
    ) -> None:
        self._db = db
        self._lock = lock
        self._seed = seed
        self.list_order = check_order(list_order)
        self._time_scale = time_scale
        self._clock = clock
        self._timelines: dict[str, Timeline] = {}
        self._final: dict[str, dict[bool, dict[str, Any]]] = {}
        with lock:
            db.executescript(SCHEMA)

    # --- routing ---------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """Say whether `path` belongs to this API."""
        return path == PREFIX or path.startswith(PREFIX + "/")

    def is_create(self, request: Request) -> bool:
        """Say whether `request` creates a run (the fault a lost create response targets)."""
        return request.method == "POST" and request.path == PREFIX + "/runs"

    def fault(self, status: int, request: Request) -> Response:
        """Answer an injected 429 or 5xx in Bland's envelope (§10, §11.20)."""
        del request
        if status == 429:
            return _error(429, "RATE_LIMITED", "Rate limit exceeded").response
        return _error(status, "INTERNAL_ERROR", "Internal server error").response

    def handle(self, request: Request) -> Response:
        """Answer one request, or raise ApiError with Bland's error envelope."""
        key = request.headers.get("authorization", "")
        if not key or key.lower().startswith("bearer ") or " " in key.strip():
            raise _error(401, "AUTH_FAILURE", "Unauthorized")
        org = org_of(key)
        parts = request.path[len(PREFIX) :].strip("/").split("/")
        if parts == ["status"] and request.method == "GET":
            enabled = not key.startswith(FEATURE_OFF_PREFIX)
            reason = None if enabled else "Evals is not enabled for this organization"
            return _ok({"enabled": enabled, "gate": "evals_enabled", "reason": reason})
        if key.startswith(FEATURE_OFF_PREFIX):
            raise _error(404, "NOT_FOUND", "Not found")
        match request.method, parts:
            case "POST", ["runs"]:
                return self._create(org, key, _body(request))
            case "GET", ["runs"]:
                return self._list(org, request.query)
            case "POST", ["runs", "estimates"]:
                return self._estimate(_body(request))
            case "GET", ["runs", run_id]:
                return _ok(self._run(org, run_id, full=True))
            case "POST", ["runs", run_id, "cancellations"]:
                return self._cancel(org, run_id)
        raise _error(404, "NOT_FOUND", f"No route {request.method} {request.path}")

    # --- create and estimate -------------------------------------------------------------

    def _validate(self, body: object) -> tuple[dict[str, Any], Atoms]:
        """Check a create/estimate body as Bland does (§3.1, §11.13-16); return it normalised."""
        if not isinstance(body, dict):
            raise _invalid("Request body must be a JSON object")
        calls = body.get("call_ids")
        if not isinstance(calls, list) or not all(isinstance(c, str) and c for c in calls):
            raise _invalid("call_ids must be an array of call id strings")
        calls = list(dict.fromkeys(calls))
        if not 1 <= len(calls) <= 5000:
            raise _invalid("call_ids must contain between 1 and 5000 call ids")
        agents = body.get("attached_agents")
        if agents is not None:
            if not isinstance(agents, list) or len(agents) > 50:
                raise _invalid("attached_agents must be an array of at most 50 agents")
            for n, agent in enumerate(agents):
                self._validate_agent(n, agent)
        run_mode = body.get("run_mode", "text")
        if run_mode not in RUN_MODES:
            raise _invalid("run_mode must be one of text, audio, full")
        threshold = body.get("pass_threshold_pct")
        if threshold is not None and not _number_between(threshold, 0, 100):
            raise _invalid("pass_threshold_pct must be a number between 0 and 100")
        setup_id = body.get("workbench_setup_id")
        setup_version_id = body.get("workbench_setup_version_id")
        if (setup_id is None) != (setup_version_id is None):
            raise _invalid(
                "workbench_setup_id and workbench_setup_version_id must be given together"
            )
        for name, value in (
            ("workbench_setup_id", setup_id),
            ("workbench_setup_version_id", setup_version_id),
        ):
            if value is not None and (not isinstance(value, str) or not UUID.match(value)):
                raise _invalid(f"{name} must be a UUID")
        if not agents and setup_version_id is None:
            raise _invalid("attached_agents or workbench_setup_version_id is required")
        triggered_by = body.get("triggered_by", "manual")
        if triggered_by not in TRIGGERS:
            raise _invalid("triggered_by must be one of manual, auto, backfill")
        metadata = body.get("metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise _invalid("metadata keys and values must be strings")
        roster = self._roster(agents, setup_id, setup_version_id)
        for call in calls:
            if not catalogue.call_exists(call):
                raise _error(404, "CALL_NOT_FOUND", f"Call {call} not found")
        modalities = [m for _, m, _ in roster]
        matching = [m for m in modalities if run_mode == "full" or m == run_mode]
        if not matching:
            raise _invalid(f"No attached agent scores run_mode {run_mode}")
        cost = sum(COST_PER_ATOM_USD[m] for m in matching) / len(matching)
        normalised = {
            "call_ids": calls,
            "attached_agents": [
                {"eval_agent_id": a, "eval_agent_version_id": v, **extra}
                for a, _, (v, extra) in ((a, m, e) for a, m, e in roster)
            ],
            "run_mode": run_mode,
            "pass_threshold_pct": threshold,
            "workbench_setup_id": setup_id,
            "workbench_setup_version_id": setup_version_id,
            "triggered_by": triggered_by,
            "metadata": metadata,
        }
        return normalised, Atoms(calls=len(calls), agents=len(matching), modality_cost=cost)

    @staticmethod
    def _validate_agent(n: int, agent: object) -> None:
        where = f"attached_agents[{n}]"
        if not isinstance(agent, dict):
            raise _invalid(f"{where} must be an object")
        agent_id = agent.get("eval_agent_id")
        if not isinstance(agent_id, str) or not UUID.match(agent_id):
            raise _invalid(f"{where}.eval_agent_id must be a UUID")
        version = agent.get("eval_agent_version_id")
        if version is not None and (not isinstance(version, str) or not UUID.match(version)):
            raise _invalid(f"{where}.eval_agent_version_id must be a UUID")
        weight = agent.get("weight")
        if weight is not None and not _number_between(weight, 0, 100):
            raise _invalid(f"{where}.weight must be a number between 0 and 100")
        targets = agent.get("target_level_keys")
        if targets is not None and (
            not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)
        ):
            raise _invalid(f"{where}.target_level_keys must be an array of strings")

    @staticmethod
    def _roster(
        agents: list[dict[str, Any]] | None, setup_id: object, setup_version_id: object
    ) -> list[tuple[str, str, tuple[str, dict[str, Any]]]]:
        """Resolve the judges of a run: (agent id, modality, (version id, weight/targets))."""
        if setup_version_id is not None:
            setup = catalogue.SETUPS.get(str(setup_id))
            if setup is None or setup.version_id != setup_version_id:
                raise _error(404, "WORKBENCH_SETUP_NOT_FOUND", "Workbench setup not found")
            if not agents:
                agents = [{"eval_agent_id": a, "weight": 100} for a in setup.agent_ids]
        roster = []
        for agent in agents or []:
            known = catalogue.AGENTS.get(agent["eval_agent_id"])
            if known is None:
                raise _error(404, "EVAL_AGENT_NOT_FOUND", "Eval agent not found")
            version = agent.get("eval_agent_version_id")
            if version is None:
                if known.published_version_id is None:
                    raise _invalid(f"Eval agent {known.id} has no published version")
                version = known.published_version_id
            elif catalogue.VERSIONS.get(version) != known.id:
                raise _error(404, "EVAL_AGENT_VERSION_NOT_FOUND", "Eval agent version not found")
            extra = {
                "weight": agent.get("weight", 100),
                "target_level_keys": agent.get("target_level_keys", ["pass"]),
            }
            roster.append((known.id, known.modality, (version, extra)))
        return roster

    def _create(self, org: str, key: str, body: object) -> Response:
        normalised, _ = self._validate(body)
        if key.startswith(NO_BILLING_PREFIX):
            raise _error(402, "BILLING_REQUIRED", "A billing record is required to run evals")
        now = self._clock()
        agent_ids = ",".join(a["eval_agent_id"] for a in normalised["attached_agents"])
        with self._lock:
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM bland_runs").fetchone()
            run_id = _uuid(f"bland:{self._seed}:{seq}")
            self._db.execute(
                "INSERT INTO bland_runs (org, id, created, triggered_by, run_mode, setup_id,"
                " setup_version_id, agent_ids, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    org,
                    run_id,
                    now,
                    normalised["triggered_by"],
                    normalised["run_mode"],
                    normalised["workbench_setup_id"],
                    normalised["workbench_setup_version_id"],
                    f",{agent_ids},",
                    json.dumps(normalised),
                ),
            )
            self._db.commit()
        return _ok(self._run(org, run_id, full=True), status=202)

    def _estimate(self, body: object) -> Response:
        _, atoms = self._validate(body)
        return _ok(
            {
                "resolved_atom_count": atoms.count,
                "estimated_input_tokens": atoms.count * 2800,
                "estimated_output_tokens": atoms.count * 100,
                "estimated_cost_usd_cents": round(atoms.count * atoms.modality_cost * 100, 4),
            }
        )

    # --- read ------------------------------------------------------------------------

    def _row(self, org: str, run_id: str) -> sqlite3.Row:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM bland_runs WHERE org = ? AND id = ?", (org, run_id)
            ).fetchone()
        if row is None:
            raise _error(404, "EVAL_RUN_NOT_FOUND", "Eval run not found")
        result: sqlite3.Row = row
        return result

    def _run(self, org: str, run_id: str, *, full: bool) -> dict[str, Any]:
        return self._render(self._row(org, run_id), full=full)

    def _render(self, row: sqlite3.Row, *, full: bool) -> dict[str, Any]:
        final = self._final.get(row["id"])
        if final is not None:
            return final[full]
        request = json.loads(row["request"])
        view = self.view(row["id"], request, row["created"], row["cancelled"])
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

    def view(
        self, run_id: str, request: Mapping[str, Any], created: float, cancelled: float | None
    ) -> dict[str, Any]:
        """Compute a run's status, progress, summary and cost at the current moment."""
        agents = [
            a
            for a in request["attached_agents"]
            if request["run_mode"] == "full"
            or catalogue.AGENTS[a["eval_agent_id"]].modality == request["run_mode"]
        ]
        atoms = Atoms(len(request["call_ids"]), len(agents), 0.0)
        timeline = self._timelines.get(run_id)
        if timeline is None:
            timeline = self._timelines[run_id] = _timeline(self._seed, run_id, atoms)
        now = self._clock()
        age = (now - created) * self._time_scale
        stop_age = (cancelled - created) * self._time_scale if cancelled is not None else None
        at = min(age, stop_age) if stop_age is not None else age
        start = timeline.pending_s
        run_start = start + timeline.queued_s
        end = run_start + timeline.running_s
        done = 0
        if at >= run_start:
            done = min(atoms.count, int(atoms.count * (at - run_start) / timeline.running_s))
        if stop_age is not None and stop_age < end:
            status = "CANCELLED"
        elif at >= end:
            status = timeline.outcome
            done = atoms.count
        elif at >= run_start:
            status = "RUNNING"
        elif at >= start:
            status = "QUEUED"
        else:
            status = "PENDING"
        started = created + start / self._time_scale if at >= start else None
        completed: float | None = None
        if status == "CANCELLED":
            completed = cancelled
        elif status in ("COMPLETE", "PARTIAL", "FAILED"):
            completed = created + end / self._time_scale
        summary = None
        cost = None
        cost_per_atom = sum(
            COST_PER_ATOM_USD[catalogue.AGENTS[a["eval_agent_id"]].modality] for a in agents
        ) / max(len(agents), 1)
        if status in ("COMPLETE", "PARTIAL") or (status == "CANCELLED" and done > 0):
            modalities = {catalogue.AGENTS[a["eval_agent_id"]].modality for a in agents}
            summary = self._summary(request, timeline, atoms, done, modalities)
            cost = round(done * cost_per_atom, 4)
        elif status == "FAILED":
            cost = round(atoms.count * cost_per_atom * 0.1, 4)
        view: dict[str, Any] = {
            "status": status,
            "resolved_call_count": atoms.calls,
            "resolved_agent_count": atoms.agents,
            "resolved_atom_count": atoms.count,
            "completed_atom_count": 0 if status == "FAILED" else done,
            "summary": summary,
            "billable_cost_usd": cost,
            "error_code": "JUDGE_PROVIDER_ERROR" if status == "FAILED" else None,
            "error_message": "Every judge call failed" if status == "FAILED" else None,
            "created_at": _instant(created),
            "started_at": _instant(started) if started is not None else None,
            "completed_at": _instant(completed) if completed is not None else None,
        }
        return view

    @staticmethod
    def _summary(
        request: Mapping[str, Any],
        timeline: Timeline,
        atoms: Atoms,
        done: int,
        modalities: set[str],
    ) -> dict[str, Any]:
        share = done / atoms.count if atoms.count else 0.0
        failed_calls = round(timeline.failed_calls * share)
        scored_calls = max(round(atoms.calls * share) - failed_calls, 0)
        scored_atoms = scored_calls * atoms.agents
        mean = timeline.score_mean if scored_calls else None
        threshold = request.get("pass_threshold_pct")
        return {  # a modality's mean exists only if a judge of that modality scored (§5)
            "overall_score_mean": mean,
            "text_score_mean": mean if "text" in modalities else None,
            "audio_score_mean": mean if "audio" in modalities else None,
            "successful_call_count": scored_calls,
            "failed_call_count": failed_calls,
            "insufficient_evidence_count": min(timeline.insufficient, scored_atoms),
            "target_match_count": round(scored_atoms * timeline.match_rate),
            "pass_threshold_pct": threshold,
            "overall_pass": None if threshold is None or mean is None else mean >= threshold,
        }

    def _list(self, org: str, query: Mapping[str, str]) -> Response:
        allowed = {
            "eval_agent_id",
            "workbench_setup_id",
            "status",
            "triggered_by",
            "limit",
            "starting_after",
            "ending_before",
        }
        del allowed  # unknown query parameters are ignored, as unknown body fields are
        try:
            limit = int(query.get("limit", "25"))
        except ValueError:
            raise _invalid("limit must be an integer between 1 and 100") from None
        if not 1 <= limit <= 100:
            raise _invalid("limit must be an integer between 1 and 100")
        after, before = query.get("starting_after"), query.get("ending_before")
        if after is not None and before is not None:
            raise _invalid("starting_after and ending_before cannot be combined")
        status = query.get("status")
        if status is not None and status not in STATUSES:
            raise _invalid(f"status must be one of {', '.join(STATUSES)}")
        triggered_by = query.get("triggered_by")
        if triggered_by is not None and triggered_by not in TRIGGERS:
            raise _invalid("triggered_by must be one of manual, auto, backfill")
        where, params = ["org = ?"], [org]
        if (agent := query.get("eval_agent_id")) is not None:
            where.append("instr(agent_ids, ?) > 0")
            params.append(f",{agent},")
        if (setup := query.get("workbench_setup_id")) is not None:
            where.append("setup_id = ?")
            params.append(setup)
        if triggered_by is not None:
            where.append("triggered_by = ?")
            params.append(triggered_by)
        if self.list_order != "newest":
            return self._list_arranged(org, where, params, status=status, limit=limit, query=query)
        cursor = after or before
        order = "DESC"
        if cursor is not None:
            with self._lock:
                anchor = self._db.execute(
                    "SELECT created, id FROM bland_runs WHERE org = ? AND id = ?", (org, cursor)
                ).fetchone()
            if anchor is None:
                raise _invalid(f"Unknown cursor {cursor}")
            if after is not None:
                where.append("(created, id) < (?, ?)")
            else:
                where.append("(created, id) > (?, ?)")
                order = "ASC"
            params += [anchor["created"], anchor["id"]]
        sql = (
            f"SELECT * FROM bland_runs WHERE {' AND '.join(where)} "
            f"ORDER BY created {order}, id {order}"
        )
        items: list[dict[str, Any]] = []
        more = False
        with self._lock:
            rows = self._db.execute(sql, params)
            batch = rows.fetchmany(limit + 1) if status is None else rows.fetchall()
        for row in batch:
            item = self._render(row, full=False)
            if status is not None and item["status"] != status:
                continue
            if len(items) == limit:
                more = True
                break
            items.append(item)
        if order == "ASC":
            items.reverse()
        next_cursor = items[-1]["id"] if more and items and order == "DESC" else None
        if order == "ASC":
            next_cursor = items[-1]["id"] if items else None
        return _ok({"object": "list", "data": items, "has_more": more, "next_cursor": next_cursor})

    def _list_arranged(
        self,
        org: str,
        where: list[str],
        params: list[str],
        *,
        status: str | None,
        limit: int,
        query: Mapping[str, str],
    ) -> Response:
        """Answer a list page in the `oldest` or `shuffled` order (§11.18 leaves it open)."""
        after, before = query.get("starting_after"), query.get("ending_before")
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM bland_runs WHERE {' AND '.join(where)}", params
            ).fetchall()
            anchor = None
            if (cursor := after or before) is not None:
                anchor = self._db.execute(
                    "SELECT created, id FROM bland_runs WHERE org = ? AND id = ?", (org, cursor)
                ).fetchone()
                if anchor is None:
                    raise _invalid(f"Unknown cursor {cursor}")

        def place(row: sqlite3.Row) -> tuple[float | str, str]:
            return position(self.list_order, self._seed, row["created"], row["id"])

        ordered = sorted(rows, key=place)
        if anchor is not None:
            mark = place(anchor)
            ordered = [r for r in ordered if (place(r) > mark if after else place(r) < mark)]
        items = [self._render(row, full=False) for row in ordered]
        if status is not None:
            items = [item for item in items if item["status"] == status]
        if before is not None:  # the `limit` items just before the cursor, in list order
            page, more = items[-limit:], len(items) > limit
            next_cursor = page[0]["id"] if page else None
        else:
            page, more = items[:limit], len(items) > limit
            next_cursor = page[-1]["id"] if more and page else None
        return _ok({"object": "list", "data": page, "has_more": more, "next_cursor": next_cursor})

    # --- cancel ----------------------------------------------------------------------

    def _cancel(self, org: str, run_id: str) -> Response:
        row = self._row(org, run_id)
        status = self._render(row, full=False)["status"]
        if status in ("COMPLETE", "PARTIAL", "FAILED"):
            raise _error(409, "EVAL_RUN_NOT_CANCELLABLE", f"Eval run is {status}")
        if status in ACTIVE:
            with self._lock:
                self._db.execute(
                    "UPDATE bland_runs SET cancelled = ? WHERE id = ? AND cancelled IS NULL",
                    (self._clock(), run_id),
                )
                self._db.commit()
        return _ok(self._run(org, run_id, full=True))

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
        ids: list[str] = []
        with self._lock:
            (start,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM bland_runs").fetchone()
            rows = []
            for n in range(count):
                run_id = _uuid(f"bland-seed:{self._seed}:{start + n}")
                ids.append(run_id)
                created = now - (count - n) * spacing_s
                rows.append(
                    (org, run_id, created, "manual", "text", None, None, f",{agent.id},", body)
                )
            self._db.executemany(
                "INSERT INTO bland_runs (org, id, created, triggered_by, run_mode, setup_id,"
                " setup_version_id, agent_ids, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.commit()
        return ids


def _body(request: Request) -> object:
    try:
        return request.json()
    except ApiError:
        raise _invalid("Request body must be valid JSON") from None


def _number_between(value: object, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def _uuid(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return (
        f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{'89ab'[int(digest[16], 16) % 4]}"
        f"{digest[17:20]}-{digest[20:32]}"
    )

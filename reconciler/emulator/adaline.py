"""Adaline's v2 evaluations API (`/v2/prompts/...`, `/v2/datasets`), from `adaline.md` alone.

Runs are stored once, at creation (and stamped once more when cancelled). Their status,
progress, metrics and results are computed when read: each run's fate (dispatch delay, row
times, outcome, per-row grades) is drawn from a random stream seeded by the emulator seed and
the run id, and a workspace's runs share at most five running slots, handed out first come
first served by a schedule computed from the stored runs alone. So the same seed and the same
clock give the same runs, and a run read twice at the same moment reads the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import itertools
import json
import math
import random
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from reconciler.emulator.http import ApiError, Request, Response
from reconciler.emulator.order import check_order, position

PROMPTS = "/v2/prompts"
DATASETS = "/v2/datasets"
STATUSES = ("queued", "running", "completed", "failed", "cancelled", "cancelling")
CANCELLABLE = ("queued", "running")
MAX_RUNNING = 5  # running evaluations per workspace (adaline.md §6, §10.25)
ID_MIN, ID_MAX = 20, 80
LIMIT_DEFAULT, LIMIT_MAX = 50, 200
SORTS = ("createdAt:asc", "createdAt:desc")
RESULT_SORTS = (*SORTS, "score:asc", "score:desc")
GRADES = ("pass", "fail", "unknown")
CREATE_FIELDS = ("evaluatorId", "datasetId")
FAIL_SHARE = 0.1  # share of runs (with rows) that end `failed`
ROW_FAIL_SHARE = 0.04  # share of rows that fail (`failedRows`, graded `unknown` in results)
USD_PER_TOKEN = 0.0000025


# --- Adaline seed catalogue -----------------------------------------------------------
# Every workspace (API key) sees the same prompts, evaluators and datasets. Ids are 20-80
# characters (adaline.md §13.3), fixed and documented in docs/emulator.md.


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    """A prompt, the scope of evaluators and evaluations."""

    id: str
    project_id: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluator:
    """An evaluator of one prompt, linked to exactly one dataset."""

    id: str
    prompt_id: str
    title: str
    dataset_id: str
    status: str  # active | archived
    type: str
    created_at: int  # epoch ms
    updated_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A dataset: its columns and how many rows it holds."""

    id: str
    project_id: str
    title: str
    icon: str
    description: str
    row_count: int
    columns: tuple[str, ...]
    created_at: int
    updated_at: int


PROJECT_ID = "project_storefront_support_0001"
_T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, ms
_DAY = 86_400_000

PROMPTS_BY_ID: dict[str, Prompt] = {
    p.id: p
    for p in (
        Prompt(
            id="prompt_checkout_assistant_0001", project_id=PROJECT_ID, title="Checkout assistant"
        ),
        Prompt(id="prompt_refund_triage_0002", project_id=PROJECT_ID, title="Refund triage"),
        Prompt(id="prompt_retired_greeting_0003", project_id=PROJECT_ID, title="Retired greeting"),
    )
}

DATASETS_BY_ID: dict[str, Dataset] = {
    d.id: d
    for d in (
        Dataset(
            id="dataset_checkout_questions_0001",
            project_id=PROJECT_ID,
            title="Checkout questions",
            icon="🛒",
            description="Shopper questions asked at checkout, with the expected answer",
            row_count=40,
            columns=("customer_message", "cart_total", "expected_answer"),
            created_at=_T0,
            updated_at=_T0 + _DAY,
        ),
        Dataset(
            id="dataset_checkout_edge_cases_0002",
            project_id=PROJECT_ID,
            title="Checkout edge cases",
            icon="🧪",
            description="Empty carts, expired coupons and currency mix-ups",
            row_count=12,
            columns=("customer_message", "cart_total", "expected_answer"),
            created_at=_T0 + 2 * _DAY,
            updated_at=_T0 + 2 * _DAY,
        ),
        Dataset(
            id="dataset_refund_requests_0003",
            project_id=PROJECT_ID,
            title="Refund requests",
            icon="💸",
            description="Refund e-mails labelled with the policy outcome",
            row_count=120,
            columns=("customer_email", "order_age_days", "expected_decision"),
            created_at=_T0 + 3 * _DAY,
            updated_at=_T0 + 5 * _DAY,
        ),
        Dataset(
            id="dataset_empty_placeholder_0004",
            project_id=PROJECT_ID,
            title="Empty placeholder",
            icon="📭",
            description="A dataset without rows",
            row_count=0,
            columns=("customer_message",),
            created_at=_T0 + 4 * _DAY,
            updated_at=_T0 + 4 * _DAY,
        ),
    )
}

EVALUATORS_BY_ID: dict[str, Evaluator] = {
    e.id: e
    for e in (
        Evaluator(
            id="evaluator_checkout_accuracy_0001",
            prompt_id="prompt_checkout_assistant_0001",
            title="Answer accuracy",
            dataset_id="dataset_checkout_questions_0001",
            status="active",
            type="llm-as-a-judge",
            created_at=_T0 + 10 * _DAY,
            updated_at=_T0 + 10 * _DAY,
        ),
        Evaluator(
            id="evaluator_checkout_latency_0002",
            prompt_id="prompt_checkout_assistant_0001",
            title="Latency under 3 s",
            dataset_id="dataset_checkout_edge_cases_0002",
            status="active",
            type="latency",
            created_at=_T0 + 11 * _DAY,
            updated_at=_T0 + 11 * _DAY,
        ),
        Evaluator(
            id="evaluator_checkout_tone_legacy_0003",
            prompt_id="prompt_checkout_assistant_0001",
            title="Tone (legacy)",
            dataset_id="dataset_checkout_questions_0001",
            status="archived",
            type="llm-as-a-judge",
            created_at=_T0 + 12 * _DAY,
            updated_at=_T0 + 20 * _DAY,
        ),
        Evaluator(
            id="evaluator_refund_policy_match_0004",
            prompt_id="prompt_refund_triage_0002",
            title="Policy decision matches",
            dataset_id="dataset_refund_requests_0003",
            status="active",
            type="text-matcher",
            created_at=_T0 + 13 * _DAY,
            updated_at=_T0 + 13 * _DAY,
        ),
        Evaluator(
            id="evaluator_refund_cost_legacy_0005",
            prompt_id="prompt_refund_triage_0002",
            title="Cost per reply (legacy)",
            dataset_id="dataset_refund_requests_0003",
            status="archived",
            type="cost",
            created_at=_T0 + 14 * _DAY,
            updated_at=_T0 + 21 * _DAY,
        ),
        Evaluator(
            id="evaluator_greeting_length_legacy_0006",
            prompt_id="prompt_retired_greeting_0003",
            title="Greeting length (legacy)",
            dataset_id="dataset_checkout_edge_cases_0002",
            status="archived",
            type="response-length",
            created_at=_T0 + 15 * _DAY,
            updated_at=_T0 + 22 * _DAY,
        ),
    )
}


def row_id(dataset_id: str, n: int) -> str:
    """Return the id of row `n` (0-based) of a dataset."""
    return f"{dataset_id}_row_{n + 1:05d}"


_SAMPLES = (
    "Can I pay with two cards?",
    "Why was my coupon rejected?",
    "Is shipping free over 50 euros?",
    "Can I change the delivery address after paying?",
    "Do you charge VAT for Norway?",
)


def row_values(dataset: Dataset, n: int) -> dict[str, object]:
    """Return the values of row `n` of a dataset (made up, fixed)."""
    values: dict[str, object] = {}
    for column in dataset.columns:
        if column.endswith(("_total", "_days")):
            values[column] = (n * 37) % 500 + 1
        elif column.startswith("expected"):
            values[column] = ("approve", "decline", "escalate")[n % 3]
        else:
            values[column] = f"{_SAMPLES[n % len(_SAMPLES)]} (#{n + 1})"
    return values


# --- the rest ---------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS adaline_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    prompt_id TEXT NOT NULL,
    evaluator_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    total_rows INTEGER NOT NULL,
    submitted REAL NOT NULL,
    submitted_ms INTEGER NOT NULL,
    cancelled REAL
);
CREATE INDEX IF NOT EXISTS adaline_runs_order
    ON adaline_runs (workspace, prompt_id, submitted_ms, id);
"""


def workspace_of(key: str) -> str:
    """Return the workspace of an API key (each key is its own workspace)."""
    return "ws_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _ms(epoch: float) -> int:
    return math.floor(epoch * 1000)


def _error(
    status: int, code: str, message: str, details: Sequence[Mapping[str, str]] | None = None
) -> ApiError:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = [dict(d) for d in details]
    return ApiError(status, {"error": error})


def _invalid(field: str, issue: str) -> ApiError:
    return _error(400, "VALIDATION_ERROR", f"{field}: {issue}", [{"field": field, "issue": issue}])


def _not_found(what: str) -> ApiError:
    return _error(404, "RESOURCE_NOT_FOUND", f"{what} not found")


def _id_issue(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not ID_MIN <= len(value) <= ID_MAX:
        return f"must be {ID_MIN}-{ID_MAX} characters long"
    return None


def _check_id(field: str, value: object) -> str:
    issue = _id_issue(value)
    if issue is not None:
        raise _invalid(field, issue)
    assert isinstance(value, str)
    return value


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What happens to one dataset row in one run."""

    failed: bool
    grade: str
    score: float
    reason: str
    cost: float
    latency: int
    tokens: int


@dataclass(frozen=True, slots=True)
class Fate:
    """A run's fate, drawn once from the seed; times in emulated seconds."""

    dispatch_s: float  # from submission until it may take a slot
    setup_s: float  # from start until the first row begins
    row_s: float  # per row
    fail_after: int | None  # rows processed before the run fails; None: it completes
    rows: tuple[RowOutcome, ...]


_REASONS = {
    "pass": "The response matches the expected answer.",
    "fail": "The response contradicts the expected answer.",
    "unknown": "The judge could not decide from the response.",
}
FAILED_ROW_REASON = "The prompt call for this row failed; no grade was given."


def _fate(seed: int, run_id: str, total_rows: int) -> Fate:
    rng = random.Random(f"adaline:{seed}:{run_id}")
    dispatch_s = rng.uniform(1, 4)
    setup_s = rng.uniform(1, 3)
    row_s = rng.uniform(0.5, 2.0)
    fail_after = None
    if total_rows and rng.random() < FAIL_SHARE:
        fail_after = rng.randrange(total_rows)
    rows = []
    for _ in range(total_rows):
        if rng.random() < ROW_FAIL_SHARE:
            latency = rng.randint(1000, 5000)
            rows.append(RowOutcome(True, "unknown", 0.0, FAILED_ROW_REASON, 0.0, latency, 0))
            continue
        draw = rng.random()
        grade = "pass" if draw < 0.75 else "fail" if draw < 0.95 else "unknown"
        low, high = {"pass": (0.7, 1.0), "fail": (0.0, 0.5), "unknown": (0.4, 0.6)}[grade]
        tokens = rng.randint(300, 1500)
        rows.append(
            RowOutcome(
                failed=False,
                grade=grade,
                score=round(rng.uniform(low, high), 3),
                reason=_REASONS[grade],
                cost=round(tokens * USD_PER_TOKEN, 6),
                latency=rng.randint(400, 4000),
                tokens=tokens,
            )
        )
    return Fate(dispatch_s, setup_s, row_s, fail_after, tuple(rows))


@dataclass(frozen=True, slots=True)
class Slot:
    """Where the schedule put a run; times are clock seconds."""

    start: float | None  # None: cancelled while queued, never started
    rows_from: float  # when row 0 begins
    row_s: float  # seconds per row on the clock
    finish: float  # when it reaches its terminal status
    final: str  # completed | failed | cancelled
    processed: int  # rows processed (completed + failed) at the end
    cancelled: float | None

    def status(self, now: float) -> str:
        """Return the run's status at `now`."""
        if self.start is None:
            return "queued" if now < self.finish else self.final
        if now < self.start:
            return "queued"
        if now < self.finish:
            if self.cancelled is not None and now >= self.cancelled:
                return "cancelling"
            return "running"
        return self.final

    def processed_at(self, now: float) -> int:
        """Return how many rows are processed at `now`."""
        if self.start is None or now < self.rows_from:
            return 0
        if now >= self.finish:
            return self.processed
        if self.row_s <= 0:
            return self.processed
        return min(self.processed, math.floor((now - self.rows_from) / self.row_s))


def _slot(fate: Fate, start: float | None, cancelled: float | None, scale: float) -> Slot:
    """Place a run that starts at `start` (or never, when None) and may be cancelled."""
    row_s = fate.row_s / scale
    if start is None:
        assert cancelled is not None
        return Slot(None, 0.0, row_s, cancelled, "cancelled", 0, cancelled)
    rows_from = start + fate.setup_s / scale
    total = len(fate.rows)
    if fate.fail_after is None:
        limit, finish, final = total, rows_from + total * row_s, "completed"
    else:
        limit = fate.fail_after
        finish, final = rows_from + (limit + 0.5) * row_s, "failed"
    if cancelled is None or cancelled >= finish:
        return Slot(start, rows_from, row_s, finish, final, limit, None)
    # Cancelled while running: the row in flight finishes, no new row starts (§10.10).
    if cancelled < rows_from:
        return Slot(start, rows_from, row_s, cancelled, "cancelled", 0, cancelled)
    in_flight = math.floor((cancelled - rows_from) / row_s)
    if in_flight < limit:
        processed = in_flight + 1
        drain = max(rows_from + processed * row_s, cancelled)
    else:
        processed, drain = limit, cancelled
    return Slot(start, rows_from, row_s, drain, "cancelled", processed, cancelled)


class _Pager:
    """Keyset paging with opaque cursors bound to what was asked (§10.19)."""

    def __init__(
        self,
        query: Mapping[str, str],
        scope: Sequence[object],
        sorts: Sequence[str],
        default: str = "createdAt:desc",
    ) -> None:
        self.limit = _limit(query)
        self.sort = query.get("sort", default)
        if self.sort not in sorts:
            raise _invalid("sort", f"must be one of {', '.join(sorts)}")
        self.descending = self.sort.endswith(":desc")
        material = json.dumps([*scope, self.sort, self.limit], separators=(",", ":"))
        self.scope = hashlib.sha256(material.encode()).hexdigest()[:16]
        self.anchor: list[Any] | None = None
        cursor = query.get("cursor")
        if cursor is not None:
            if not cursor:
                raise _invalid("cursor", "must be at least 1 character long")
            self.anchor = self._decode(cursor)

    def _decode(self, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
        except (ValueError, binascii.Error):
            data = None
        if (
            not isinstance(data, dict)
            or data.get("s") != self.scope
            or not isinstance(data.get("a"), list)
            or len(data["a"]) != 2
        ):
            raise _error(400, "INVALID_CURSOR", "The cursor is invalid for this request")
        anchor: list[Any] = data["a"]
        return anchor

    def page(
        self, items: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[Any, str]]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Return one page of `items` (in any order) and its pagination object."""
        ordered = sorted(items, key=key, reverse=self.descending)
        if self.anchor is not None:
            anchor = (self.anchor[0], self.anchor[1])
            if self.descending:
                ordered = [i for i in ordered if key(i) < anchor]
            else:
                ordered = [i for i in ordered if key(i) > anchor]
        page = ordered[: self.limit]
        more = len(ordered) > self.limit
        cursor = None
        if more:
            raw = json.dumps({"s": self.scope, "a": list(key(page[-1]))}, separators=(",", ":"))
            cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        pagination = {
            "limit": self.limit,
            "returned": len(page),
            "hasMore": more,
            "nextCursor": cursor,
        }
        return page, pagination


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise _invalid(name, "must be an integer") from None
    if number < 0:
        raise _invalid(name, "must be at least 0")
    return number


def _limit(query: Mapping[str, str]) -> int:
    value = query.get("limit")
    if value is None:
        return LIMIT_DEFAULT
    try:
        limit = int(value)
    except ValueError:
        raise _invalid("limit", "must be an integer") from None
    if not 1 <= limit <= LIMIT_MAX:
        raise _invalid("limit", f"must be between 1 and {LIMIT_MAX}")
    return limit


def _created_range(query: Mapping[str, str]) -> tuple[int | None, int | None]:
    return _int_param(query, "createdAfter"), _int_param(query, "createdBefore")


def _in_range(value: int, after: int | None, before: int | None) -> bool:
    """createdAfter is inclusive, createdBefore exclusive (§10.17)."""
    return (after is None or value >= after) and (before is None or value < before)


def _uuid(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return (
        f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{'89ab'[int(digest[16], 16) % 4]}"
        f"{digest[17:20]}-{digest[20:32]}"
    )


class AdalineApi:
    """The `/v2/prompts` and `/v2/datasets` routes over the SQLite database of the emulator."""

    def __init__(
        self,
        db: sqlite3.Connection,
        lock: threading.Lock,
        *,
        seed: int,
        time_scale: float,
        clock: Callable[[], float],
        list_order: str = "newest",
        omit_dataset_id: bool = False,
    ) -> None:
        self._db = db
        self._lock = lock
        self._seed = seed
        self._time_scale = time_scale
        self._clock = clock
        self.list_order = check_order(list_order)  # "newest": as `sort` asks (§10.18)
        self.omit_dataset_id = omit_dataset_id  # §2: datasetId "may be absent"
        self._fates: dict[str, Fate] = {}
        self._schedules: dict[str, tuple[tuple[Any, ...], dict[str, Slot]]] = {}
        self._requests = itertools.count(1)
        with lock:
            db.executescript(SCHEMA)

    # --- routing ---------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """Say whether `path` belongs to this API (Arize's /v2 routes are not ours)."""
        return any(path == p or path.startswith(p + "/") for p in (PROMPTS, DATASETS))

    def is_create(self, request: Request) -> bool:
        """Say whether `request` creates runs (the fault a lost create response targets)."""
        parts = request.path.split("/")
        return (
            request.method == "POST"
            and len(parts) == 5
            and parts[2] == "prompts"
            and parts[4] == "evaluations"
        )

    def fault(self, status: int, request: Request) -> Response:
        """Answer an injected 429 or 5xx in Adaline's envelope (§5, §10.27)."""
        del request
        if status == 429:
            return _error(429, "RATE_LIMITED", "Rate limit exceeded.").response
        return _error(status, "INTERNAL_ERROR", "Internal server error.").response

    def handle(self, request: Request) -> Response:
        """Answer one request, or raise ApiError with Adaline's error envelope."""
        request_id = _uuid(f"adaline-request:{self._seed}:{next(self._requests)}")
        try:
            response = self._handle(request)
        except ApiError as error:
            answer = error.response
            raise ApiError(
                answer.status, answer.body, headers={**answer.headers, "x-request-id": request_id}
            ) from None
        return Response(response.status, response.body, {"x-request-id": request_id})

    def _handle(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _error(401, "AUTHENTICATION_REQUIRED", "Invalid or missing API key.")
        workspace = workspace_of(token.strip())
        parts = [unquote(p) for p in request.path.split("/")[2:]]  # after "/v2"
        query = request.query
        match request.method, parts:
            case "GET", ["datasets"]:
                return self._datasets(query)
            case "GET", ["datasets", dataset_id]:
                return Response(200, self._dataset(_check_id("datasetId", dataset_id), full=True))
            case "GET", ["prompts", prompt_id, "evaluators"]:
                return self._evaluators(self._prompt(prompt_id), query)
            case "GET", ["prompts", prompt_id, "evaluators", evaluator_id]:
                prompt = self._prompt(prompt_id, evaluatorId=evaluator_id)
                return Response(200, _evaluator_json(self._evaluator(prompt, evaluator_id), True))
            case "POST", ["prompts", prompt_id, "evaluations"]:
                return self._create(workspace, prompt_id, request)
            case "GET", ["prompts", prompt_id, "evaluations"]:
                return self._list(workspace, prompt_id, query)
            case "GET", ["prompts", prompt_id, "evaluations", run_id]:
                self._prompt(prompt_id, evaluationId=run_id)
                return Response(200, self._evaluation(workspace, prompt_id, run_id))
            case "POST", ["prompts", prompt_id, "evaluations", run_id, "cancel"]:
                self._prompt(prompt_id, evaluationId=run_id)
                return self._cancel(workspace, prompt_id, run_id)
            case "GET", ["prompts", prompt_id, "evaluations", run_id, "results"]:
                self._prompt(prompt_id, evaluationId=run_id)
                return self._results(workspace, prompt_id, run_id, query)
        raise _error(404, "RESOURCE_NOT_FOUND", f"No route {request.method} {request.path}")

    # --- catalogue look-ups (§3.6) -----------------------------------------------------

    @staticmethod
    def _prompt(prompt_id: str, **other_ids: str) -> Prompt:
        """Validate the path ids (400) first, then find the prompt (404, §10.5)."""
        _check_id("promptId", prompt_id)
        for field, value in other_ids.items():
            _check_id(field, value)
        prompt = PROMPTS_BY_ID.get(prompt_id)
        if prompt is None:
            raise _not_found("Prompt")
        return prompt

    @staticmethod
    def _evaluator(prompt: Prompt, evaluator_id: str) -> Evaluator:
        evaluator = EVALUATORS_BY_ID.get(evaluator_id)
        if evaluator is None or evaluator.prompt_id != prompt.id:
            raise _not_found("Evaluator")
        return evaluator

    @staticmethod
    def _dataset(dataset_id: str, *, full: bool) -> dict[str, Any]:
        dataset = DATASETS_BY_ID.get(dataset_id)
        if dataset is None:
            raise _not_found("Dataset")
        return _dataset_json(dataset, full)

    def _evaluators(self, prompt: Prompt, query: Mapping[str, str]) -> Response:
        after, before = _created_range(query)
        pager = _Pager(query, ("evaluators", prompt.id, after, before), SORTS)
        items = [
            _evaluator_json(e, False)
            for e in EVALUATORS_BY_ID.values()
            if e.prompt_id == prompt.id and _in_range(e.created_at, after, before)
        ]
        page, pagination = pager.page(items, lambda i: (i["createdAt"], i["id"]))
        return Response(200, {"evaluators": page, "pagination": pagination})

    def _datasets(self, query: Mapping[str, str]) -> Response:
        project = query.get("projectId")
        if project is None:
            raise _invalid("projectId", "is required")
        _check_id("projectId", project)
        after, before = _created_range(query)
        pager = _Pager(query, ("datasets", project, after, before), SORTS)
        if project != PROJECT_ID:
            raise _not_found("Project")
        items = [
            _dataset_json(d, False)
            for d in DATASETS_BY_ID.values()
            if d.project_id == project and _in_range(d.created_at, after, before)
        ]
        page, pagination = pager.page(items, lambda i: (i["createdAt"], i["id"]))
        return Response(200, {"datasets": page, "pagination": pagination})

    # --- create ----------------------------------------------------------------------

    def _create(self, workspace: str, prompt_id: str, request: Request) -> Response:
        _check_id("promptId", prompt_id)
        try:
            body = request.json()
        except ApiError:
            raise _invalid("body", "must be valid JSON") from None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise _invalid("body", "must be a JSON object")
        details = [
            {"field": name, "issue": "is not a recognised field"}
            for name in body
            if name not in CREATE_FIELDS
        ]
        for name in CREATE_FIELDS:
            if name in body and (issue := _id_issue(body[name])) is not None:
                details.append({"field": name, "issue": issue})
        if details:
            message = "; ".join(f"{d['field']}: {d['issue']}" for d in details)
            raise _error(400, "VALIDATION_ERROR", message, details)
        prompt = self._prompt(prompt_id)
        evaluator_id: str | None = body.get("evaluatorId")
        dataset_id: str | None = body.get("datasetId")
        if evaluator_id is not None:
            evaluator = self._evaluator(prompt, evaluator_id)
            if evaluator.status != "active":
                raise _invalid("evaluatorId", f"evaluator is {evaluator.status}")
            evaluators = [evaluator]
        else:  # every active evaluator of the prompt (§3.1, §10.3)
            evaluators = [
                e
                for e in EVALUATORS_BY_ID.values()
                if e.prompt_id == prompt.id and e.status == "active"
            ]
            if not evaluators:
                raise _invalid("evaluatorId", "the prompt has no active evaluator")
        if dataset_id is not None and dataset_id not in DATASETS_BY_ID:
            raise _not_found("Dataset")
        now = self._clock()
        ids: list[str] = []
        with self._lock:
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM adaline_runs").fetchone()
            rows = []
            for n, chosen in enumerate(evaluators, start=seq + 1):
                run_id = _uuid(f"adaline:{self._seed}:{n}")
                ids.append(run_id)
                dataset = DATASETS_BY_ID[dataset_id or chosen.dataset_id]
                rows.append(
                    (workspace, run_id, prompt.id, chosen.id, dataset.id, dataset.row_count, now)
                )
            self._insert(rows)
        return Response(202, self._evaluation(workspace, prompt.id, ids[0]))

    def _insert(self, rows: Sequence[tuple[str, str, str, str, str, int, float]]) -> None:
        """Insert runs; the caller holds the lock."""
        self._db.executemany(
            "INSERT INTO adaline_runs (workspace, id, prompt_id, evaluator_id, dataset_id,"
            " total_rows, submitted, submitted_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, _ms(row[6])) for row in rows],
        )
        self._db.commit()

    # --- schedule and rendering --------------------------------------------------------

    def _fate(self, run_id: str, total_rows: int) -> Fate:
        fate = self._fates.get(run_id)
        if fate is None:
            fate = self._fates[run_id] = _fate(self._seed, run_id, total_rows)
        return fate

    def _schedule(self, workspace: str) -> dict[str, Slot]:
        """Place every run of a workspace on its five slots, first come first served (§10.25)."""
        with self._lock:
            version = tuple(
                self._db.execute(
                    "SELECT COUNT(*), MAX(seq), COUNT(cancelled), SUM(cancelled)"
                    " FROM adaline_runs WHERE workspace = ?",
                    (workspace,),
                ).fetchone()
            )
            cached = self._schedules.get(workspace)
            if cached is not None and cached[0] == version:
                return cached[1]
            rows = self._db.execute(
                "SELECT id, total_rows, submitted, cancelled FROM adaline_runs"
                " WHERE workspace = ? ORDER BY submitted, seq",
                (workspace,),
            ).fetchall()
        free = [0.0] * MAX_RUNNING  # when each slot frees, as a heap
        slots: dict[str, Slot] = {}
        for row in rows:
            fate = self._fate(row["id"], row["total_rows"])
            cancelled = row["cancelled"]
            earliest = heapq.heappop(free)
            start = max(row["submitted"] + fate.dispatch_s / self._time_scale, earliest)
            if cancelled is not None and cancelled < start:  # cancelled while queued
                heapq.heappush(free, earliest)
                slots[row["id"]] = _slot(fate, None, cancelled, self._time_scale)
                continue
            slot = _slot(fate, start, cancelled, self._time_scale)
            heapq.heappush(free, slot.finish)
            slots[row["id"]] = slot
        with self._lock:
            self._schedules[workspace] = (version, slots)
        return slots

    def _row(self, workspace: str, prompt_id: str, run_id: str) -> sqlite3.Row:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM adaline_runs WHERE workspace = ? AND prompt_id = ? AND id = ?",
                (workspace, prompt_id, run_id),
            ).fetchone()
        if row is None:  # unknown, another workspace's, or under another prompt (§10.6)
            raise _not_found("Evaluation")
        result: sqlite3.Row = row
        return result

    def _evaluation(self, workspace: str, prompt_id: str, run_id: str) -> dict[str, Any]:
        row = self._row(workspace, prompt_id, run_id)
        return self._render(row, self._schedule(workspace)[run_id], self._clock())

    def _render(self, row: sqlite3.Row, slot: Slot, now: float) -> dict[str, Any]:
        fate = self._fate(row["id"], row["total_rows"])
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
                "startedAt": _ms(slot.start) if started and slot.start is not None else None,
                "finishedAt": _ms(slot.finish) if now >= slot.finish else None,
            },
        }
        if self.omit_dataset_id:
            del evaluation["datasetId"]
        return evaluation

    # --- list, cancel, results ----------------------------------------------------------

    def _list(self, workspace: str, prompt_id: str, query: Mapping[str, str]) -> Response:
        _check_id("promptId", prompt_id)
        status = query.get("status")
        if status is not None and status not in STATUSES:
            raise _invalid("status", f"must be one of {', '.join(STATUSES)}")
        evaluator_id = query.get("evaluatorId")
        dataset_id = query.get("datasetId")
        if evaluator_id is not None:
            _check_id("evaluatorId", evaluator_id)
        if dataset_id is not None:
            _check_id("datasetId", dataset_id)
        after, before = _created_range(query)
        scope = ("evaluations", workspace, prompt_id, status, evaluator_id, dataset_id)
        pager = _Pager(query, (*scope, after, before), SORTS)
        prompt = self._prompt(prompt_id)
        if evaluator_id is not None:
            self._evaluator(prompt, evaluator_id)
        if dataset_id is not None and dataset_id not in DATASETS_BY_ID:
            raise _not_found("Dataset")
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
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, submitted_ms FROM adaline_runs WHERE {' AND '.join(where)}", params
            ).fetchall()
        schedule = self._schedule(workspace)
        now = self._clock()
        keys = [
            {"id": r["id"], "at": r["submitted_ms"]}
            for r in rows
            if status is None or schedule[r["id"]].status(now) == status
        ]

        def place(item: dict[str, Any]) -> tuple[Any, str]:
            return position(self.list_order, self._seed, item["at"], item["id"])

        if self.list_order != "newest":  # the vendor ignores `sort` (docs/emulator.md)
            pager.descending = False
        page, pagination = pager.page(keys, place)
        items = [
            self._render(self._row(workspace, prompt_id, k["id"]), schedule[k["id"]], now)
            for k in page
        ]
        return Response(200, {"evaluations": items, "pagination": pagination})

    def _cancel(self, workspace: str, prompt_id: str, run_id: str) -> Response:
        self._row(workspace, prompt_id, run_id)
        now = self._clock()
        status = self._schedule(workspace)[run_id].status(now)
        if status == "cancelling":  # idempotent (§10.9)
            return Response(200, self._evaluation(workspace, prompt_id, run_id))
        if status not in CANCELLABLE:  # terminal (§10.8)
            raise _invalid("status", f"evaluation is not cancellable in status {status}")
        with self._lock:
            self._db.execute(
                "UPDATE adaline_runs SET cancelled = ? WHERE id = ? AND cancelled IS NULL",
                (now, run_id),
            )
            self._db.commit()
        run = self._evaluation(workspace, prompt_id, run_id)
        if run["status"] == "cancelled":  # nothing was in flight: it went at once (§10.10)
            run["status"] = "cancelling"  # ... but the cancel itself answers `cancelling`
            run["timeline"]["finishedAt"] = None
        return Response(200, run)

    def _results(
        self, workspace: str, prompt_id: str, run_id: str, query: Mapping[str, str]
    ) -> Response:
        grade = query.get("grade")
        if grade is not None and grade not in GRADES:
            raise _invalid("grade", f"must be one of {', '.join(GRADES)}")
        expand = query.get("expand")
        if expand is not None and expand != "row":
            raise _invalid("expand", "must be row")
        scope = ("results", workspace, prompt_id, run_id, grade, expand)
        pager = _Pager(query, scope, RESULT_SORTS, "createdAt:asc")
        row = self._row(workspace, prompt_id, run_id)
        slot = self._schedule(workspace)[run_id]
        fate = self._fate(run_id, row["total_rows"])
        dataset = DATASETS_BY_ID[row["dataset_id"]]
        items = []
        for n, outcome in enumerate(fate.rows[: slot.processed_at(self._clock())]):
            if grade is not None and outcome.grade != grade:
                continue
            item: dict[str, Any] = {
                "id": _uuid(f"adaline-result:{run_id}:{n}"),
                "rowId": row_id(dataset.id, n),
                "grade": outcome.grade,
                "score": outcome.score,
                "reason": outcome.reason,
                "cost": outcome.cost,
                "latency": outcome.latency,
                "tokenCount": outcome.tokens,
                "createdAt": _ms(slot.rows_from + (n + 1) * slot.row_s),
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
        with self._lock:
            (start,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM adaline_runs").fetchone()
            rows = []
            for n in range(count):
                run_id = _uuid(f"adaline-seed:{self._seed}:{start + n}")
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
            self._insert(rows)
        return ids


def _evaluator_json(evaluator: Evaluator, full: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": evaluator.id,
        "promptId": evaluator.prompt_id,
        "title": evaluator.title,
        "datasetId": evaluator.dataset_id,
        "status": evaluator.status,
        "createdAt": evaluator.created_at,
        "updatedAt": evaluator.updated_at,
    }
    if full:
        item["config"] = {"type": evaluator.type}
    return item


def _dataset_json(dataset: Dataset, full: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": dataset.id,
        "projectId": dataset.project_id,
        "title": dataset.title,
        "icon": dataset.icon,
        "description": dataset.description,
        "rowCount": dataset.row_count,
        "createdAt": dataset.created_at,
        "updatedAt": dataset.updated_at,
    }
    if full:
        item["columns"] = [{"name": c} for c in dataset.columns]
    return item

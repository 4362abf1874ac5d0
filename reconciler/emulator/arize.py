"""Arize AX's tasks and task-runs API (v2), written from `shared/providers/arize.md` alone.

Routes: `/v2/tasks...`, `/v2/task-runs...` and `/v2/experiments...` (arize.md §3, §12.9). The
tasks, spaces, projects, datasets and seed experiments form a fixed catalogue (below) that every
API key sees; runs are stored once, at trigger time, in the `arize_runs` table of the shared
database. Like Bland's, a run's status, counts, timestamps and experiment are computed when read,
from the run's age (the emulator's clock times `time_scale`) and a random stream seeded by the
emulator seed and the run id: the same seed gives the same outcomes, and a run read twice at the
same moment reads the same.

Runs are visible to every key (they belong to the task, not to the caller); a run's
`created_by_user_id` is derived from the key that triggered it (`user_id_of`), which is how a
client recognises its own runs (arize.md §8).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from reconciler.emulator.http import ApiError, Request, Response
from reconciler.emulator.order import check_order, position

PREFIXES = ("/v2/tasks", "/v2/task-runs", "/v2/experiments")
STATUSES = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
ACTIVE = ("PENDING", "RUNNING")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
EVALUATION_TYPES = ("TEMPLATE_EVALUATION", "CODE_EVALUATION")
TASK_TYPES = (*EVALUATION_TYPES, "RUN_EXPERIMENT")
EVALUATION_FIELDS = frozenset(
    {"data_start_time", "data_end_time", "max_spans", "override_evaluations", "experiment_ids"}
)
EXPERIMENT_FIELDS = frozenset(
    {
        "experiment_name",
        "dataset_version_id",
        "example_ids",
        "max_examples",
        "tracing_metadata",
        "evaluation_task_ids",
        "query_filter",
    }
)
DEFAULT_MAX_SPANS = 10_000
MAX_WINDOW = timedelta(days=30)
MAX_FILTER_CHARS = 255
REVOKED_PREFIX = "revoked-"  # keys that are unknown, expired or revoked: every route is 401
ERRORS_URL = "https://arize.com/docs/ax/rest-reference/errors#"
PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "invalid-request"),
    401: ("Authentication required", "authentication-required"),
    403: ("Access forbidden", "access-forbidden"),
    404: ("Resource not found", "resource-not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    409: ("Resource conflict", "resource-conflict"),
    422: ("Unprocessable entity", "unprocessable-entity"),
    429: ("Too many requests", "rate-limit-exceeded"),
    500: ("Internal server error", "service-unavailable"),
    502: ("Bad gateway", "service-unavailable"),
    503: ("Service unavailable", "service-unavailable"),
    504: ("Gateway timeout", "service-unavailable"),
}
USER_CANCEL_REASON = "Cancelled by user"
NOTHING_TO_LABEL_REASON = (
    "No new data to evaluate: every matching span already has labels from this task."
    " Trigger the task again with override_evaluations set to true to re-evaluate them."
)
EVALUATION_FAILURE_REASON = "Evaluator LLM call failed: provider returned HTTP 500 after 3 retries"
EXPERIMENT_FAILURE_REASON = "Experiment failed: the LLM generation step errored on every example"
DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
)
GLOBAL_ID = re.compile(r"^([A-Za-z]+):(\d+):([A-Za-z0-9]+)$")
EXPERIMENT_NAME_FORBIDDEN = ('"', "\\")

SCHEMA = """
CREATE TABLE IF NOT EXISTS arize_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    task_id TEXT NOT NULL,
    created REAL NOT NULL,
    cancelled REAL,
    user_id TEXT,
    data_start_ms INTEGER,
    data_end_ms INTEGER,
    dataset_id TEXT,
    experiment_name TEXT,
    request TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS arize_runs_order ON arize_runs (task_id, created DESC, id DESC);
CREATE INDEX IF NOT EXISTS arize_runs_experiments ON arize_runs (dataset_id, experiment_name);
"""


def global_id(kind: str, n: int, tag: str) -> str:
    """Return an Arize-style global id: standard base64 of `Kind:n:tag` (arize.md §1)."""
    return base64.b64encode(f"{kind}:{n}:{tag}".encode()).decode()


def user_id_of(key: str) -> str:
    """Return the user id of an API key: base64 of `User:<n>:<tag>` from the key's SHA-256.

    `n` is the first 5 hex digits of sha256(key) read as a number, `tag` the next 4 hex digits.
    A client learns its id from the `created_by_user_id` of its first trigger answer.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    return global_id("User", int(digest[:5], 16), digest[5:9])


# --- Arize seed catalogue ---------------------------------------------------------------------
# Fixed ids, documented in docs/emulator.md ("## Arize"). Every API key sees all of it.

CATALOGUE_TAG = "seed"
CATALOGUE_USER_ID = global_id("User", 1, CATALOGUE_TAG)
CATALOGUE_EPOCH = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True, kw_only=True)
class Space:
    """A space: tasks, projects and datasets live in one."""

    id: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A tracing project (the data of project-based evaluation tasks)."""

    id: str
    name: str
    space_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A dataset with its versions (oldest first; the last is the latest) and example count."""

    id: str
    name: str
    space_id: str
    version_ids: tuple[str, ...]
    example_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    """An experiment that exists from the start (not made by a run of the emulator)."""

    id: str
    name: str
    space_id: str
    dataset_id: str
    dataset_version_id: str
    created: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """A task of the catalogue, with the space it is listed under (not a field of a Task)."""

    id: str
    name: str
    type: str
    space_id: str
    created: float
    project_id: str | None = None
    dataset_id: str | None = None
    sampling_rate: float | None = None
    is_continuous: bool = False
    query_filter: str | None = None
    evaluators: tuple[Mapping[str, Any], ...] = ()
    experiment_ids: tuple[str, ...] = ()
    run_configuration: Mapping[str, Any] | None = field(default=None)


def _evaluator(n: int, name: str, mappings: Mapping[str, str] | None) -> dict[str, Any]:
    return {
        "evaluator_id": global_id("Evaluator", n, CATALOGUE_TAG),
        "evaluator_name": name,
        "evaluator_version_id": None,
        "query_filter": None,
        "column_mappings": dict(mappings) if mappings is not None else None,
    }


SPACE_MAIN = global_id("Space", 1, CATALOGUE_TAG)
SPACE_SANDBOX = global_id("Space", 2, CATALOGUE_TAG)
SPACES: dict[str, Space] = {
    s.id: s
    for s in (
        Space(id=SPACE_MAIN, name="emulator-main"),
        Space(id=SPACE_SANDBOX, name="emulator-sandbox"),
    )
}

PROJECT_SUPPORT = global_id("Project", 11, CATALOGUE_TAG)
PROJECT_SANDBOX = global_id("Project", 12, CATALOGUE_TAG)
PROJECTS: dict[str, Project] = {
    p.id: p
    for p in (
        Project(id=PROJECT_SUPPORT, name="support-bot", space_id=SPACE_MAIN),
        Project(id=PROJECT_SANDBOX, name="sandbox-bot", space_id=SPACE_SANDBOX),
    )
}

DATASET_QA = global_id("Dataset", 21, CATALOGUE_TAG)
DATASET_AGENT = global_id("Dataset", 22, CATALOGUE_TAG)
DATASETS: dict[str, Dataset] = {
    d.id: d
    for d in (
        Dataset(
            id=DATASET_QA,
            name="support-qa",
            space_id=SPACE_MAIN,
            version_ids=(
                global_id("DatasetVersion", 31, CATALOGUE_TAG),
                global_id("DatasetVersion", 32, CATALOGUE_TAG),
            ),
            example_count=120,
        ),
        Dataset(
            id=DATASET_AGENT,
            name="agent-scenarios",
            space_id=SPACE_SANDBOX,
            version_ids=(global_id("DatasetVersion", 33, CATALOGUE_TAG),),
            example_count=40,
        ),
    )
}

EXPERIMENTS: dict[str, Experiment] = {
    e.id: e
    for e in (
        Experiment(
            id=global_id("Experiment", 41, CATALOGUE_TAG),
            name="baseline",
            space_id=SPACE_MAIN,
            dataset_id=DATASET_QA,
            dataset_version_id=DATASETS[DATASET_QA].version_ids[0],
            created=CATALOGUE_EPOCH + 86400,
        ),
        Experiment(
            id=global_id("Experiment", 42, CATALOGUE_TAG),
            name="agent-v1",
            space_id=SPACE_SANDBOX,
            dataset_id=DATASET_AGENT,
            dataset_version_id=DATASETS[DATASET_AGENT].version_ids[0],
            created=CATALOGUE_EPOCH + 2 * 86400,
        ),
    )
}

_SPAN_MAPPINGS = {"input": "attributes.input.value", "output": "attributes.output.value"}
TASKS: dict[str, Task] = {
    t.id: t
    for t in (
        Task(
            id=global_id("OnlineTask", 1, CATALOGUE_TAG),
            name="hallucination-check",
            type="TEMPLATE_EVALUATION",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 3 * 86400,
            project_id=PROJECT_SUPPORT,
            sampling_rate=1.0,
            evaluators=(_evaluator(51, "hallucination", _SPAN_MAPPINGS),),
        ),
        Task(
            id=global_id("OnlineTask", 2, CATALOGUE_TAG),
            name="json-validity",
            type="CODE_EVALUATION",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 4 * 86400,
            project_id=PROJECT_SUPPORT,
            sampling_rate=0.5,
            is_continuous=True,
            query_filter="span_kind = 'LLM'",
            evaluators=(_evaluator(52, "is-json", None),),
        ),
        Task(
            id=global_id("OnlineTask", 3, CATALOGUE_TAG),
            name="answer-correctness",
            type="TEMPLATE_EVALUATION",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 5 * 86400,
            dataset_id=DATASET_QA,
            evaluators=(_evaluator(53, "correctness", {"output": "output", "ref": "expected"}),),
            experiment_ids=(global_id("Experiment", 41, CATALOGUE_TAG),),
        ),
        Task(
            id=global_id("OnlineTask", 4, CATALOGUE_TAG),
            name="prompt-experiment",
            type="RUN_EXPERIMENT",
            space_id=SPACE_MAIN,
            created=CATALOGUE_EPOCH + 6 * 86400,
            dataset_id=DATASET_QA,
            run_configuration={"type": "LLM_GENERATION"},
        ),
        Task(
            id=global_id("OnlineTask", 5, CATALOGUE_TAG),
            name="hallucination-check",
            type="TEMPLATE_EVALUATION",
            space_id=SPACE_SANDBOX,
            created=CATALOGUE_EPOCH + 7 * 86400,
            project_id=PROJECT_SANDBOX,
            sampling_rate=0.25,
            evaluators=(_evaluator(54, "hallucination", _SPAN_MAPPINGS),),
        ),
        Task(
            id=global_id("OnlineTask", 6, CATALOGUE_TAG),
            name="agent-regression",
            type="RUN_EXPERIMENT",
            space_id=SPACE_SANDBOX,
            created=CATALOGUE_EPOCH + 8 * 86400,
            dataset_id=DATASET_AGENT,
            run_configuration={"type": "AGENT_CALL"},
        ),
    )
}


# --- errors, ids, times ------------------------------------------------------------------------


class _Problem(Exception):
    """An error to answer as RFC 9457 problem+json; `handle` adds the instance path."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def problem(status: int, detail: str, instance: str) -> dict[str, Any]:
    """Return the Problem body Arize answers with `status` (arize.md §2.3)."""
    title, fragment = PROBLEMS[status]
    return {
        "status": status,
        "title": title,
        "type": ERRORS_URL + fragment,
        "detail": detail,
        "instance": instance,
    }


def _instant(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _instant_ms(ms: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _parse_instant(name: str, value: object) -> int:
    """Parse an RFC 3339 date-time with a zone into epoch milliseconds, else 400 (§12.4)."""
    if not isinstance(value, str) or not DATE_TIME.match(value):
        raise _Problem(400, f"{name} must be an RFC 3339 date-time with a time zone")
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise _Problem(400, f"{name} is not a valid date-time") from None
    return _epoch_ms(moment)


def _check_id(value: str, kind: str, what: str) -> None:
    """400 unless `value` is a well-formed global id; 404 when it is one of another kind."""
    try:
        decoded = base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _Problem(400, f"Malformed {what} id '{value}'") from None
    match = GLOBAL_ID.match(decoded)
    if match is None:
        raise _Problem(400, f"Malformed {what} id '{value}'")
    if match.group(1) != kind:
        raise _Problem(404, f"The requested {what} with ID '{value}' was not found.")


def _not_found(what: str, value: str) -> _Problem:
    return _Problem(404, f"The requested {what} with ID '{value}' was not found.")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(name: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Problem(400, f"{name} must be an array of non-empty strings")
    return list(value)


# --- cursors and paging ------------------------------------------------------------------------


def _encode_cursor(scope: str, created: float, ident: str) -> str:
    raw = json.dumps([scope, created, ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(value: str, scope: str) -> tuple[float, str]:
    """Return the (created, id) a cursor points after; 400 if it is not one of this list's."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _Problem(400, "Invalid cursor") from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != 3
        or decoded[0] != scope
        or not isinstance(decoded[1], int | float)
        or not isinstance(decoded[2], str)
    ):
        raise _Problem(400, "Invalid cursor: it does not belong to this list and filters")
    return float(decoded[1]), decoded[2]


def _limit(query: Mapping[str, str]) -> int:
    """The `limit` query parameter: default 50; not an integer 400; outside 1-100 422 (§9.12)."""
    text = query.get("limit", "50")
    try:
        limit = int(text)
    except ValueError:
        raise _Problem(400, "limit must be an integer") from None
    if not 1 <= limit <= 100:
        raise _Problem(422, "limit must be between 1 and 100")
    return limit


def _substring_filter(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if value is not None and len(value) > MAX_FILTER_CHARS:
        raise _Problem(422, f"{name} must be at most {MAX_FILTER_CHARS} characters")
    return value.lower() if value is not None else None


def _page(
    items: Iterable[tuple[float, str, dict[str, Any]]],
    query: Mapping[str, str],
    scope: str,
    field_name: str,
) -> Response:
    """Page (created, id, item) triples, newest first, ties by id descending (§9.10, §9.11)."""
    limit = _limit(query)
    ordered = sorted(items, key=lambda t: (t[0], t[1]), reverse=True)
    cursor = query.get("cursor")
    if cursor is not None:
        anchor = _decode_cursor(cursor, scope)
        ordered = [t for t in ordered if (t[0], t[1]) < anchor]
    chosen = ordered[:limit]
    pagination: dict[str, Any] = {"has_more": len(ordered) > limit}
    if pagination["has_more"]:
        pagination["next_cursor"] = _encode_cursor(scope, chosen[-1][0], chosen[-1][1])
    return Response(200, {field_name: [t[2] for t in chosen], "pagination": pagination})


# --- lifecycle ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeline:
    """A run's fate, drawn once from the seed: phase lengths (emulated s), outcome, counts."""

    pending_s: float
    running_s: float
    outcome: str  # COMPLETED | FAILED | CANCELLED (the server's "nothing to label")
    stop_fraction: float  # share of RUNNING done when the outcome happens (FAILED: < 1)
    successes: int
    errors: int
    skipped: int
    failure_reason: str | None


def _timeline(seed: int, run_id: str, request: Mapping[str, Any]) -> Timeline:
    rng = random.Random(f"arize:{seed}:{run_id}")
    draw = rng.random()
    pending_s = rng.uniform(2, 8)
    if request["kind"] == "experiment":
        items = int(request["example_count"])
        if draw < 0.08:
            outcome, reason, fraction = "FAILED", EXPERIMENT_FAILURE_REASON, rng.uniform(0.1, 0.9)
        else:
            outcome, reason, fraction = "COMPLETED", None, 1.0
        errors = round(items * rng.uniform(0, 0.05))
        return Timeline(
            pending_s=pending_s,
            running_s=15 + items * rng.uniform(0.2, 0.5),
            outcome=outcome,
            stop_fraction=fraction,
            successes=items - errors,
            errors=errors,
            skipped=0,
            failure_reason=reason,
        )
    items = min(int(request["max_spans"]), rng.randint(40, 2500))
    if draw < 0.06:
        outcome, reason, fraction = "FAILED", EVALUATION_FAILURE_REASON, rng.uniform(0.1, 0.9)
    elif draw < 0.14 and not request["override_evaluations"]:
        return Timeline(
            pending_s, rng.uniform(1, 3), "CANCELLED", 1.0, 0, 0, 0, NOTHING_TO_LABEL_REASON
        )
    else:
        outcome, reason, fraction = "COMPLETED", None, 1.0
    errors = round(items * rng.uniform(0, 0.03))
    skipped = round(items * rng.uniform(0, 0.06))
    return Timeline(
        pending_s=pending_s,
        running_s=10 + items * rng.uniform(0.01, 0.03),
        outcome=outcome,
        stop_fraction=fraction,
        successes=items - errors - skipped,
        errors=errors,
        skipped=skipped,
        failure_reason=reason,
    )


class ArizeApi:
    """The Arize v2 task routes over one SQLite database shared with the other vendors."""

    def __init__(
        self,
        db: sqlite3.Connection,
        lock: threading.Lock,
        *,
        seed: int,
        time_scale: float,
        clock: Callable[[], float],
        legacy_enums: bool = False,
        list_order: str = "newest",
    ) -> None:
        self._db = db
        self._lock = lock
        self._seed = seed
        self.list_order = check_order(list_order)  # of task runs (§9.10 leaves it open)
        self._time_scale = time_scale
        self._clock = clock
        self.legacy_enums = legacy_enums  # lower-case enums in and out, as before 2026-07-16
        self._timelines: dict[str, Timeline] = {}
        self._final: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, Task] = dict(TASKS)  # the catalogue, plus add_tasks() copies
        with lock:
            db.executescript(SCHEMA)

    # --- routing ---------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """Say whether `path` belongs to this API."""
        return any(path == p or path.startswith(p + "/") for p in PREFIXES)

    def is_create(self, request: Request) -> bool:
        """Say whether `request` triggers a run (the fault a lost create response targets)."""
        parts = request.path.split("/")
        return (
            request.method == "POST"
            and len(parts) == 5
            and parts[2] == "tasks"
            and parts[4] == "trigger"
        )

    def fault(self, status: int, request: Request) -> Response:
        """Answer an injected 429 or 5xx as a Problem (§2.3, §6)."""
        detail = "Rate limit exceeded" if status == 429 else "The service is unavailable"
        return Response(
            status, problem(status, detail, request.path), {}, "application/problem+json"
        )

    def handle(self, request: Request) -> Response:
        """Answer one request, or raise ApiError with a problem+json body."""
        try:
            return self._dispatch(request)
        except _Problem as error:
            raise ApiError(
                error.status,
                problem(error.status, error.detail, request.path),
                headers=error.headers,
                content_type="application/problem+json",
            ) from None

    def _dispatch(self, request: Request) -> Response:
        user_id = self._authenticate(request.headers.get("authorization"))
        parts = [unquote(p) for p in request.path.split("/")[2:]]
        routes: list[tuple[list[str], dict[str, Callable[[], Response]]]] = []
        match parts:
            case ["tasks"]:
                routes.append((parts, {"GET": lambda: self._list_tasks(request.query)}))
            case ["tasks", task_id]:
                routes.append((parts, {"GET": lambda: Response(200, self._task(task_id))}))
            case ["tasks", task_id, "runs"]:
                routes.append((parts, {"GET": lambda: self._list_runs(task_id, request.query)}))
            case ["tasks", task_id, "trigger"]:
                routes.append((parts, {"POST": lambda: self._trigger(task_id, user_id, request)}))
            case ["task-runs", run_id]:
                routes.append((parts, {"GET": lambda: Response(200, self._get_run(run_id))}))
            case ["task-runs", run_id, "cancel"]:
                routes.append((parts, {"POST": lambda: self._cancel(run_id)}))
            case ["experiments"]:
                routes.append((parts, {"GET": lambda: self._list_experiments(request.query)}))
            case ["experiments", experiment_id]:
                routes.append(
                    (parts, {"GET": lambda: Response(200, self._experiment(experiment_id))})
                )
        if not routes:
            raise _Problem(404, f"No route {request.method} {request.path}")
        methods = routes[0][1]
        handler = methods.get(request.method)
        if handler is None:
            raise _Problem(
                405,
                f"Method {request.method} is not allowed on {request.path}",
                {"Allow": ", ".join(sorted(methods))},
            )
        return handler()

    @staticmethod
    def _authenticate(header: str | None) -> str:
        """Return the caller's user id, or 401 (arize.md §1, §9.18)."""
        if header is None or not header.strip():
            raise _Problem(401, "Missing Authorization header")
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise _Problem(401, "Authorization header must be 'Bearer <api key>'")
        key = key.strip()
        if key.startswith(REVOKED_PREFIX):
            raise _Problem(401, "The API key is invalid, expired or revoked")
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
            raise _Problem(400, f"{name} must be one of {', '.join(allowed)}")
        return value

    # --- tasks -------------------------------------------------------------------------

    def _lookup_task(self, task_id: str) -> Task:
        _check_id(task_id, "OnlineTask", "task")
        task = self._tasks.get(task_id)
        if task is None:
            raise _not_found("task", task_id)
        return task

    def _last_runs(self) -> dict[str, float]:
        with self._lock:
            rows = self._db.execute(
                "SELECT task_id, MAX(created) AS last FROM arize_runs GROUP BY task_id"
            ).fetchall()
        return {row["task_id"]: row["last"] for row in rows}

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
            "last_run_at": _instant(last_run) if last_run is not None else None,
            "created_at": _instant(task.created),
            "updated_at": _instant(task.created),
            "created_by_user_id": CATALOGUE_USER_ID,
        }

    def _task(self, task_id: str) -> dict[str, Any]:
        task = self._lookup_task(task_id)
        return self._render_task(task, self._last_runs().get(task.id))

    def _list_tasks(self, query: Mapping[str, str]) -> Response:
        space_id = query.get("space_id")
        if space_id is not None:
            _check_id(space_id, "Space", "space")
            if space_id not in SPACES:
                raise _not_found("space", space_id)
        project_id = query.get("project_id")
        if project_id is not None:
            _check_id(project_id, "Project", "project")
            if project_id not in PROJECTS:
                raise _not_found("project", project_id)
        dataset_id = query.get("dataset_id")
        if dataset_id is not None:
            _check_id(dataset_id, "Dataset", "dataset")
            if dataset_id not in DATASETS:
                raise _not_found("dataset", dataset_id)
        space_name = _substring_filter(query, "space_name")
        name = _substring_filter(query, "name")
        task_type = self._enum_filter(query, "type", TASK_TYPES)
        _limit(query)
        last_runs = self._last_runs()
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
        return _page(items, query, "tasks:" + json.dumps(filters), "tasks")

    # --- trigger -----------------------------------------------------------------------

    def _trigger(self, task_id: str, user_id: str, request: Request) -> Response:
        task = self._lookup_task(task_id)
        try:
            body = request.json()
        except ApiError:
            raise _Problem(400, "Request body must be valid JSON") from None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise _Problem(400, "Request body must be a JSON object")
        own, other = (
            (EXPERIMENT_FIELDS, EVALUATION_FIELDS)
            if task.type == "RUN_EXPERIMENT"
            else (EVALUATION_FIELDS, EXPERIMENT_FIELDS)
        )
        for name in body:
            if name in other:
                raise _Problem(400, f"Field '{name}' is not valid for a {task.type} task")
            if name not in own:
                raise _Problem(400, f"Unknown field '{name}'")
        if task.type == "RUN_EXPERIMENT":
            return self._trigger_experiment(task, user_id, body)
        return self._trigger_evaluation(task, user_id, body)

    def _trigger_evaluation(self, task: Task, user_id: str, body: dict[str, Any]) -> Response:
        start = body.get("data_start_time")
        end = body.get("data_end_time")
        start_ms = _parse_instant("data_start_time", start) if start is not None else None
        end_ms = _parse_instant("data_end_time", end) if end is not None else None
        max_spans = body.get("max_spans", DEFAULT_MAX_SPANS)
        if not _is_int(max_spans):
            raise _Problem(400, "max_spans must be an integer")
        if max_spans < 1:
            raise _Problem(422, "max_spans must be at least 1")
        override = body.get("override_evaluations", False)
        if not isinstance(override, bool):
            raise _Problem(400, "override_evaluations must be a boolean")
        experiment_ids = body.get("experiment_ids")
        if experiment_ids is not None:
            if task.dataset_id is None:
                raise _Problem(400, "Field 'experiment_ids' is only valid for dataset-based tasks")
            experiment_ids = _strings("experiment_ids", experiment_ids)
        request = {
            "kind": "evaluation",
            "max_spans": max_spans,
            "override_evaluations": override,
            "experiment_ids": experiment_ids
            if experiment_ids is not None
            else list(task.experiment_ids),
        }
        with self._lock:
            now = self._clock()
            if task.project_id is not None:
                if end_ms is None:
                    end_ms = int(now * 1000)
                if start_ms is None:
                    (last,) = self._db.execute(
                        "SELECT MAX(created) FROM arize_runs WHERE task_id = ?", (task.id,)
                    ).fetchone()
                    if last is None:
                        raise _Problem(
                            422, "data_start_time is required on the first run of a project task"
                        )
                    start_ms = int(last * 1000)
            if start_ms is not None and end_ms is not None:
                if start_ms >= end_ms:
                    raise _Problem(422, "data_start_time must be before data_end_time")
                if end_ms - start_ms > MAX_WINDOW // timedelta(milliseconds=1):
                    raise _Problem(422, "The data window may span at most 30 days")
            run_id = self._insert(task, now, user_id, start_ms, end_ms, None, request)
        return Response(201, self._get_run(run_id))

    def _trigger_experiment(self, task: Task, user_id: str, body: dict[str, Any]) -> Response:
        assert task.dataset_id is not None
        dataset = DATASETS[task.dataset_id]
        name = body.get("experiment_name")
        if name is not None and not isinstance(name, str):
            raise _Problem(400, "experiment_name must be a string")
        version = body.get("dataset_version_id")
        if version is not None and not isinstance(version, str):
            raise _Problem(400, "dataset_version_id must be a string")
        example_ids = body.get("example_ids")
        if example_ids is not None:
            example_ids = _strings("example_ids", example_ids)
        max_examples = body.get("max_examples")
        if max_examples is not None and not _is_int(max_examples):
            raise _Problem(400, "max_examples must be an integer")
        tracing = body.get("tracing_metadata")
        if tracing is not None and (
            not isinstance(tracing, dict) or not all(isinstance(v, str) for v in tracing.values())
        ):
            raise _Problem(400, "tracing_metadata must be an object of strings")
        follow_ups = body.get("evaluation_task_ids")
        if follow_ups is not None:
            follow_ups = _strings("evaluation_task_ids", follow_ups)
        query_filter = body.get("query_filter")
        if query_filter is not None and not isinstance(query_filter, str):
            raise _Problem(400, "query_filter must be a string")
        if name is None:
            raise _Problem(422, "experiment_name is required")
        if not 1 <= len(name) <= 255 or any(c in name for c in EXPERIMENT_NAME_FORBIDDEN):
            raise _Problem(422, 'experiment_name must be 1-255 characters without " or \\')
        if example_ids is not None and max_examples is not None:
            raise _Problem(422, "example_ids and max_examples are mutually exclusive")
        if max_examples is not None and max_examples < 1:
            raise _Problem(422, "max_examples must be at least 1")
        if version is not None and version not in dataset.version_ids:
            raise _Problem(422, f"dataset_version_id '{version}' is not a version of the dataset")
        for follow_up in follow_ups or []:
            target = self._tasks.get(follow_up)
            if target is None or target.type not in EVALUATION_TYPES:
                raise _Problem(422, f"evaluation_task_ids: '{follow_up}' is not an evaluation task")
        if example_ids is not None:
            count = len(dict.fromkeys(example_ids))
        elif max_examples is not None:
            count = min(max_examples, dataset.example_count)
        else:
            count = dataset.example_count
        request = {
            "kind": "experiment",
            "experiment_name": name,
            "dataset_version_id": version or dataset.version_ids[-1],
            "example_count": count,
            "evaluation_task_ids": follow_ups or [],
        }
        with self._lock:
            taken = (
                any(e.dataset_id == dataset.id and e.name == name for e in EXPERIMENTS.values())
                or self._db.execute(
                    "SELECT 1 FROM arize_runs WHERE dataset_id = ? AND experiment_name = ?",
                    (dataset.id, name),
                ).fetchone()
            )
            if taken:
                raise _Problem(
                    409, f"An experiment named '{name}' already exists in dataset {dataset.id}"
                )
            run_id = self._insert(task, self._clock(), user_id, None, None, name, request)
        return Response(201, self._get_run(run_id))

    def _insert(
        self,
        task: Task,
        now: float,
        user_id: str | None,
        start_ms: int | None,
        end_ms: int | None,
        experiment_name: str | None,
        request: Mapping[str, Any],
        *,
        commit: bool = True,
    ) -> str:
        """Store one run (the caller holds the lock); return its id."""
        (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM arize_runs").fetchone()
        run_id = self._run_id(seq)
        self._db.execute(
            "INSERT INTO arize_runs (seq, id, task_id, created, user_id, data_start_ms,"
            " data_end_ms, dataset_id, experiment_name, request)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                run_id,
                task.id,
                now,
                user_id,
                start_ms,
                end_ms,
                task.dataset_id if experiment_name is not None else None,
                experiment_name,
                json.dumps(request),
            ),
        )
        if commit:
            self._db.commit()
        return run_id

    def _run_id(self, seq: int) -> str:
        tag = hashlib.sha256(f"arize-run:{self._seed}:{seq}".encode()).hexdigest()[:4]
        return global_id("TaskRun", seq, tag)

    def _experiment_id(self, seq: int) -> str:
        tag = hashlib.sha256(f"arize-experiment:{self._seed}:{seq}".encode()).hexdigest()[:4]
        return global_id("Experiment", 1000 + seq, tag)

    # --- runs --------------------------------------------------------------------------

    def _row(self, run_id: str) -> sqlite3.Row:
        _check_id(run_id, "TaskRun", "task run")
        with self._lock:
            row = self._db.execute("SELECT * FROM arize_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None or row["task_id"] not in self._tasks:
            raise _not_found("task run", run_id)
        result: sqlite3.Row = row
        return result

    def _get_run(self, run_id: str) -> dict[str, Any]:
        return self._render(self._row(run_id), self._clock())

    def view(self, row: sqlite3.Row, now: float) -> dict[str, Any]:
        """Compute a run's status, counts, times, reason and experiment at `now`."""
        request = json.loads(row["request"])
        timeline = self._timelines.get(row["id"])
        if timeline is None:
            timeline = self._timelines[row["id"]] = _timeline(self._seed, row["id"], request)
        created: float = row["created"]
        cancelled: float | None = row["cancelled"]
        scale = self._time_scale
        age = (now - created) * scale
        stop_age = (cancelled - created) * scale if cancelled is not None else None
        at = min(age, stop_age) if stop_age is not None else age
        run_start = timeline.pending_s
        end = run_start + timeline.running_s * timeline.stop_fraction
        if stop_age is not None and stop_age < end:
            status = "CANCELLED"
        elif at >= end:
            status = timeline.outcome
        elif at >= run_start:
            status = "RUNNING"
        else:
            status = "PENDING"
        share = 0.0
        if at >= run_start:
            share = min((min(at, end) - run_start) / timeline.running_s, 1.0)
        if status == "COMPLETED":
            share = 1.0
        counts = {
            "num_successes": int(timeline.successes * share),
            "num_errors": int(timeline.errors * share),
            "num_skipped": int(timeline.skipped * share),
        }
        started = created + run_start / scale if at >= run_start else None
        finished: float | None = None
        reason: str | None = None
        if status == "CANCELLED" and stop_age is not None and stop_age < end:
            finished, reason = cancelled, USER_CANCEL_REASON
        elif status in TERMINAL:
            finished, reason = created + end / scale, timeline.failure_reason
        return {
            "status": status,
            "started": started,
            "finished": finished,
            "failure_reason": reason,
            "experiment": request["kind"] == "experiment",
            **counts,
        }

    def _render(self, row: sqlite3.Row, now: float) -> dict[str, Any]:
        final = self._final.get(row["id"])
        if final is not None:
            return final
        view = self.view(row, now)
        run: dict[str, Any] = {"id": row["id"], "task_id": row["task_id"]}
        if view["experiment"]:
            provisioned = view["started"] is not None
            run["experiment_id"] = self._experiment_id(row["seq"]) if provisioned else None
        run |= {
            "status": self._enum(view["status"]),
            "run_started_at": _instant(view["started"]) if view["started"] is not None else None,
            "run_finished_at": _instant(view["finished"]) if view["finished"] is not None else None,
            "data_start_time": _instant_ms(row["data_start_ms"])
            if row["data_start_ms"] is not None
            else None,
            "data_end_time": _instant_ms(row["data_end_ms"])
            if row["data_end_ms"] is not None
            else None,
            "num_successes": view["num_successes"],
            "num_errors": view["num_errors"],
            "num_skipped": view["num_skipped"],
            "created_at": _instant(row["created"]),
            "created_by_user_id": row["user_id"],
            "failure_reason": view["failure_reason"],
        }
        if view["status"] in TERMINAL:  # a finished run never changes again: keep its answer
            self._final[row["id"]] = run
        return run

    def _list_runs(self, task_id: str, query: Mapping[str, str]) -> Response:
        task = self._lookup_task(task_id)
        status = self._enum_filter(query, "status", STATUSES)
        limit = _limit(query)
        scope = f"runs:{task.id}:{status or ''}"
        where = ["task_id = ?"]
        params: list[object] = [task.id]
        if self.list_order != "newest":
            return self._list_runs_arranged(task.id, query, status=status, limit=limit)
        if (cursor := query.get("cursor")) is not None:
            created, ident = _decode_cursor(cursor, scope)
            where.append("(created, id) < (?, ?)")
            params += [created, ident]
        sql = f"SELECT * FROM arize_runs WHERE {' AND '.join(where)} ORDER BY created DESC, id DESC"
        now = self._clock()
        with self._lock:
            rows = self._db.execute(sql, params)
            batch = rows.fetchmany(limit + 1) if status is None else rows.fetchall()
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
            pagination["next_cursor"] = _encode_cursor(scope, last["created"], last["id"])
        return Response(200, {"task_runs": [run for _, run in items], "pagination": pagination})

    def _list_runs_arranged(
        self, task_id: str, query: Mapping[str, str], *, status: str | None, limit: int
    ) -> Response:
        """Answer a page of task runs in the `oldest` or `shuffled` order."""
        scope = f"runs:{task_id}:{status or ''}"
        with self._lock:
            rows = self._db.execute("SELECT * FROM arize_runs WHERE task_id = ?", (task_id,))
            found = rows.fetchall()

        def place(created: float, ident: str) -> tuple[float | str, str]:
            return position(self.list_order, self._seed, created, ident)

        ordered = sorted(found, key=lambda r: place(r["created"], r["id"]))
        if (cursor := query.get("cursor")) is not None:
            mark = place(*_decode_cursor(cursor, scope))
            ordered = [r for r in ordered if place(r["created"], r["id"]) > mark]
        now = self._clock()
        items = [(row, self._render(row, now)) for row in ordered]
        if status is not None:
            items = [(row, run) for row, run in items if run["status"] == self._enum(status)]
        chosen = items[:limit]
        pagination: dict[str, Any] = {"has_more": len(items) > limit}
        if pagination["has_more"]:
            last = chosen[-1][0]
            pagination["next_cursor"] = _encode_cursor(scope, last["created"], last["id"])
        return Response(200, {"task_runs": [run for _, run in chosen], "pagination": pagination})

    def _cancel(self, run_id: str) -> Response:
        """Cancel a PENDING or RUNNING run atomically; 400 for a finished one (§9.1, §9.2)."""
        self._row(run_id)
        with self._lock:
            row = self._db.execute("SELECT * FROM arize_runs WHERE id = ?", (run_id,)).fetchone()
            now = self._clock()
            status = self.view(row, now)["status"]
            if status not in ACTIVE:
                raise _Problem(
                    400,
                    f"Task run {run_id} is {status}; only PENDING or RUNNING runs can be cancelled",
                )
            self._db.execute(
                "UPDATE arize_runs SET cancelled = ? WHERE id = ? AND cancelled IS NULL",
                (now, row["id"]),
            )
            self._db.commit()
            row = self._db.execute("SELECT * FROM arize_runs WHERE id = ?", (run_id,)).fetchone()
        return Response(200, self._render(row, now))

    # --- experiments -------------------------------------------------------------------

    def _experiments(self) -> list[dict[str, Any]]:
        """Every experiment that exists now: the seeded ones and those runs provisioned."""
        found = [
            {
                "id": e.id,
                "name": e.name,
                "space_id": e.space_id,
                "dataset_id": e.dataset_id,
                "dataset_version_id": e.dataset_version_id,
                "created": e.created,
            }
            for e in EXPERIMENTS.values()
        ]
        now = self._clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM arize_runs WHERE experiment_name IS NOT NULL"
            ).fetchall()
        for row in rows:
            if row["task_id"] not in self._tasks:
                continue
            started = self.view(row, now)["started"]
            if started is None:
                continue
            dataset = DATASETS[row["dataset_id"]]
            found.append(
                {
                    "id": self._experiment_id(row["seq"]),
                    "name": row["experiment_name"],
                    "space_id": dataset.space_id,
                    "dataset_id": dataset.id,
                    "dataset_version_id": json.loads(row["request"])["dataset_version_id"],
                    "created": started,
                }
            )
        return found

    @staticmethod
    def _render_experiment(found: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": found["id"],
            "name": found["name"],
            "space_id": found["space_id"],
            "dataset_id": found["dataset_id"],
            "dataset_version_id": found["dataset_version_id"],
            "created_at": _instant(found["created"]),
            "updated_at": _instant(found["created"]),
            "experiment_traces_project_id": None,
            "integration_id": None,
        }

    def _experiment(self, experiment_id: str) -> dict[str, Any]:
        _check_id(experiment_id, "Experiment", "experiment")
        for found in self._experiments():
            if found["id"] == experiment_id:
                return self._render_experiment(found)
        raise _not_found("experiment", experiment_id)

    def _list_experiments(self, query: Mapping[str, str]) -> Response:
        dataset_id = query.get("dataset_id")
        if dataset_id is not None:
            _check_id(dataset_id, "Dataset", "dataset")
            if dataset_id not in DATASETS:
                raise _not_found("dataset", dataset_id)
        space_id = query.get("space_id")
        if space_id is not None:
            _check_id(space_id, "Space", "space")
            if space_id not in SPACES:
                raise _not_found("space", space_id)
        name = _substring_filter(query, "name")
        _limit(query)
        items = [
            (found["created"], found["id"], self._render_experiment(found))
            for found in self._experiments()
            if (dataset_id is None or found["dataset_id"] == dataset_id)
            and (space_id is None or found["space_id"] == space_id)
            and (name is None or name in found["name"].lower())
        ]
        scope = "experiments:" + json.dumps([dataset_id, space_id, name])
        return _page(items, query, scope, "experiments")

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
        with self._lock:
            for n in range(count):
                created = now - (count - n) * spacing_s
                if task.type == "RUN_EXPERIMENT":
                    assert task.dataset_id is not None
                    (seq,) = self._db.execute(
                        "SELECT COALESCE(MAX(seq), 0) + 1 FROM arize_runs"
                    ).fetchone()
                    dataset = DATASETS[task.dataset_id]
                    request: dict[str, Any] = {
                        "kind": "experiment",
                        "experiment_name": f"seed-{seq}",
                        "dataset_version_id": dataset.version_ids[-1],
                        "example_count": dataset.example_count,
                        "evaluation_task_ids": [],
                    }
                    ids.append(
                        self._insert(
                            task, created, user_id, None, None, f"seed-{seq}", request, commit=False
                        )
                    )
                else:
                    request = {
                        "kind": "evaluation",
                        "max_spans": DEFAULT_MAX_SPANS,
                        "override_evaluations": False,
                        "experiment_ids": list(task.experiment_ids),
                    }
                    end_ms = int(created * 1000)
                    ids.append(
                        self._insert(
                            task,
                            created,
                            user_id,
                            end_ms - 3_600_000,
                            end_ms,
                            None,
                            request,
                            commit=False,
                        )
                    )
            self._db.commit()
        return ids

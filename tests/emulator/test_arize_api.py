"""The emulator's Arize tasks / task-runs API (v2), over HTTP, against shared/providers/arize.md."""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from reconciler import emulator
from tests.clock import Clock

KEY = "test-key"
OTHER_KEY = "other-key"
START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
START_ISO = "2026-05-28T20:26:40.000Z"
ERRORS_URL = "https://arize.com/docs/ax/rest-reference/errors#"

SPACE_MAIN = "U3BhY2U6MTpzZWVk"
SPACE_SANDBOX = "U3BhY2U6MjpzZWVk"
PROJECT_SUPPORT = "UHJvamVjdDoxMTpzZWVk"
DATASET_QA = "RGF0YXNldDoyMTpzZWVk"
DATASET_AGENT = "RGF0YXNldDoyMjpzZWVk"
QA_VERSION_OLD = "RGF0YXNldFZlcnNpb246MzE6c2VlZA=="
EXPERIMENT_BASELINE = "RXhwZXJpbWVudDo0MTpzZWVk"
EXPERIMENT_AGENT = "RXhwZXJpbWVudDo0MjpzZWVk"
TASK_HALLUCINATION = "T25saW5lVGFzazoxOnNlZWQ="  # TEMPLATE_EVALUATION, project, main
TASK_JSON = "T25saW5lVGFzazoyOnNlZWQ="  # CODE_EVALUATION, project, main
TASK_CORRECTNESS = "T25saW5lVGFzazozOnNlZWQ="  # TEMPLATE_EVALUATION, dataset, main
TASK_EXPERIMENT = "T25saW5lVGFzazo0OnNlZWQ="  # RUN_EXPERIMENT, dataset QA, main
TASK_SANDBOX_HALLUCINATION = "T25saW5lVGFzazo1OnNlZWQ="  # TEMPLATE_EVALUATION, sandbox
TASK_AGENT = "T25saW5lVGFzazo2OnNlZWQ="  # RUN_EXPERIMENT, dataset agent, sandbox
ALL_TASKS = [
    TASK_AGENT,
    TASK_SANDBOX_HALLUCINATION,
    TASK_EXPERIMENT,
    TASK_CORRECTNESS,
    TASK_JSON,
    TASK_HALLUCINATION,
]
UNKNOWN_TASK = base64.b64encode(b"OnlineTask:999:seed").decode()
UNKNOWN_RUN = base64.b64encode(b"TaskRun:999999:abcd").decode()
MALFORMED = "not-a-global-id!"

RUN_FIELDS = {
    "id",
    "task_id",
    "status",
    "run_started_at",
    "run_finished_at",
    "data_start_time",
    "data_end_time",
    "num_successes",
    "num_errors",
    "num_skipped",
    "created_at",
    "created_by_user_id",
    "failure_reason",
}
TASK_FIELDS = {
    "id",
    "name",
    "type",
    "project_id",
    "dataset_id",
    "sampling_rate",
    "is_continuous",
    "query_filter",
    "evaluators",
    "experiment_ids",
    "run_configuration",
    "last_run_at",
    "created_at",
    "updated_at",
    "created_by_user_id",
}
EXPERIMENT_FIELDS = {
    "id",
    "name",
    "space_id",
    "dataset_id",
    "dataset_version_id",
    "created_at",
    "updated_at",
    "experiment_traces_project_id",
    "integration_id",
}
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}
WINDOW = {"data_start_time": "2026-05-01T00:00:00Z", "data_end_time": "2026-05-02T00:00:00Z"}


Start = Callable[..., str]


def client(url: str, key: str | None = KEY) -> httpx.Client:
    """Return an HTTP client for `url` that sends `Authorization: Bearer <key>`."""
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    return httpx.Client(base_url=url, headers=headers, timeout=10)


def path_id(value: str) -> str:
    """Percent-encode an id with no safe characters, as the vendor's SDK does (§12.5)."""
    return quote(value, safe="")


def user_id(key: str) -> str:
    """The documented derivation of a key's user id."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return base64.b64encode(f"User:{int(digest[:5], 16)}:{digest[5:9]}".encode()).decode()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def api(start_emulator: Start, clock: Clock) -> Iterator[httpx.Client]:
    """A client of an emulator (seed 7, time scale 1) that runs on the test clock."""
    with client(start_emulator(seed=7, clock=clock)) as http:
        yield http


@pytest.fixture
def served(clock: Clock) -> Iterator[tuple[emulator.EmulatorServer, httpx.Client]]:
    """An emulator server object (seed 7, test clock) and a client of it."""
    server = emulator.make_server("127.0.0.1", 0, seed=7, clock=clock)
    with emulator.serve_in_thread(server) as url, client(url) as http:
        yield server, http


def trigger(http: httpx.Client, task_id: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return http.post(f"/v2/tasks/{path_id(task_id)}/trigger", json=body)


def triggered(http: httpx.Client, task_id: str, body: dict[str, Any] | None = None) -> Any:
    """Trigger a run and return it, failing on anything but 201."""
    response = trigger(http, task_id, body)
    assert 201 == response.status_code, response.text
    return response.json()


def get_run(http: httpx.Client, run_id: str) -> Any:
    response = http.get(f"/v2/task-runs/{path_id(run_id)}")
    assert 200 == response.status_code, response.text
    return response.json()


def runs_page(http: httpx.Client, task_id: str, **query: Any) -> Any:
    response = http.get(f"/v2/tasks/{path_id(task_id)}/runs", params=query)
    assert 200 == response.status_code, response.text
    return response.json()


def cancel(http: httpx.Client, run_id: str) -> httpx.Response:
    return http.post(f"/v2/task-runs/{path_id(run_id)}/cancel")


def problem(response: httpx.Response, status: int) -> str:
    """Check an RFC 9457 Problem answer of `status` (arize.md §2.3); return its detail."""
    assert status == response.status_code, response.text
    assert "application/problem+json" == response.headers["content-type"]
    body = response.json()
    assert status == body["status"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["type"].startswith(ERRORS_URL)
    assert response.request.url.raw_path.decode().split("?")[0] == body["instance"]
    detail: str = body["detail"]
    return detail


def walk(http: httpx.Client, path: str, field: str, **query: Any) -> list[Any]:
    """Follow `next_cursor` to the end of a list; return every item."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        params = dict(query, **({"cursor": cursor} if cursor else {}))
        response = http.get(path, params=params)
        assert 200 == response.status_code, response.text
        page = response.json()
        items += page[field]
        if not page["pagination"]["has_more"]:
            assert "next_cursor" not in page["pagination"]
            return items
        cursor = page["pagination"]["next_cursor"]


class TestAuth:
    """Authorization: Bearer <key> (arize.md §1, §9.18)."""

    ROUTES = (
        ("GET", "/v2/tasks"),
        ("GET", f"/v2/tasks/{TASK_HALLUCINATION}"),
        ("GET", f"/v2/tasks/{TASK_HALLUCINATION}/runs"),
        ("POST", f"/v2/tasks/{TASK_HALLUCINATION}/trigger"),
        ("GET", f"/v2/task-runs/{UNKNOWN_RUN}"),
        ("POST", f"/v2/task-runs/{UNKNOWN_RUN}/cancel"),
        ("GET", "/v2/experiments"),
        ("GET", f"/v2/experiments/{EXPERIMENT_BASELINE}"),
    )

    @pytest.mark.parametrize(("method", "path"), ROUTES)
    def test_missing_header_is_401_on_every_route(
        self, emulator_url: str, method: str, path: str
    ) -> None:
        """A request without Authorization is a 401 Problem on every route."""
        with client(emulator_url, key=None) as http:
            problem(http.request(method, path), 401)

    @pytest.mark.parametrize("header", ["test-key", "Basic test-key", "Bearer", "Token test-key"])
    def test_header_without_bearer_key_is_401(self, emulator_url: str, header: str) -> None:
        """A header without the `Bearer ` prefix and a key is a 401."""
        with httpx.Client(base_url=emulator_url, headers={"authorization": header}) as http:
            problem(http.get("/v2/tasks"), 401)

    def test_revoked_key_is_401(self, emulator_url: str) -> None:
        """A key the emulator treats as unknown or revoked (`revoked-` prefix) is a 401."""
        with client(emulator_url, key="revoked-abc") as http:
            problem(http.get("/v2/tasks"), 401)

    def test_scheme_is_case_insensitive(self, emulator_url: str) -> None:
        """`bearer <key>` is accepted like `Bearer <key>`."""
        with httpx.Client(base_url=emulator_url, headers={"authorization": "bearer k"}) as http:
            assert 200 == http.get("/v2/tasks").status_code


class TestRoutes:
    """Unknown routes and methods (arize.md §3, §9.20)."""

    def test_global_run_listing_does_not_exist(self, api: httpx.Client) -> None:
        """GET /v2/task-runs is a 404 Problem: there is no global listing."""
        problem(api.get("/v2/task-runs"), 404)

    def test_unknown_sub_route_is_404(self, api: httpx.Client) -> None:
        """An unknown route under /v2/tasks is a 404 Problem."""
        problem(api.get(f"/v2/tasks/{TASK_HALLUCINATION}/nothing"), 404)

    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("POST", "/v2/tasks", "GET"),
            ("DELETE", f"/v2/tasks/{TASK_HALLUCINATION}", "GET"),
            ("GET", f"/v2/tasks/{TASK_HALLUCINATION}/trigger", "POST"),
            ("GET", f"/v2/task-runs/{UNKNOWN_RUN}/cancel", "POST"),
            ("PATCH", "/v2/experiments", "GET"),
        ],
    )
    def test_wrong_method_is_405(
        self, api: httpx.Client, method: str, path: str, allow: str
    ) -> None:
        """A known route with another method is a 405 Problem with an Allow header."""
        response = api.request(method, path)
        problem(response, 405)
        assert allow == response.headers["allow"]

    def test_adaline_paths_are_not_claimed(self) -> None:
        """The Arize API claims its own /v2 prefixes only, not Adaline's."""
        server = emulator.make_server("127.0.0.1", 0)
        try:
            claimed = [
                server.routes.find("GET", p)
                for p in (
                    "/v2/tasks",
                    "/v2/task-runs/x",
                    "/v2/experiments/x",
                    "/v2/prompts",
                    "/v2/datasets",
                    "/v2/tasksx",
                )
            ]
        finally:
            server.server_close()
        owners = [found[0] if found is not None else None for found in claimed]
        assert ["arize", "arize", "arize", "adaline", "adaline", None] == owners


class TestListTasks:
    """GET /v2/tasks (arize.md §3.5, §5)."""

    def test_lists_the_catalogue_newest_first(self, api: httpx.Client) -> None:
        """Every key sees all six seeded tasks, newest created_at first."""
        page = api.get("/v2/tasks").json()
        assert ALL_TASKS == [t["id"] for t in page["tasks"]]
        assert {"has_more": False} == page["pagination"]

    def test_task_shape(self, api: httpx.Client) -> None:
        """A task carries every required key (§2.2, §12.8) and no space_id."""
        tasks = api.get("/v2/tasks").json()["tasks"]
        assert all(TASK_FIELDS == set(t) for t in tasks)
        evaluator = tasks[-1]["evaluators"][0]
        assert {
            "evaluator_id",
            "evaluator_name",
            "evaluator_version_id",
            "query_filter",
            "column_mappings",
        } == set(evaluator)

    def test_types_and_sources(self, api: httpx.Client) -> None:
        """Both kinds of task are seeded: evaluation tasks and RUN_EXPERIMENT tasks."""
        tasks = {t["id"]: t for t in api.get("/v2/tasks").json()["tasks"]}
        expected = {
            TASK_HALLUCINATION: ("TEMPLATE_EVALUATION", PROJECT_SUPPORT, None),
            TASK_JSON: ("CODE_EVALUATION", PROJECT_SUPPORT, None),
            TASK_CORRECTNESS: ("TEMPLATE_EVALUATION", None, DATASET_QA),
            TASK_EXPERIMENT: ("RUN_EXPERIMENT", None, DATASET_QA),
            TASK_AGENT: ("RUN_EXPERIMENT", None, DATASET_AGENT),
        }
        actual = {
            k: (tasks[k]["type"], tasks[k]["project_id"], tasks[k]["dataset_id"]) for k in expected
        }
        assert expected == actual
        assert [] == tasks[TASK_EXPERIMENT]["evaluators"]
        assert {"type": "LLM_GENERATION"} == tasks[TASK_EXPERIMENT]["run_configuration"]
        assert [EXPERIMENT_BASELINE] == tasks[TASK_CORRECTNESS]["experiment_ids"]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"space_id": SPACE_SANDBOX}, [TASK_AGENT, TASK_SANDBOX_HALLUCINATION]),
            ({"space_name": "SANDBOX"}, [TASK_AGENT, TASK_SANDBOX_HALLUCINATION]),
            ({"name": "Hallucination"}, [TASK_SANDBOX_HALLUCINATION, TASK_HALLUCINATION]),
            ({"name": "hallucination-check", "space_id": SPACE_MAIN}, [TASK_HALLUCINATION]),
            ({"project_id": PROJECT_SUPPORT}, [TASK_JSON, TASK_HALLUCINATION]),
            ({"dataset_id": DATASET_QA}, [TASK_EXPERIMENT, TASK_CORRECTNESS]),
            ({"type": "RUN_EXPERIMENT"}, [TASK_AGENT, TASK_EXPERIMENT]),
            ({"type": "CODE_EVALUATION"}, [TASK_JSON]),
            ({"name": "no-such-task"}, []),
        ],
    )
    def test_filters(self, api: httpx.Client, query: dict[str, str], expected: list[str]) -> None:
        """Each documented filter narrows the list."""
        assert expected == [t["id"] for t in api.get("/v2/tasks", params=query).json()["tasks"]]

    def test_pages_every_task_once(self, api: httpx.Client) -> None:
        """Pages of 4 then 2 hold every task exactly once, the cursor only while more follow."""
        first = api.get("/v2/tasks", params={"limit": 4}).json()
        assert True is first["pagination"]["has_more"]
        assert ALL_TASKS == [t["id"] for t in walk(api, "/v2/tasks", "tasks", limit=4)]

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ({"space_id": base64.b64encode(b"Space:99:seed").decode()}, 404),
            ({"space_id": MALFORMED}, 400),
            ({"project_id": base64.b64encode(b"Project:99:seed").decode()}, 404),
            ({"dataset_id": base64.b64encode(b"Dataset:99:seed").decode()}, 404),
            ({"type": "run_experiment"}, 400),
            ({"type": "EVALUATION"}, 400),
            ({"limit": "0"}, 422),
            ({"limit": "101"}, 422),
            ({"limit": "ten"}, 400),
            ({"name": "x" * 256}, 422),
            ({"space_name": "x" * 256}, 422),
            ({"cursor": "garbage!"}, 400),
        ],
    )
    def test_invalid_queries(self, api: httpx.Client, query: dict[str, str], status: int) -> None:
        """Bad filters, limits and cursors are Problems (§3.3, §9.3, §9.11, §9.12)."""
        problem(api.get("/v2/tasks", params=query), status)

    def test_cursor_is_tied_to_filters(self, api: httpx.Client) -> None:
        """A cursor used with other filters is a 400 (§9.11)."""
        cursor = api.get("/v2/tasks", params={"limit": 1}).json()["pagination"]["next_cursor"]
        problem(api.get("/v2/tasks", params={"limit": 1, "cursor": cursor, "name": "a"}), 400)


class TestGetTask:
    """GET /v2/tasks/{task_id} (arize.md §3.6)."""

    def test_returns_the_task(self, api: httpx.Client) -> None:
        """A percent-encoded task id answers 200 with that task (§12.5)."""
        response = api.get(f"/v2/tasks/{path_id(TASK_HALLUCINATION)}")
        assert 200 == response.status_code
        task = response.json()
        assert (TASK_HALLUCINATION, "hallucination-check", None) == (
            task["id"],
            task["name"],
            task["last_run_at"],
        )

    def test_raw_padded_id_works_too(self, api: httpx.Client) -> None:
        """An id sent with a raw `=` routes as well."""
        assert 200 == api.get(f"/v2/tasks/{TASK_JSON}").status_code

    def test_last_run_at_follows_triggers(self, api: httpx.Client, clock: Clock) -> None:
        """last_run_at is the created_at of the task's latest run."""
        triggered(api, TASK_HALLUCINATION, WINDOW)
        clock.advance(10)
        run = triggered(api, TASK_HALLUCINATION, WINDOW)
        task = api.get(f"/v2/tasks/{path_id(TASK_HALLUCINATION)}").json()
        assert run["created_at"] == task["last_run_at"]

    @pytest.mark.parametrize(
        ("task_id", "status"),
        [(UNKNOWN_TASK, 404), (MALFORMED, 400), (UNKNOWN_RUN, 404)],
    )
    def test_unknown_or_malformed(self, api: httpx.Client, task_id: str, status: int) -> None:
        """Unknown ids are 404, malformed ids 400 (§2.3)."""
        problem(api.get(f"/v2/tasks/{path_id(task_id)}"), status)


class TestTriggerEvaluation:
    """POST /v2/tasks/{id}/trigger on evaluation tasks (arize.md §3.1, §9.5-9.9)."""

    def test_creates_a_pending_run(self, api: httpx.Client) -> None:
        """201 with a PENDING run, zero counts, null times and the window echoed in ms."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW | {"max_spans": 5000})
        assert RUN_FIELDS == set(run)
        expected = {
            "task_id": TASK_HALLUCINATION,
            "status": "PENDING",
            "run_started_at": None,
            "run_finished_at": None,
            "data_start_time": "2026-05-01T00:00:00.000Z",
            "data_end_time": "2026-05-02T00:00:00.000Z",
            "num_successes": 0,
            "num_errors": 0,
            "num_skipped": 0,
            "created_at": START_ISO,
            "created_by_user_id": user_id(KEY),
            "failure_reason": None,
        }
        assert expected == {k: run[k] for k in expected}

    def test_accepts_other_rfc3339_forms(self, api: httpx.Client) -> None:
        """+00:00, other offsets and 0-6 fractional digits are accepted (§12.4)."""
        run = triggered(
            api,
            TASK_HALLUCINATION,
            {
                "data_start_time": "2026-05-01T02:00:00.123456+02:00",
                "data_end_time": "2026-05-02T00:00:00.5+00:00",
            },
        )
        assert ("2026-05-01T00:00:00.123Z", "2026-05-02T00:00:00.500Z") == (
            run["data_start_time"],
            run["data_end_time"],
        )

    def test_first_run_of_a_project_task_needs_a_start(self, api: httpx.Client) -> None:
        """Without data_start_time the first run of a project task is a 422 (§9.6, §9.9)."""
        problem(trigger(api, TASK_HALLUCINATION, {}), 422)
        problem(trigger(api, TASK_JSON), 422)

    def test_later_runs_default_to_the_last_run(self, api: httpx.Client, clock: Clock) -> None:
        """After a first run, the start defaults to last_run_at and the end to now."""
        first = triggered(api, TASK_HALLUCINATION, {"data_start_time": "2026-05-28T00:00:00Z"})
        assert START_ISO == first["data_end_time"]
        clock.advance(3600)
        second = triggered(api, TASK_HALLUCINATION)
        assert (first["created_at"], "2026-05-28T21:26:40.000Z") == (
            second["data_start_time"],
            second["data_end_time"],
        )

    def test_dataset_task_needs_no_window(self, api: httpx.Client) -> None:
        """A dataset-based evaluation task triggers with no body; its window stays null."""
        run = triggered(api, TASK_CORRECTNESS)
        assert (None, None) == (run["data_start_time"], run["data_end_time"])
        assert "experiment_id" not in run
        triggered(api, TASK_CORRECTNESS, {"experiment_ids": [EXPERIMENT_BASELINE]})

    def test_thirty_days_exactly_is_allowed(self, api: httpx.Client) -> None:
        """A window of exactly 30 days is accepted."""
        triggered(
            api,
            TASK_HALLUCINATION,
            {"data_start_time": "2026-04-01T00:00:00Z", "data_end_time": "2026-05-01T00:00:00Z"},
        )

    def test_overlapping_windows_are_allowed(self, api: httpx.Client) -> None:
        """The same window twice makes two runs, no 409 (§9.7)."""
        first = triggered(api, TASK_HALLUCINATION, WINDOW)
        second = triggered(api, TASK_HALLUCINATION, WINDOW)
        assert first["id"] != second["id"]

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            (
                {
                    "data_start_time": "2026-04-01T00:00:00Z",
                    "data_end_time": "2026-05-01T00:00:00.001Z",
                },
                422,
            ),
            (
                {
                    "data_start_time": "2026-05-02T00:00:00Z",
                    "data_end_time": "2026-05-01T00:00:00Z",
                },
                422,
            ),
            (
                {
                    "data_start_time": "2026-05-01T00:00:00Z",
                    "data_end_time": "2026-05-01T00:00:00Z",
                },
                422,
            ),
            ({"data_start_time": "2026-06-01T00:00:00Z"}, 422),
            (WINDOW | {"max_spans": 0}, 422),
            (WINDOW | {"max_spans": "10"}, 400),
            (WINDOW | {"max_spans": 1.5}, 400),
            (WINDOW | {"max_spans": True}, 400),
            (WINDOW | {"override_evaluations": "yes"}, 400),
            (
                {
                    "data_start_time": "2026-05-01T00:00:00",
                    "data_end_time": WINDOW["data_end_time"],
                },
                400,
            ),
            ({"data_start_time": "2026-05-01", "data_end_time": WINDOW["data_end_time"]}, 400),
            ({"data_start_time": 1777593600, "data_end_time": WINDOW["data_end_time"]}, 400),
            (
                {
                    "data_start_time": "2026-13-01T00:00:00Z",
                    "data_end_time": WINDOW["data_end_time"],
                },
                400,
            ),
            (WINDOW | {"experiment_ids": [EXPERIMENT_BASELINE]}, 400),
            (WINDOW | {"task_type": "TEMPLATE_EVALUATION"}, 400),
            (WINDOW | {"metadata": {"owner": "me"}}, 400),
            (WINDOW | {"experiment_name": "x"}, 400),
            (WINDOW | {"dataset_version_id": QA_VERSION_OLD}, 400),
            (WINDOW | {"example_ids": ["e1"]}, 400),
            (WINDOW | {"max_examples": 3}, 400),
            (WINDOW | {"tracing_metadata": {}}, 400),
            (WINDOW | {"evaluation_task_ids": []}, 400),
            (WINDOW | {"query_filter": "x"}, 400),
        ],
    )
    def test_invalid_bodies(self, api: httpx.Client, body: dict[str, Any], status: int) -> None:
        """Wrong types and foreign fields are 400, value rules 422 (§9.5, §9.6)."""
        problem(trigger(api, TASK_HALLUCINATION, body), status)

    def test_experiment_ids_must_be_strings(self, api: httpx.Client) -> None:
        """experiment_ids on a dataset task must be an array of strings."""
        problem(trigger(api, TASK_CORRECTNESS, {"experiment_ids": [1]}), 400)

    @pytest.mark.parametrize("content", [b"{not json", b"[]", b'"x"'])
    def test_body_must_be_a_json_object(self, api: httpx.Client, content: bytes) -> None:
        """A body that is not JSON, or not an object, is a 400."""
        response = api.post(
            f"/v2/tasks/{path_id(TASK_CORRECTNESS)}/trigger",
            content=content,
            headers={"content-type": "application/json"},
        )
        problem(response, 400)

    @pytest.mark.parametrize(("task_id", "status"), [(UNKNOWN_TASK, 404), (MALFORMED, 400)])
    def test_unknown_task(self, api: httpx.Client, task_id: str, status: int) -> None:
        """Triggering an unknown task is 404, a malformed id 400."""
        problem(trigger(api, task_id, WINDOW), status)


class TestTriggerExperiment:
    """POST /v2/tasks/{id}/trigger on RUN_EXPERIMENT tasks (arize.md §3.1, §9.7, §12.3)."""

    def test_creates_a_pending_run_without_experiment(self, api: httpx.Client) -> None:
        """201 with a PENDING run whose experiment_id and window are null."""
        run = triggered(api, TASK_EXPERIMENT, {"experiment_name": "prompt-v2"})
        assert RUN_FIELDS | {"experiment_id"} == set(run)
        assert ("PENDING", None, None, None) == (
            run["status"],
            run["experiment_id"],
            run["data_start_time"],
            run["data_end_time"],
        )

    def test_accepts_every_documented_field(self, api: httpx.Client) -> None:
        """All RUN_EXPERIMENT fields together are accepted."""
        triggered(
            api,
            TASK_EXPERIMENT,
            {
                "experiment_name": "full",
                "dataset_version_id": QA_VERSION_OLD,
                "example_ids": ["ex-1", "ex-2"],
                "tracing_metadata": {"owner": "ci"},
                "evaluation_task_ids": [TASK_CORRECTNESS],
                "query_filter": "label = 'x'",
            },
        )

    def test_reused_name_is_409(self, api: httpx.Client) -> None:
        """A name already used in the dataset is a 409, whoever triggered the first (§9.7)."""
        triggered(api, TASK_EXPERIMENT, {"experiment_name": "prompt-v2"})
        with client(str(api.base_url), OTHER_KEY) as other:
            problem(trigger(other, TASK_EXPERIMENT, {"experiment_name": "prompt-v2"}), 409)

    def test_seeded_experiment_names_are_taken(self, api: httpx.Client) -> None:
        """The seeded experiment `baseline` makes that name a 409 in its dataset only."""
        problem(trigger(api, TASK_EXPERIMENT, {"experiment_name": "baseline"}), 409)
        triggered(api, TASK_AGENT, {"experiment_name": "baseline"})

    def test_names_are_per_dataset(self, api: httpx.Client) -> None:
        """The same name on a task of another dataset is accepted."""
        triggered(api, TASK_EXPERIMENT, {"experiment_name": "shared"})
        triggered(api, TASK_AGENT, {"experiment_name": "shared"})

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({}, 422),
            ({"experiment_name": ""}, 422),
            ({"experiment_name": "x" * 256}, 422),
            ({"experiment_name": 'say "hi"'}, 422),
            ({"experiment_name": "back\\slash"}, 422),
            ({"experiment_name": 7}, 400),
            ({"experiment_name": "e", "example_ids": ["a"], "max_examples": 1}, 422),
            ({"experiment_name": "e", "max_examples": 0}, 422),
            ({"experiment_name": "e", "max_examples": "3"}, 400),
            ({"experiment_name": "e", "example_ids": "a"}, 400),
            ({"experiment_name": "e", "tracing_metadata": {"n": 1}}, 400),
            ({"experiment_name": "e", "tracing_metadata": ["a"]}, 400),
            (
                {"experiment_name": "e", "dataset_version_id": "RGF0YXNldFZlcnNpb246MzM6c2VlZA=="},
                422,
            ),
            ({"experiment_name": "e", "dataset_version_id": 3}, 400),
            ({"experiment_name": "e", "evaluation_task_ids": [TASK_AGENT]}, 422),
            ({"experiment_name": "e", "evaluation_task_ids": [UNKNOWN_TASK]}, 422),
            ({"experiment_name": "e", "evaluation_task_ids": [3]}, 400),
            ({"experiment_name": "e", "query_filter": 3}, 400),
            ({"experiment_name": "e", "data_start_time": "2026-05-01T00:00:00Z"}, 400),
            ({"experiment_name": "e", "data_end_time": "2026-05-01T00:00:00Z"}, 400),
            ({"experiment_name": "e", "max_spans": 10}, 400),
            ({"experiment_name": "e", "override_evaluations": True}, 400),
            ({"experiment_name": "e", "experiment_ids": []}, 400),
            ({"experiment_name": "e", "name": "e"}, 400),
        ],
    )
    def test_invalid_bodies(self, api: httpx.Client, body: dict[str, Any], status: int) -> None:
        """Wrong types and evaluation fields are 400, value rules 422 (§9.5, §9.6, §12.3)."""
        problem(trigger(api, TASK_EXPERIMENT, body), status)

    def test_no_body_is_422(self, api: httpx.Client) -> None:
        """No body at all lacks experiment_name: 422."""
        problem(api.post(f"/v2/tasks/{path_id(TASK_EXPERIMENT)}/trigger"), 422)


class TestGetRun:
    """GET /v2/task-runs/{run_id} (arize.md §3.2)."""

    def test_returns_the_run(self, api: httpx.Client) -> None:
        """A run reads back as it was created."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW)
        assert run == get_run(api, run["id"])

    @pytest.mark.parametrize(
        ("run_id", "status"), [(UNKNOWN_RUN, 404), (MALFORMED, 400), (TASK_HALLUCINATION, 404)]
    )
    def test_unknown_or_malformed(self, api: httpx.Client, run_id: str, status: int) -> None:
        """An unknown run is 404, a malformed id 400, a task's id 404."""
        problem(api.get(f"/v2/task-runs/{path_id(run_id)}"), status)

    def test_runs_are_visible_to_every_key(self, api: httpx.Client) -> None:
        """Another key reads the run, with the triggering key's created_by_user_id (§8)."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW)
        with client(str(api.base_url), OTHER_KEY) as other:
            assert user_id(KEY) == get_run(other, run["id"])["created_by_user_id"]


class TestCreatedBy:
    """created_by_user_id derives from the API key (arize.md §8)."""

    def test_same_key_same_user_other_key_other_user(self, api: httpx.Client) -> None:
        """Runs of one key share a user id; another key gets another one."""
        first = triggered(api, TASK_HALLUCINATION, WINDOW)
        second = triggered(api, TASK_JSON, WINDOW)
        with client(str(api.base_url), OTHER_KEY) as other:
            third = triggered(other, TASK_HALLUCINATION, WINDOW)
        assert [user_id(KEY), user_id(KEY), user_id(OTHER_KEY)] == [
            r["created_by_user_id"] for r in (first, second, third)
        ]
        assert user_id(KEY) != user_id(OTHER_KEY)

    def test_user_id_decodes_to_a_user_global_id(self) -> None:
        """The id is standard base64 of `User:<n>:<tag>`."""
        decoded = base64.b64decode(user_id(KEY)).decode()
        assert "User" == decoded.split(":")[0]
        assert decoded.split(":")[1].isdigit()


class TestListRuns:
    """GET /v2/tasks/{task_id}/runs (arize.md §3.3, §5, §9.10-9.12)."""

    def test_empty(self, api: httpx.Client) -> None:
        """A task without runs lists none and has no more."""
        assert {"task_runs": [], "pagination": {"has_more": False}} == runs_page(
            api, TASK_HALLUCINATION
        )

    def test_newest_first_and_only_this_task(self, api: httpx.Client, clock: Clock) -> None:
        """Runs come newest first, and only the task's own."""
        ids = []
        for _ in range(3):
            ids.append(triggered(api, TASK_HALLUCINATION, WINDOW)["id"])
            triggered(api, TASK_JSON, WINDOW)
            clock.advance(1)
        assert ids[::-1] == [r["id"] for r in runs_page(api, TASK_HALLUCINATION)["task_runs"]]

    def test_runs_of_other_keys_are_listed(self, api: httpx.Client) -> None:
        """The list holds every caller's runs, told apart by created_by_user_id."""
        triggered(api, TASK_HALLUCINATION, WINDOW)
        with client(str(api.base_url), OTHER_KEY) as other:
            triggered(other, TASK_HALLUCINATION, WINDOW)
        creators = {
            r["created_by_user_id"] for r in runs_page(api, TASK_HALLUCINATION)["task_runs"]
        }
        assert {user_id(KEY), user_id(OTHER_KEY)} == creators

    def test_status_filter(self, api: httpx.Client, clock: Clock) -> None:
        """status keeps the runs in that status only."""
        old = triggered(api, TASK_HALLUCINATION, WINDOW | {"override_evaluations": True})
        clock.advance(86400)
        new = triggered(api, TASK_HALLUCINATION, WINDOW)
        finished = get_run(api, old["id"])["status"]
        assert [new["id"]] == [
            r["id"] for r in runs_page(api, TASK_HALLUCINATION, status="PENDING")["task_runs"]
        ]
        assert [old["id"]] == [
            r["id"] for r in runs_page(api, TASK_HALLUCINATION, status=finished)["task_runs"]
        ]
        assert [] == runs_page(api, TASK_HALLUCINATION, status="RUNNING")["task_runs"]

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ({"status": "pending"}, 400),
            ({"status": "COMPLETE"}, 400),
            ({"status": "PENDING,RUNNING"}, 400),
            ({"limit": "0"}, 422),
            ({"limit": "101"}, 422),
            ({"limit": "1.5"}, 400),
            ({"cursor": "not-a-cursor"}, 400),
        ],
    )
    def test_invalid_queries(self, api: httpx.Client, query: dict[str, str], status: int) -> None:
        """UPPERCASE single statuses, limit 1-100, valid cursors only (§9.3, §9.11, §9.12)."""
        problem(api.get(f"/v2/tasks/{path_id(TASK_HALLUCINATION)}/runs", params=query), status)

    @pytest.mark.parametrize(("task_id", "status"), [(UNKNOWN_TASK, 404), (MALFORMED, 400)])
    def test_unknown_task(self, api: httpx.Client, task_id: str, status: int) -> None:
        """Listing the runs of an unknown task is a 404 (§3.3), of a malformed id a 400."""
        problem(api.get(f"/v2/tasks/{path_id(task_id)}/runs"), status)

    def test_pages_every_run_exactly_once(
        self, served: tuple[emulator.EmulatorServer, httpx.Client]
    ) -> None:
        """250 runs over pages of 50 (default) and 100 each appear exactly once, newest first."""
        server, http = served
        ids = server.arize.seed_runs(KEY, 250, task_id=TASK_HALLUCINATION)
        path = f"/v2/tasks/{path_id(TASK_HALLUCINATION)}/runs"
        first = http.get(path).json()
        assert 50 == len(first["task_runs"])
        assert ids[::-1] == [r["id"] for r in walk(http, path, "task_runs")]
        assert ids[::-1] == [r["id"] for r in walk(http, path, "task_runs", limit=100)]

    def test_ties_are_broken_by_id(self, api: httpx.Client) -> None:
        """Runs created at the same moment come in descending id order (§9.10)."""
        ids = [triggered(api, TASK_HALLUCINATION, WINDOW)["id"] for _ in range(12)]
        assert sorted(ids, reverse=True) == [
            r["id"]
            for r in walk(
                api, f"/v2/tasks/{path_id(TASK_HALLUCINATION)}/runs", "task_runs", limit=5
            )
        ]

    def test_cursor_is_tied_to_task_and_status(
        self, served: tuple[emulator.EmulatorServer, httpx.Client]
    ) -> None:
        """A cursor reused on another task or with another status is a 400 (§9.11)."""
        server, http = served
        server.arize.seed_runs(KEY, 5, task_id=TASK_HALLUCINATION)
        server.arize.seed_runs(KEY, 5, task_id=TASK_JSON)
        cursor = runs_page(http, TASK_HALLUCINATION, limit=2)["pagination"]["next_cursor"]
        problem(http.get(f"/v2/tasks/{path_id(TASK_JSON)}/runs", params={"cursor": cursor}), 400)
        problem(
            http.get(
                f"/v2/tasks/{path_id(TASK_HALLUCINATION)}/runs",
                params={"cursor": cursor, "status": "PENDING"},
            ),
            400,
        )
        assert 2 == len(runs_page(http, TASK_HALLUCINATION, limit=2, cursor=cursor)["task_runs"])


def advance_until(
    http: httpx.Client, clock: Clock, run_id: str, done: Callable[[Any], bool]
) -> list[Any]:
    """Advance the clock 1 s at a time until `done(run)`; return every reading."""
    readings = [get_run(http, run_id)]
    for _ in range(2000):
        if done(readings[-1]):
            return readings
        clock.advance(1)
        readings.append(get_run(http, run_id))
    raise AssertionError("the run never got there")


class TestLifecycle:
    """Runs advance with clock times time_scale (arize.md §4, §9.15)."""

    def test_pending_running_terminal(self, api: httpx.Client, clock: Clock) -> None:
        """A run goes PENDING, RUNNING, then terminal, counts only growing, times set once."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW | {"override_evaluations": True})
        readings = advance_until(api, clock, run["id"], lambda r: r["status"] in TERMINAL)
        statuses = list(dict.fromkeys(r["status"] for r in readings))
        assert ["PENDING", "RUNNING"] == statuses[:2]
        assert statuses[2] in {"COMPLETED", "FAILED"}
        for before, after in itertools.pairwise(readings):
            for field in ("num_successes", "num_errors", "num_skipped"):
                assert before[field] <= after[field]
        last = readings[-1]
        assert last["run_started_at"] is not None
        assert last["run_finished_at"] is not None
        assert last["run_started_at"] == readings[-2]["run_started_at"]
        assert sum(last[f] for f in ("num_successes", "num_errors", "num_skipped")) <= 10_000
        clock.advance(86400)
        assert last == get_run(api, run["id"])

    def test_outcomes(self, api: httpx.Client, clock: Clock) -> None:
        """Over many runs all three terminal states occur, each with its failure_reason rule."""
        ids = [triggered(api, TASK_HALLUCINATION, WINDOW)["id"] for _ in range(60)]
        clock.advance(86400)
        runs = [get_run(api, i) for i in ids]
        assert TERMINAL == {r["status"] for r in runs}
        for run in runs:
            counts = (run["num_successes"], run["num_errors"], run["num_skipped"])
            if run["status"] == "COMPLETED":
                assert None is run["failure_reason"]
                assert counts[0] > 0
            else:
                assert isinstance(run["failure_reason"], str)
                assert run["failure_reason"]
            if run["status"] == "CANCELLED":  # the server's "nothing new to label"
                assert (0, 0, 0) == counts
                assert "override_evaluations" in run["failure_reason"]
        assert any(r["status"] == "COMPLETED" and r["num_errors"] > 0 for r in runs)

    def test_override_means_no_server_cancel(self, api: httpx.Client, clock: Clock) -> None:
        """With override_evaluations the server never ends a run CANCELLED."""
        ids = [
            triggered(api, TASK_HALLUCINATION, WINDOW | {"override_evaluations": True})["id"]
            for _ in range(40)
        ]
        clock.advance(86400)
        assert {"CANCELLED"}.isdisjoint({get_run(api, i)["status"] for i in ids})

    def test_max_spans_caps_the_counts(self, api: httpx.Client, clock: Clock) -> None:
        """successes + errors + skipped never exceed max_spans."""
        ids = [
            triggered(
                api, TASK_HALLUCINATION, WINDOW | {"max_spans": 7, "override_evaluations": True}
            )["id"]
            for _ in range(10)
        ]
        clock.advance(86400)
        for run in (get_run(api, i) for i in ids):
            assert run["num_successes"] + run["num_errors"] + run["num_skipped"] <= 7

    def test_time_scale_speeds_runs_up(self, start_emulator: Start, clock: Clock) -> None:
        """At time scale 1000 a run is finished after a few real seconds of clock."""
        with client(start_emulator(seed=7, clock=clock, time_scale=1000)) as http:
            run = triggered(http, TASK_HALLUCINATION, WINDOW)
            clock.advance(5)
            assert get_run(http, run["id"])["status"] in TERMINAL

    def test_experiment_lifecycle(self, api: httpx.Client, clock: Clock) -> None:
        """A RUN_EXPERIMENT run gets its experiment_id when it starts RUNNING (§4)."""
        run = triggered(api, TASK_EXPERIMENT, {"experiment_name": "lifecycle"})
        readings = advance_until(api, clock, run["id"], lambda r: r["status"] in TERMINAL)
        for reading in readings:
            assert (reading["status"] == "PENDING") == (reading["experiment_id"] is None)
            assert 0 == reading["num_skipped"]
        assert readings[-1]["num_successes"] + readings[-1]["num_errors"] <= 120

    def test_max_examples_bounds_experiment_counts(self, api: httpx.Client, clock: Clock) -> None:
        """An experiment over max_examples examples counts at most that many."""
        run = triggered(api, TASK_EXPERIMENT, {"experiment_name": "small", "max_examples": 5})
        clock.advance(86400)
        final = get_run(api, run["id"])
        assert final["num_successes"] + final["num_errors"] <= 5


class TestCancel:
    """POST /v2/task-runs/{run_id}/cancel (arize.md §3.4, §9.1, §9.2)."""

    def test_cancel_pending(self, api: httpx.Client, clock: Clock) -> None:
        """A PENDING run cancels at once: CANCELLED, finished now, never started, counts 0."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW)
        clock.advance(1)
        response = cancel(api, run["id"])
        assert 200 == response.status_code
        cancelled = response.json()
        expected = {
            "status": "CANCELLED",
            "run_started_at": None,
            "run_finished_at": "2026-05-28T20:26:41.000Z",
            "num_successes": 0,
            "failure_reason": "Cancelled by user",
        }
        assert expected == {k: cancelled[k] for k in expected}
        clock.advance(86400)
        assert cancelled == get_run(api, run["id"])

    def test_cancel_running_freezes_counts(self, api: httpx.Client, clock: Clock) -> None:
        """A RUNNING run cancels with its counts frozen at the cancel moment."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW | {"override_evaluations": True})
        advance_until(api, clock, run["id"], lambda r: r["num_successes"] > 0)
        cancelled = cancel(api, run["id"]).json()
        assert "CANCELLED" == cancelled["status"]
        assert cancelled["run_started_at"] is not None
        clock.advance(86400)
        assert cancelled == get_run(api, run["id"])

    def test_cancel_pending_experiment_never_provisions(
        self, api: httpx.Client, clock: Clock
    ) -> None:
        """A run cancelled while PENDING gets no experiment_id; its name stays taken."""
        run = triggered(api, TASK_EXPERIMENT, {"experiment_name": "doomed"})
        cancel(api, run["id"])
        clock.advance(86400)
        assert None is get_run(api, run["id"])["experiment_id"]
        problem(trigger(api, TASK_EXPERIMENT, {"experiment_name": "doomed"}), 409)

    def test_cancel_terminal_is_400(self, api: httpx.Client, clock: Clock) -> None:
        """Cancelling a finished run is a 400 Problem and leaves it unchanged."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW | {"override_evaluations": True})
        clock.advance(86400)
        before = get_run(api, run["id"])
        assert before["status"] in {"COMPLETED", "FAILED"}
        problem(cancel(api, run["id"]), 400)
        assert before == get_run(api, run["id"])

    def test_cancel_twice_is_400(self, api: httpx.Client) -> None:
        """Cancelling an already CANCELLED run is the same 400."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW)
        assert 200 == cancel(api, run["id"]).status_code
        problem(cancel(api, run["id"]), 400)

    @pytest.mark.parametrize(("run_id", "status"), [(UNKNOWN_RUN, 404), (MALFORMED, 400)])
    def test_unknown_or_malformed(self, api: httpx.Client, run_id: str, status: int) -> None:
        """Cancelling an unknown run is 404, a malformed id 400."""
        problem(cancel(api, run_id), status)

    def test_any_key_may_cancel(self, api: httpx.Client) -> None:
        """A run is cancellable by another key of the account."""
        run = triggered(api, TASK_HALLUCINATION, WINDOW)
        with client(str(api.base_url), OTHER_KEY) as other:
            assert 200 == cancel(other, run["id"]).status_code


class TestExperiments:
    """GET /v2/experiments and /v2/experiments/{id} (arize.md §12.9)."""

    def test_lists_the_seeded_experiments(self, api: httpx.Client) -> None:
        """The two seeded experiments are listed, newest first, with every field."""
        page = api.get("/v2/experiments").json()
        assert [EXPERIMENT_AGENT, EXPERIMENT_BASELINE] == [e["id"] for e in page["experiments"]]
        assert all(EXPERIMENT_FIELDS == set(e) for e in page["experiments"])
        assert {"has_more": False} == page["pagination"]

    def test_get_seeded(self, api: httpx.Client) -> None:
        """A seeded experiment reads back by its percent-encoded id."""
        found = api.get(f"/v2/experiments/{path_id(EXPERIMENT_BASELINE)}").json()
        assert ("baseline", SPACE_MAIN, DATASET_QA) == (
            found["name"],
            found["space_id"],
            found["dataset_id"],
        )

    def test_name_lookup_after_provisioning(self, api: httpx.Client, clock: Clock) -> None:
        """Once experiment_id is set, the experiment's exact name is the trigger's name."""
        run = triggered(api, TASK_EXPERIMENT, {"experiment_name": "prompt-v2"})
        assert [] == api.get("/v2/experiments", params={"name": "prompt-v2"}).json()["experiments"]
        readings = advance_until(api, clock, run["id"], lambda r: r["experiment_id"] is not None)
        experiment_id = readings[-1]["experiment_id"]
        found = api.get(f"/v2/experiments/{path_id(experiment_id)}").json()
        assert ("prompt-v2", DATASET_QA, SPACE_MAIN, readings[-1]["run_started_at"]) == (
            found["name"],
            found["dataset_id"],
            found["space_id"],
            found["created_at"],
        )
        listed = api.get(
            "/v2/experiments", params={"dataset_id": DATASET_QA, "name": "PROMPT"}
        ).json()
        assert [experiment_id] == [e["id"] for e in listed["experiments"]]

    def test_unprovisioned_experiment_is_404(self, api: httpx.Client) -> None:
        """The id an experiment will get answers 404 before the run starts."""
        triggered(api, TASK_EXPERIMENT, {"experiment_name": "later"})
        problem(api.get("/v2/experiments/" + path_id("RXhwZXJpbWVudDoxMDAxOjAwMDA=")), 404)

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"dataset_id": DATASET_AGENT}, [EXPERIMENT_AGENT]),
            ({"space_id": SPACE_MAIN}, [EXPERIMENT_BASELINE]),
            ({"name": "BASE"}, [EXPERIMENT_BASELINE]),
            ({"limit": "1"}, [EXPERIMENT_AGENT]),
        ],
    )
    def test_filters(self, api: httpx.Client, query: dict[str, str], expected: list[str]) -> None:
        """dataset_id, space_id, name and limit narrow the list."""
        found = api.get("/v2/experiments", params=query).json()["experiments"]
        assert expected == [e["id"] for e in found]

    def test_pages(
        self, served: tuple[emulator.EmulatorServer, httpx.Client], clock: Clock
    ) -> None:
        """Provisioned experiments page like the other lists, each exactly once."""
        server, http = served
        server.arize.seed_runs(KEY, 30, task_id=TASK_EXPERIMENT, spacing_s=3600)
        found = walk(http, "/v2/experiments", "experiments", limit=7)
        assert 32 == len({e["id"] for e in found}) == len(found)
        assert {f"seed-{n}" for n in range(1, 31)} | {"baseline", "agent-v1"} == {
            e["name"] for e in found
        }

    @pytest.mark.parametrize(
        ("path", "query", "status"),
        [
            (
                "/v2/experiments/" + path_id(base64.b64encode(b"Experiment:9:seed").decode()),
                {},
                404,
            ),
            ("/v2/experiments/" + MALFORMED, {}, 400),
            ("/v2/experiments/" + path_id(TASK_EXPERIMENT), {}, 404),
            ("/v2/experiments", {"dataset_id": base64.b64encode(b"Dataset:9:x").decode()}, 404),
            ("/v2/experiments", {"space_id": MALFORMED}, 400),
            ("/v2/experiments", {"limit": "101"}, 422),
            ("/v2/experiments", {"name": "n" * 256}, 422),
            ("/v2/experiments", {"cursor": "zzz"}, 400),
        ],
    )
    def test_errors(self, api: httpx.Client, path: str, query: dict[str, str], status: int) -> None:
        """Unknown experiments and scoping resources are 404; bad ids and cursors 400."""
        problem(api.get(path, params=query), status)


class TestDeterminism:
    """Outcomes come from the seed (arize.md §9.15)."""

    def outcomes(self, start_emulator: Start, seed: int) -> list[Any]:
        clock = Clock(START)
        with client(start_emulator(seed=seed, clock=clock)) as http:
            ids = [triggered(http, TASK_HALLUCINATION, WINDOW)["id"] for _ in range(8)]
            clock.advance(30)
            middle = [get_run(http, i) for i in ids]
            clock.advance(86400)
            return middle + [get_run(http, i) for i in ids]

    def test_same_seed_same_runs(self, start_emulator: Start) -> None:
        """Two emulators with one seed and one clock give the same ids, states and counts."""
        assert self.outcomes(start_emulator, 3) == self.outcomes(start_emulator, 3)

    def test_other_seed_other_runs(self, start_emulator: Start) -> None:
        """Another seed gives other run ids and outcomes."""
        assert self.outcomes(start_emulator, 3) != self.outcomes(start_emulator, 4)


class TestSeedRunsAndLegacy:
    """seed_runs for benchmarks, and the legacy lower-case switch (arize.md §9.3)."""

    def test_seed_runs_belong_to_the_key(
        self, served: tuple[emulator.EmulatorServer, httpx.Client]
    ) -> None:
        """Seeded evaluation runs carry the key's user id and one-hour windows."""
        server, http = served
        ids = server.arize.seed_runs(OTHER_KEY, 3, task_id=TASK_JSON)
        runs = [get_run(http, i) for i in ids]
        assert {user_id(OTHER_KEY)} == {r["created_by_user_id"] for r in runs}
        assert all(r["data_start_time"] < r["data_end_time"] for r in runs)

    def test_legacy_lowercase_output_and_input(
        self, served: tuple[emulator.EmulatorServer, httpx.Client]
    ) -> None:
        """With legacy_enums, statuses and types go out lower-case and filters accept them."""
        server, http = served
        server.arize.legacy_enums = True
        run = triggered(http, TASK_HALLUCINATION, WINDOW)
        assert "pending" == run["status"]
        assert [run["id"]] == [
            r["id"] for r in runs_page(http, TASK_HALLUCINATION, status="pending")["task_runs"]
        ]
        types = {
            t["type"]
            for t in http.get("/v2/tasks", params={"type": "code_evaluation"}).json()["tasks"]
        }
        assert {"code_evaluation"} == types

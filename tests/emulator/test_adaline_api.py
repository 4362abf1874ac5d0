"""The emulator's Adaline evaluations API, over HTTP, against shared/providers/adaline.md."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import emulator
from tests.clock import Clock

KEY = "test-key"
OTHER_KEY = "other-key"

PROJECT = "project_storefront_support_0001"
CHECKOUT = "prompt_checkout_assistant_0001"
REFUND = "prompt_refund_triage_0002"
RETIRED = "prompt_retired_greeting_0003"
ACCURACY = "evaluator_checkout_accuracy_0001"  # active, 40-row questions
LATENCY = "evaluator_checkout_latency_0002"  # active, 12-row edge cases
TONE = "evaluator_checkout_tone_legacy_0003"  # archived
POLICY = "evaluator_refund_policy_match_0004"  # active, 120-row refund requests
REFUND_COST = "evaluator_refund_cost_legacy_0005"  # archived
GREETING = "evaluator_greeting_length_legacy_0006"  # archived, the retired prompt's only one
QUESTIONS = "dataset_checkout_questions_0001"
EDGE_CASES = "dataset_checkout_edge_cases_0002"
REFUNDS = "dataset_refund_requests_0003"
EMPTY = "dataset_empty_placeholder_0004"
UNKNOWN = "unknown_identifier_0000000"
SHORT = "x" * 19
LONG = "x" * 81

EVALUATION_FIELDS = {
    "runId",
    "evaluatorId",
    "datasetId",
    "status",
    "progress",
    "metrics",
    "timeline",
}
RESULT_FIELDS = {
    "id",
    "rowId",
    "grade",
    "score",
    "reason",
    "cost",
    "latency",
    "tokenCount",
    "createdAt",
}
TERMINAL = {"completed", "failed", "cancelled"}
START = 1_780_000_000.0  # 2026-05-28
MIN_MS = 1_672_511_400_000


def runs_path(prompt: str = CHECKOUT) -> str:
    return f"/v2/prompts/{prompt}/evaluations"


def run_path(run_id: str, prompt: str = CHECKOUT) -> str:
    return f"{runs_path(prompt)}/{run_id}"


Start = Callable[..., str]


def client(url: str, key: str | None = KEY, *, raw: bool = False) -> httpx.Client:
    """Return an HTTP client for `url` sending `Bearer key` (or `key` as is when `raw`)."""
    headers = {}
    if key is not None:
        headers["authorization"] = key if raw else f"Bearer {key}"
    return httpx.Client(base_url=url, headers=headers, timeout=10)


@pytest.fixture
def api(emulator_url: str) -> Iterator[httpx.Client]:
    with client(emulator_url) as http:
        yield http


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def timed(start_emulator: Start, clock: Clock) -> Iterator[httpx.Client]:
    """A client of an emulator (seed 7, time scale 1) that runs on the test clock."""
    with client(start_emulator(seed=7, clock=clock)) as http:
        yield http


@pytest.fixture
def seeded() -> Iterator[tuple[httpx.Client, list[str]]]:
    """A client of an emulator holding 250 runs of KEY under CHECKOUT (oldest first)."""
    server = emulator.make_server("127.0.0.1", 0, seed=7)
    ids = server.adaline.seed_runs(KEY, 250)
    with emulator.serve_in_thread(server) as url, client(url) as http:
        yield http, ids


def create(http: httpx.Client, prompt: str = CHECKOUT, **body: Any) -> dict[str, Any]:
    """Create runs and return the evaluation answered, failing on anything but 202."""
    payload = body or {"evaluatorId": ACCURACY, "datasetId": QUESTIONS}
    response = http.post(runs_path(prompt), json=payload)
    assert 202 == response.status_code, response.text
    data: dict[str, Any] = response.json()
    return data


def get(http: httpx.Client, run_id: str, prompt: str = CHECKOUT) -> dict[str, Any]:
    response = http.get(run_path(run_id, prompt))
    assert 200 == response.status_code, response.text
    data: dict[str, Any] = response.json()
    return data


def listing(http: httpx.Client, prompt: str = CHECKOUT, **query: Any) -> dict[str, Any]:
    response = http.get(runs_path(prompt), params=query)
    assert 200 == response.status_code, response.text
    data: dict[str, Any] = response.json()
    return data


def results(http: httpx.Client, run_id: str, **query: Any) -> dict[str, Any]:
    response = http.get(f"{run_path(run_id)}/results", params=query)
    assert 200 == response.status_code, response.text
    data: dict[str, Any] = response.json()
    return data


def ids_of(page: dict[str, Any]) -> list[str]:
    return [item["runId"] for item in page["evaluations"]]


def walk(http: httpx.Client, path: str, key: str, **query: Any) -> list[dict[str, Any]]:
    """Follow nextCursor from the first page to the last; return every item in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = dict(query, **({"cursor": cursor} if cursor else {}))
        response = http.get(path, params=params)
        assert 200 == response.status_code, response.text
        payload = response.json()
        items += payload[key]
        assert len(payload[key]) == payload["pagination"]["returned"]
        cursor = payload["pagination"]["nextCursor"]
        if not payload["pagination"]["hasMore"]:
            assert None is cursor
            return items


def owner(server: emulator.EmulatorServer, path: str) -> str | None:
    """Return the vendor whose mounts claim `path` in the server's one route table."""
    found = server.routes.find("GET", path)
    return found[0] if found is not None else None


def error_code(response: httpx.Response) -> str:
    """Return error.code of an error envelope, checking its shape (adaline.md §5)."""
    payload = response.json()
    assert {"error"} == set(payload)
    assert isinstance(payload["error"]["message"], str)
    code: str = payload["error"]["code"]
    return code


def detail_fields(response: httpx.Response) -> set[str]:
    """Return the `field`s of error.details, each item being exactly {field, issue}."""
    details = response.json()["error"]["details"]
    assert all({"field", "issue"} == set(d) for d in details)
    return {d["field"] for d in details}


def statuses(http: httpx.Client, run_ids: list[str]) -> list[str]:
    return [get(http, r)["status"] for r in run_ids]


class TestAuth:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", runs_path()),
            ("GET", runs_path()),
            ("GET", run_path("a" * 36)),
            ("POST", f"{run_path('a' * 36)}/cancel"),
            ("GET", f"{run_path('a' * 36)}/results"),
            ("GET", f"/v2/prompts/{CHECKOUT}/evaluators"),
            ("GET", f"/v2/prompts/{CHECKOUT}/evaluators/{ACCURACY}"),
            ("GET", "/v2/datasets"),
            ("GET", f"/v2/datasets/{QUESTIONS}"),
        ],
    )
    def test_every_route_needs_a_key(self, emulator_url, method, path):
        """Every route answers 401 AUTHENTICATION_REQUIRED without a key."""
        with client(emulator_url, key=None) as http:
            response = http.request(method, path)
        assert 401 == response.status_code
        assert "AUTHENTICATION_REQUIRED" == error_code(response)

    @pytest.mark.parametrize("header", ["", KEY, "Bearer", f"Basic {KEY}", f"Token {KEY}"])
    def test_a_key_without_a_bearer_token_is_401(self, emulator_url, header):
        """A raw key, an empty bearer token or another scheme is 401 (§9)."""
        with client(emulator_url, key=header, raw=True) as http:
            response = http.get(runs_path())
        assert 401 == response.status_code
        assert "AUTHENTICATION_REQUIRED" == error_code(response)

    def test_the_scheme_is_case_insensitive(self, emulator_url):
        """`bearer <key>` is the same key as `Bearer <key>`."""
        with client(emulator_url) as mine:
            run = create(mine)
        with client(emulator_url, key=f"bearer {KEY}", raw=True) as http:
            assert [run["runId"]] == ids_of(listing(http))

    def test_runs_of_one_key_are_invisible_to_another(self, api, emulator_url):
        """Each key is its own workspace: key B's list does not show key A's runs."""
        run = create(api)
        with client(emulator_url, key=OTHER_KEY) as other:
            assert [] == ids_of(listing(other))
        assert [run["runId"]] == ids_of(listing(api))

    @pytest.mark.parametrize(
        ("method", "suffix"), [("GET", ""), ("POST", "/cancel"), ("GET", "/results")]
    )
    def test_another_keys_run_is_404(self, api, emulator_url, method, suffix):
        """Key B cannot read, cancel or read results of key A's run (§10.26: 404)."""
        run = create(api)
        with client(emulator_url, key=OTHER_KEY) as other:
            response = other.request(method, run_path(run["runId"]) + suffix)
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)
        assert "queued" == get(api, run["runId"])["status"]

    def test_every_answer_carries_a_request_id(self, api):
        """Successes and errors both carry an x-request-id header (§10.36)."""
        assert api.get(runs_path()).headers["x-request-id"]
        assert api.get(run_path(UNKNOWN)).headers["x-request-id"]


class TestRouting:
    def test_an_unknown_route_is_404_in_the_envelope(self, api):
        """A path under /v2/prompts that is no endpoint is 404 RESOURCE_NOT_FOUND."""
        response = api.get(f"/v2/prompts/{CHECKOUT}/deployments")
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)

    def test_there_is_no_delete(self, api):
        """Runs cannot be deleted (§1): DELETE is 404 and the run stays."""
        run = create(api)
        assert 404 == api.delete(run_path(run["runId"])).status_code
        assert run["runId"] == get(api, run["runId"])["runId"]

    def test_only_adaline_paths_are_claimed(self):
        """The API claims /v2/prompts and /v2/datasets, never Arize's /v2 routes."""
        server = emulator.make_server("127.0.0.1", 0)
        try:
            claimed = {
                path: owner(server, path) == "adaline"
                for path in (
                    "/v2/prompts",
                    f"/v2/prompts/{CHECKOUT}/evaluations",
                    "/v2/datasets",
                    f"/v2/datasets/{QUESTIONS}",
                    "/v2/tasks",
                    "/v2/task-runs",
                    "/v2/experiments",
                    "/v2/spaces",
                    "/v2/datasetsX",
                    "/v1/evals/runs",
                )
            }
        finally:
            server.server_close()
        expected = {path: path.startswith(("/v2/prompts", "/v2/datasets/")) for path in claimed}
        expected["/v2/datasets"] = True
        assert expected == claimed

    def test_path_segments_are_percent_decoded(self, api):
        """An encoded path id is decoded before it is looked up (§13.6)."""
        run = create(api)
        encoded = run["runId"].replace("-", "%2D")
        response = api.get(
            f"/v2/prompts/prompt%5Fcheckout%5Fassistant%5F0001/evaluations/{encoded}"
        )
        assert 200 == response.status_code, response.text
        assert run["runId"] == response.json()["runId"]


INVALID_BODIES: dict[str, tuple[object, set[str]]] = {
    "evaluatorId too short": ({"evaluatorId": SHORT}, {"evaluatorId"}),
    "evaluatorId too long": ({"evaluatorId": LONG}, {"evaluatorId"}),
    "evaluatorId not a string": ({"evaluatorId": 12345}, {"evaluatorId"}),
    "evaluatorId null": ({"evaluatorId": None}, {"evaluatorId"}),
    "datasetId too short": ({"evaluatorId": ACCURACY, "datasetId": SHORT}, {"datasetId"}),
    "datasetId too long": ({"evaluatorId": ACCURACY, "datasetId": LONG}, {"datasetId"}),
    "unknown field": ({"evaluatorId": ACCURACY, "name": "nightly"}, {"name"}),
    "several issues at once": (
        {"evaluatorId": SHORT, "datasetId": LONG, "metadata": {}},
        {"evaluatorId", "datasetId", "metadata"},
    ),
    "body an array": ([ACCURACY], {"body"}),
    "body a string": ("evaluator", {"body"}),
}


class TestCreate:
    def test_create_answers_202_with_a_queued_run(self, api):
        """Create answers 202 with a queued evaluation: zero progress and metrics, null times."""
        response = api.post(runs_path(), json={"evaluatorId": ACCURACY, "datasetId": QUESTIONS})
        assert 202 == response.status_code
        run = response.json()
        assert EVALUATION_FIELDS == set(run)
        assert 36 == len(run["runId"])
        assert (ACCURACY, QUESTIONS, "queued") == (
            run["evaluatorId"],
            run["datasetId"],
            run["status"],
        )
        expected_progress = {"totalRows": 40, "completedRows": 0, "failedRows": 0, "percent": 0}
        assert expected_progress == run["progress"]
        expected_metrics = {
            "passRuns": 0,
            "failRuns": 0,
            "unknownRuns": 0,
            "totalCost": 0,
            "totalLatency": 0,
            "totalTokenCount": 0,
        }
        assert expected_metrics == run["metrics"]
        assert (None, None) == (run["timeline"]["startedAt"], run["timeline"]["finishedAt"])

    def test_submitted_at_is_the_clock_in_ms(self, timed, clock):
        """timeline.submittedAt is the emulator clock in epoch milliseconds."""
        assert int(START * 1000) == create(timed)["timeline"]["submittedAt"]

    def test_counters_are_strict_integers(self, api):
        """progress and the run counters are ints, never floats (§13.4)."""
        run = create(api)
        counters = [*run["progress"].values()] + [
            run["metrics"][k] for k in ("passRuns", "failRuns", "unknownRuns")
        ]
        assert all(type(v) is int for v in counters)

    def test_the_dataset_defaults_to_the_evaluators(self, api):
        """Without datasetId the evaluator's linked dataset is used (§10.4)."""
        run = create(api, evaluatorId=LATENCY)
        assert (EDGE_CASES, 12) == (run["datasetId"], run["progress"]["totalRows"])

    def test_another_dataset_is_accepted_and_echoed(self, api):
        """A datasetId other than the evaluator's overrides it (§10.4)."""
        run = create(api, evaluatorId=ACCURACY, datasetId=REFUNDS)
        assert (REFUNDS, 120) == (run["datasetId"], run["progress"]["totalRows"])

    @pytest.mark.parametrize("payload", [None, {}], ids=["no body", "empty object"])
    def test_without_evaluator_every_active_evaluator_runs(self, api, payload):
        """No evaluatorId makes one run per active evaluator and answers the first (§10.3, 23)."""
        response = api.post(runs_path(), json=payload) if payload else api.post(runs_path())
        assert 202 == response.status_code, response.text
        run = response.json()
        assert ACCURACY == run["evaluatorId"]
        page = listing(api)
        assert {ACCURACY, LATENCY} == {r["evaluatorId"] for r in page["evaluations"]}
        assert 2 == page["pagination"]["returned"]

    def test_without_evaluator_the_dataset_applies_to_every_run(self, api):
        """A datasetId with no evaluatorId is used by every run made."""
        create(api, datasetId=EMPTY)
        assert {EMPTY} == {r["datasetId"] for r in listing(api)["evaluations"]}

    def test_a_prompt_without_active_evaluators_is_400(self, api):
        """No evaluatorId on a prompt whose evaluators are all archived is 400 (§10.3)."""
        response = api.post(runs_path(RETIRED), json={})
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)
        assert {"evaluatorId"} == detail_fields(response)

    @pytest.mark.parametrize(("prompt", "evaluator"), [(CHECKOUT, TONE), (REFUND, REFUND_COST)])
    def test_an_archived_evaluator_is_400(self, api, prompt, evaluator):
        """An archived evaluator cannot run (§10.7), and no run is made."""
        response = api.post(runs_path(prompt), json={"evaluatorId": evaluator})
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)
        assert [] == ids_of(listing(api, prompt))

    @pytest.mark.parametrize(
        ("prompt", "payload"),
        [
            (UNKNOWN, {"evaluatorId": ACCURACY}),
            (CHECKOUT, {"evaluatorId": UNKNOWN}),
            (CHECKOUT, {"evaluatorId": POLICY}),
            (CHECKOUT, {"evaluatorId": ACCURACY, "datasetId": UNKNOWN}),
            (REFUND, {"datasetId": UNKNOWN}),
        ],
        ids=[
            "unknown prompt",
            "unknown evaluator",
            "evaluator of another prompt",
            "unknown dataset",
            "unknown dataset, all evaluators",
        ],
    )
    def test_unknown_references_are_404(self, api, prompt, payload):
        """Unknown prompt, evaluator or dataset is 404 RESOURCE_NOT_FOUND (§10.5)."""
        response = api.post(runs_path(prompt), json=payload)
        assert 404 == response.status_code, response.text
        assert "RESOURCE_NOT_FOUND" == error_code(response)
        assert [] == ids_of(listing(api)) + ids_of(listing(api, REFUND))

    @pytest.mark.parametrize(
        ("payload", "fields"), INVALID_BODIES.values(), ids=INVALID_BODIES.keys()
    )
    def test_invalid_bodies_are_400_with_details(self, api, payload, fields):
        """Each invalid body is 400 VALIDATION_ERROR naming every bad field (§5, §10.22)."""
        response = api.post(runs_path(), json=payload)
        assert 400 == response.status_code, response.text
        assert "VALIDATION_ERROR" == error_code(response)
        assert fields == detail_fields(response)
        assert [] == ids_of(listing(api))

    def test_malformed_json_is_400(self, api):
        """A body that is not JSON is a validation error in the same envelope."""
        response = api.post(
            runs_path(), content=b"{not json", headers={"content-type": "application/json"}
        )
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)

    @pytest.mark.parametrize("prompt", [SHORT, LONG])
    def test_a_bad_prompt_id_in_the_path_is_400(self, api, prompt):
        """A promptId outside 20-80 characters is 400 with details on promptId."""
        response = api.post(runs_path(prompt), json={"evaluatorId": ACCURACY})
        assert 400 == response.status_code
        assert {"promptId"} == detail_fields(response)

    @pytest.mark.parametrize("length", [20, 80])
    def test_id_length_boundaries_pass_validation(self, api, length):
        """Ids of exactly 20 and 80 characters are valid, so they reach the look-up (404)."""
        response = api.post(runs_path(), json={"evaluatorId": "e" * length})
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)

    def test_every_create_makes_a_new_run(self, api):
        """There is no idempotency (§10.24): the same body twice makes two runs."""
        first, second = create(api), create(api)
        assert first["runId"] != second["runId"]
        assert 2 == listing(api)["pagination"]["returned"]


class TestList:
    def test_the_envelope_has_evaluations_and_pagination(self, api):
        """An empty list still has every pagination key, nextCursor null (§13.5)."""
        expected = {
            "evaluations": [],
            "pagination": {"limit": 50, "returned": 0, "hasMore": False, "nextCursor": None},
        }
        assert expected == listing(api)

    def test_items_are_full_evaluations(self, api):
        """List items are the same objects get answers."""
        run = create(api)
        assert [get(api, run["runId"])] == listing(api)["evaluations"]

    def test_default_order_is_newest_first(self, timed, clock):
        """Without sort the list is createdAt:desc (§10.18); asc reverses it."""
        made = []
        for _ in range(3):
            made.append(create(timed)["runId"])
            clock.advance(1)
        assert made[::-1] == ids_of(listing(timed))
        assert made[::-1] == ids_of(listing(timed, sort="createdAt:desc"))
        assert made == ids_of(listing(timed, sort="createdAt:asc"))

    def test_ties_are_broken_by_run_id(self, timed):
        """Runs submitted in the same millisecond are ordered by runId (§10.17)."""
        timed.post(runs_path())  # two runs, same submittedAt
        create(timed, evaluatorId=ACCURACY)
        asc = ids_of(listing(timed, sort="createdAt:asc"))
        assert sorted(asc) == asc
        assert sorted(asc, reverse=True) == ids_of(listing(timed, sort="createdAt:desc"))

    def test_only_runs_of_the_prompt_are_listed(self, api):
        """A run made under one prompt is not in another prompt's list."""
        checkout, refund = create(api), create(api, REFUND, evaluatorId=POLICY)
        assert [checkout["runId"]] == ids_of(listing(api))
        assert [refund["runId"]] == ids_of(listing(api, REFUND))

    def test_filter_by_evaluator_and_dataset(self, api):
        """evaluatorId and datasetId filter on the run's own ids, alone and together."""
        accuracy = create(api, evaluatorId=ACCURACY)["runId"]
        latency = create(api, evaluatorId=LATENCY)["runId"]
        override = create(api, evaluatorId=ACCURACY, datasetId=EDGE_CASES)["runId"]
        assert {accuracy, override} == set(ids_of(listing(api, evaluatorId=ACCURACY)))
        assert {latency, override} == set(ids_of(listing(api, datasetId=EDGE_CASES)))
        assert [override] == ids_of(listing(api, evaluatorId=ACCURACY, datasetId=EDGE_CASES))

    def test_filter_by_status(self, timed, clock):
        """status filters on the status computed at the moment of the call."""
        old = create(timed, evaluatorId=LATENCY)["runId"]
        clock.advance(3600)
        new = create(timed)["runId"]
        final = get(timed, old)["status"]
        assert [new] == ids_of(listing(timed, status="queued"))
        assert [old] == ids_of(listing(timed, status=final))
        assert [] == ids_of(listing(timed, status="running"))

    def test_created_after_is_inclusive_and_before_exclusive(self, timed, clock):
        """createdAfter/createdBefore compare submittedAt in ms (§10.17)."""
        made = []
        for _ in range(3):
            made.append(create(timed))
            clock.advance(10)
        middle = made[1]["timeline"]["submittedAt"]
        assert [made[2]["runId"], made[1]["runId"]] == ids_of(listing(timed, createdAfter=middle))
        assert [made[0]["runId"]] == ids_of(listing(timed, createdBefore=middle))
        assert [made[1]["runId"]] == ids_of(
            listing(timed, createdAfter=middle, createdBefore=middle + 1)
        )

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"status": "done"}, "status"),
            ({"status": "COMPLETED"}, "status"),
            ({"sort": "createdAt"}, "sort"),
            ({"sort": "score:asc"}, "sort"),
            ({"limit": 0}, "limit"),
            ({"limit": 201}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"createdAfter": -1}, "createdAfter"),
            ({"createdBefore": "yesterday"}, "createdBefore"),
            ({"evaluatorId": SHORT}, "evaluatorId"),
            ({"datasetId": LONG}, "datasetId"),
            ({"cursor": ""}, "cursor"),
        ],
    )
    def test_invalid_queries_are_400(self, api, query, field):
        """Each invalid query parameter is 400 VALIDATION_ERROR naming it (§10.20)."""
        response = api.get(runs_path(), params=query)
        assert 400 == response.status_code, response.text
        assert "VALIDATION_ERROR" == error_code(response)
        assert {field} == detail_fields(response)

    def test_cancelling_is_a_valid_status_filter(self, api):
        """All six statuses are accepted as filters, cancelling included."""
        for status in ("queued", "running", "completed", "failed", "cancelled", "cancelling"):
            assert [] == ids_of(listing(api, status=status))

    @pytest.mark.parametrize(
        ("prompt", "query"),
        [
            (UNKNOWN, {}),
            (CHECKOUT, {"evaluatorId": UNKNOWN}),
            (CHECKOUT, {"evaluatorId": POLICY}),
            (CHECKOUT, {"datasetId": UNKNOWN}),
        ],
        ids=["unknown prompt", "unknown evaluator", "other prompt's evaluator", "unknown dataset"],
    )
    def test_unknown_references_are_404(self, api, prompt, query):
        """Listing under an unknown prompt, or filtering on an unknown id, is 404 (§10.5)."""
        response = api.get(runs_path(prompt), params=query)
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)

    def test_an_archived_evaluator_is_a_valid_filter(self, api):
        """Filtering on an archived evaluator of the prompt is fine (past runs exist)."""
        assert [] == ids_of(listing(api, evaluatorId=TONE))


class TestPagination:
    def test_every_run_comes_exactly_once_newest_first(self, seeded):
        """Walking 250 runs with limit 200 gives 200 + 50, each once, newest first."""
        http, made = seeded
        first = listing(http, limit=200)
        assert (200, 200, True) == (
            first["pagination"]["limit"],
            first["pagination"]["returned"],
            first["pagination"]["hasMore"],
        )
        walked = [r["runId"] for r in walk(http, runs_path(), "evaluations", limit=200)]
        assert made[::-1] == walked

    def test_ascending_walk_with_small_pages(self, seeded):
        """Walking oldest first 7 at a time also gives each run once, in order."""
        http, made = seeded
        walked = walk(http, runs_path(), "evaluations", limit=7, sort="createdAt:asc")
        assert made == [r["runId"] for r in walked]

    @pytest.mark.parametrize(
        ("sort", "newest_first"), [("createdAt:desc", True), ("createdAt:asc", False)]
    )
    def test_runs_submitted_in_the_same_millisecond_page_by_id(self, sort, newest_first):
        """30 runs with one submittedAt, 7 a page: each once, ties ordered by id (§10.18)."""
        server = emulator.make_server("127.0.0.1", 0, seed=7)
        made = server.adaline.seed_runs(KEY, 30, spacing_s=0)
        with emulator.serve_in_thread(server) as url, client(url) as http:
            walked = walk(http, runs_path(), "evaluations", limit=7, sort=sort)
        assert sorted(made, reverse=newest_first) == [r["runId"] for r in walked]

    def test_a_walk_within_filters_keeps_to_them(self, timed, clock):
        """Paging with an evaluator and a createdAfter bound gives exactly the runs inside."""
        ids = []
        for n in range(12):
            ids.append(create(timed, evaluatorId=ACCURACY if n % 3 else LATENCY)["runId"])
            clock.advance(1)
        after = int((START + 4) * 1000)
        walked = walk(
            timed, runs_path(), "evaluations", limit=2, evaluatorId=ACCURACY, createdAfter=after
        )
        expected = [i for n, i in enumerate(ids) if n % 3 and n >= 4][::-1]
        assert expected == [r["runId"] for r in walked]

    def test_the_default_limit_is_50(self, seeded):
        """Without limit a page holds 50 runs and points to the next."""
        http, _ = seeded
        page = listing(http)
        assert (50, 50, True) == (
            page["pagination"]["limit"],
            page["pagination"]["returned"],
            page["pagination"]["hasMore"],
        )
        assert isinstance(page["pagination"]["nextCursor"], str)

    def test_a_filtered_walk_covers_the_filter_exactly(self, seeded):
        """Paging a status filter gives every run of that status once."""
        http, _ = seeded
        everything = walk(http, runs_path(), "evaluations", limit=200)
        for status in {r["status"] for r in everything}:
            walked = walk(http, runs_path(), "evaluations", limit=30, status=status)
            expected = [r["runId"] for r in everything if r["status"] == status]
            assert expected == [r["runId"] for r in walked]

    @pytest.mark.parametrize(
        "change",
        [{"sort": "createdAt:asc"}, {"limit": 10}, {"status": "queued"}, {"evaluatorId": LATENCY}],
    )
    def test_a_cursor_reused_with_other_parameters_is_invalid(self, seeded, change):
        """A cursor is bound to the filters, sort and limit it came from (§10.19)."""
        http, _ = seeded
        cursor = listing(http, limit=20)["pagination"]["nextCursor"]
        response = http.get(runs_path(), params={"limit": 20, "cursor": cursor, **change})
        assert 400 == response.status_code
        assert "INVALID_CURSOR" == error_code(response)

    @pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "%%%"])
    def test_a_made_up_cursor_is_invalid(self, api, cursor):
        """A cursor the emulator never gave is 400 INVALID_CURSOR."""
        response = api.get(runs_path(), params={"cursor": cursor})
        assert 400 == response.status_code
        assert "INVALID_CURSOR" == error_code(response)

    def test_a_cursor_of_another_key_is_invalid(self, seeded):
        """Another workspace cannot page with this workspace's cursor."""
        http, _ = seeded
        cursor = listing(http, limit=20)["pagination"]["nextCursor"]
        with client(str(http.base_url), key=OTHER_KEY) as other:
            response = other.get(runs_path(), params={"limit": 20, "cursor": cursor})
        assert 400 == response.status_code
        assert "INVALID_CURSOR" == error_code(response)


class TestGet:
    def test_get_answers_the_run(self, api):
        """GET answers 200 with the same evaluation create answered."""
        run = create(api)
        assert run == get(api, run["runId"])

    def test_a_run_under_another_prompt_is_404(self, api):
        """A valid runId under a promptId it was not created under is 404 (§10.6)."""
        run = create(api)
        response = api.get(run_path(run["runId"], REFUND))
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)

    def test_an_unknown_run_is_404(self, api):
        """An unknown (well-formed) id is 404 RESOURCE_NOT_FOUND."""
        response = api.get(run_path(UNKNOWN))
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)

    def test_an_unknown_prompt_is_404(self, api):
        """An unknown prompt is 404 too."""
        assert 404 == api.get(run_path(UNKNOWN, UNKNOWN)).status_code

    @pytest.mark.parametrize(
        ("path", "field"),
        [
            (run_path(SHORT), "evaluationId"),
            (run_path(LONG), "evaluationId"),
            (run_path(UNKNOWN, SHORT), "promptId"),
        ],
    )
    def test_a_bad_path_id_is_400(self, api, path, field):
        """A path id outside 20-80 characters is 400 naming it."""
        response = api.get(path)
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)
        assert {field} == detail_fields(response)


def _sample(http: httpx.Client, clock: Clock, run_ids: list[str], until: float, step: float):
    """Yield the evaluations of `run_ids` every `step` seconds until `until`."""
    while clock.now < until:
        yield [get(http, r) for r in run_ids]
        clock.advance(step)


class TestLifecycle:
    def test_a_run_goes_queued_running_terminal(self, timed, clock):
        """A run is queued, then running with rising progress, then completed or failed."""
        run_id = create(timed)["runId"]
        seen, percents, counted = [], [], []
        for (run,) in _sample(timed, clock, [run_id], START + 400, 0.5):
            if not seen or seen[-1] != run["status"]:
                seen.append(run["status"])
            progress = run["progress"]
            percents.append(progress["percent"])
            counted.append(progress["completedRows"] + progress["failedRows"])
        assert ["queued", "running"] == seen[:2]
        assert seen[2] in ("completed", "failed")
        assert 3 == len(seen)
        assert sorted(percents) == percents
        assert sorted(counted) == counted

    def test_the_timeline_is_in_ms_and_ordered(self, timed, clock):
        """startedAt is set once running, finishedAt once terminal, all epoch ms (§10.2)."""
        run_id = create(timed)["runId"]
        clock.advance(3600)
        timeline = get(timed, run_id)["timeline"]
        assert MIN_MS <= timeline["submittedAt"] < timeline["startedAt"] < timeline["finishedAt"]
        assert all(type(v) is int for v in timeline.values())
        assert timeline["finishedAt"] <= (START + 3600) * 1000

    def test_progress_arithmetic(self, timed, clock):
        """percent = floor(100 * processed / total); the run counters sum to completedRows."""
        made = create(timed, REFUND, evaluatorId=POLICY)["runId"]
        for _ in range(60):
            clock.advance(7)
            response = timed.get(run_path(made, REFUND))
            run = response.json()
            progress, metrics = run["progress"], run["metrics"]
            processed = progress["completedRows"] + progress["failedRows"]
            assert 100 * processed // progress["totalRows"] == progress["percent"]
            assert progress["completedRows"] == (
                metrics["passRuns"] + metrics["failRuns"] + metrics["unknownRuns"]
            )

    def test_metrics_are_the_sums_of_the_results(self, timed, clock):
        """totalCost, totalLatency and totalTokenCount sum the visible result rows (§10.14)."""
        run_id = create(timed)["runId"]
        for _ in range(4):
            clock.advance(15)
            run = get(timed, run_id)
            rows = results(timed, run_id, limit=200)["results"]
            assert len(rows) == run["progress"]["completedRows"] + run["progress"]["failedRows"]
            assert round(sum(r["cost"] for r in rows), 6) == run["metrics"]["totalCost"]
            assert sum(r["latency"] for r in rows) == run["metrics"]["totalLatency"]
            assert sum(r["tokenCount"] for r in rows) == run["metrics"]["totalTokenCount"]

    def test_most_runs_complete_and_some_fail(self, timed, clock):
        """Over many runs most complete with every row and some fail part way."""
        made = [create(timed, evaluatorId=LATENCY)["runId"] for _ in range(60)]
        clock.advance(10 * 3600)
        finals = [get(timed, r) for r in made]
        counts = {s: sum(r["status"] == s for r in finals) for s in ("completed", "failed")}
        assert 60 == sum(counts.values())
        assert counts["completed"] > counts["failed"] >= 1
        for run in finals:
            progress = run["progress"]
            processed = progress["completedRows"] + progress["failedRows"]
            if run["status"] == "completed":
                assert (12, 100) == (processed, progress["percent"])
            else:
                assert processed < 12

    def test_a_terminal_run_never_changes(self, timed, clock):
        """Once terminal a run reads the same forever (§10.12)."""
        run_id = create(timed)["runId"]
        clock.advance(3600)
        before = get(timed, run_id)
        clock.advance(86_400)
        assert before == get(timed, run_id)

    def test_an_empty_dataset_completes_with_zeros(self, timed, clock):
        """A 0-row dataset goes queued -> running -> completed with zero progress (§10.16)."""
        run_id = create(timed, evaluatorId=LATENCY, datasetId=EMPTY)["runId"]
        seen = []
        for (run,) in _sample(timed, clock, [run_id], START + 20, 0.25):
            if not seen or seen[-1] != run["status"]:
                seen.append(run["status"])
        assert ["queued", "running", "completed"] == seen
        final = get(timed, run_id)
        assert {"totalRows": 0, "completedRows": 0, "failedRows": 0, "percent": 0} == final[
            "progress"
        ]
        assert 0 == final["metrics"]["totalTokenCount"]

    def test_at_most_five_run_at_once(self, timed, clock):
        """Eight runs of one workspace: never more than 5 running, and all 8 finish (§10.25)."""
        made = []
        for _ in range(8):
            made.append(create(timed, evaluatorId=LATENCY)["runId"])
            clock.advance(0.01)
        peak = 0
        for runs in _sample(timed, clock, made, START + 200, 0.5):
            active = sum(r["status"] in ("running", "cancelling") for r in runs)
            peak = max(peak, active)
            assert active <= 5
        assert 5 == peak
        assert set(statuses(timed, made)) <= TERMINAL

    def test_queued_runs_take_slots_first_come_first_served(self, timed, clock):
        """Runs 6-8 start in submission order, each when an earlier run finishes."""
        made = []
        for _ in range(8):
            made.append(create(timed, evaluatorId=LATENCY)["runId"])
            clock.advance(0.01)
        clock.advance(3600)
        timelines = [get(timed, r)["timeline"] for r in made]
        finishes = {t["finishedAt"] for t in timelines[:5]}
        late_starts = [t["startedAt"] for t in timelines[5:]]
        assert sorted(late_starts) == late_starts
        assert set(late_starts) <= finishes | {t["finishedAt"] for t in timelines[5:7]}
        assert min(late_starts) > min(t["startedAt"] for t in timelines[:5])

    def test_the_sixth_run_waits_queued(self, timed, clock):
        """While five runs are running the sixth stays queued."""
        made = []
        for _ in range(6):
            made.append(create(timed, evaluatorId=LATENCY)["runId"])
            clock.advance(0.01)
        clock.advance(5)  # every dispatch delay (1-4 s) is over, no 12-row run is done
        assert ["running"] * 5 + ["queued"] == statuses(timed, made)

    def test_the_cap_is_per_workspace(self, start_emulator, clock):
        """Another key's run starts even while this key has five running."""
        url = start_emulator(seed=7, clock=clock)
        with client(url) as mine, client(url, key=OTHER_KEY) as theirs:
            for _ in range(5):
                create(mine, evaluatorId=LATENCY)
            other = create(theirs, evaluatorId=LATENCY)["runId"]
            clock.advance(5)
            assert "running" == get(theirs, other)["status"]
            assert 5 == len(listing(mine, status="running")["evaluations"])

    def test_time_scale_speeds_runs_up(self, start_emulator, clock):
        """At time scale 60 a run is over 60 times sooner on the clock."""
        finished = []
        for scale in (1, 60):
            with client(start_emulator(seed=7, clock=clock, time_scale=scale)) as http:
                run_id = create(http)["runId"]
                clock.advance(3600)
                run = get(http, run_id)
                finished.append(run["timeline"]["finishedAt"] - run["timeline"]["submittedAt"])
                clock.advance(-3600)
        assert finished[1] * 50 < finished[0] < finished[1] * 70

    def test_the_real_clock_works(self, start_emulator):
        """With the wall clock and a huge time scale runs finish within a moment."""
        with client(start_emulator(seed=7, time_scale=100_000)) as http:
            run_id = create(http)["runId"]
            for _ in range(100):
                if get(http, run_id)["status"] in TERMINAL:
                    break
                threading.Event().wait(0.01)
            assert get(http, run_id)["status"] in TERMINAL


class TestDeterminism:
    def _story(self, url: str, clock: Clock) -> list[Any]:
        with client(url) as http:
            made = [create(http, evaluatorId=e)["runId"] for e in (ACCURACY, LATENCY, ACCURACY)]
            clock.advance(3600)
            return [(get(http, r), results(http, r, limit=200)) for r in made]

    def test_the_same_seed_gives_the_same_runs(self, start_emulator):
        """Two emulators with one seed and one clock give the same ids, outcomes and rows."""
        stories = []
        for _ in range(2):
            clock = Clock(START)
            stories.append(self._story(start_emulator(seed=11, clock=clock), clock))
        assert stories[0] == stories[1]

    def test_another_seed_gives_other_runs(self, start_emulator):
        """A different seed changes ids and metrics."""
        stories = []
        for seed in (11, 12):
            clock = Clock(START)
            stories.append(self._story(start_emulator(seed=seed, clock=clock), clock))
        assert stories[0] != stories[1]


class TestCancel:
    def test_cancelling_a_queued_run(self, timed, clock):
        """A queued run answers cancelling, then reads cancelled, never started (§10.10)."""
        run_id = create(timed)["runId"]
        response = timed.post(f"{run_path(run_id)}/cancel")
        assert 200 == response.status_code
        answer = response.json()
        assert ("cancelling", None) == (answer["status"], answer["timeline"]["finishedAt"])
        run = get(timed, run_id)
        assert "cancelled" == run["status"]
        assert (None, int(START * 1000)) == (
            run["timeline"]["startedAt"],
            run["timeline"]["finishedAt"],
        )
        clock.advance(3600)
        assert run == get(timed, run_id)

    def _running(self, http: httpx.Client, clock: Clock, evaluator: str = ACCURACY) -> str:
        """Create a run and advance the clock until it has processed two rows."""
        run_id = create(http, evaluatorId=evaluator)["runId"]
        for _ in range(400):
            run = get(http, run_id)
            if run["status"] == "running" and run["progress"]["completedRows"] >= 2:
                return run_id
            clock.advance(0.1)
        raise AssertionError("the run never got going")

    def test_cancelling_a_running_run_drains_the_row_in_flight(self, timed, clock):
        """A running run is cancelling until its row in flight ends, then cancelled (§10.10)."""
        run_id = self._running(timed, clock)
        before = get(timed, run_id)
        response = timed.post(f"{run_path(run_id)}/cancel")
        assert 200 == response.status_code
        assert "cancelling" == response.json()["status"]
        assert "cancelling" == get(timed, run_id)["status"]
        clock.advance(2.5)  # a row takes at most 2 s
        after = get(timed, run_id)
        assert "cancelled" == after["status"]
        processed = [
            r["progress"]["completedRows"] + r["progress"]["failedRows"] for r in (before, after)
        ]
        assert processed[0] + 1 == processed[1]
        assert before["timeline"]["startedAt"] == after["timeline"]["startedAt"]
        assert after["timeline"]["finishedAt"] <= clock.now * 1000
        clock.advance(3600)
        assert after == get(timed, run_id)

    def test_cancel_is_idempotent_while_cancelling(self, timed, clock):
        """Cancelling a cancelling run answers 200 with it unchanged (§10.9)."""
        run_id = self._running(timed, clock)
        first = timed.post(f"{run_path(run_id)}/cancel").json()
        second = timed.post(f"{run_path(run_id)}/cancel")
        assert 200 == second.status_code
        assert first == second.json()

    def test_cancel_frees_a_slot(self, timed, clock):
        """Cancelling one of five running runs lets the queued sixth start."""
        made = []
        for _ in range(6):
            made.append(create(timed)["runId"])
            clock.advance(0.01)
        clock.advance(5)
        assert "queued" == get(timed, made[5])["status"]
        timed.post(f"{run_path(made[0])}/cancel")
        clock.advance(2.5)
        assert ["cancelled", "running"] == statuses(timed, [made[0], made[5]])

    def test_terminal_runs_are_not_cancellable(self, timed, clock):
        """Cancelling a completed, failed or cancelled run is 400, state unchanged (§10.8)."""
        made = [create(timed, evaluatorId=LATENCY)["runId"] for _ in range(20)]
        timed.post(f"{run_path(made[0])}/cancel")
        clock.advance(10 * 3600)
        finals = {get(timed, r)["status"]: r for r in made}
        assert {"completed", "failed", "cancelled"} == set(finals)
        for status, run_id in finals.items():
            before = get(timed, run_id)
            response = timed.post(f"{run_path(run_id)}/cancel")
            assert 400 == response.status_code, status
            assert "VALIDATION_ERROR" == error_code(response)
            assert status in response.json()["error"]["message"]
            assert before == get(timed, run_id)

    def test_cancel_of_an_unknown_run_is_404(self, api):
        """An unknown run, or one under another prompt, is 404."""
        run = create(api)
        assert 404 == api.post(f"{run_path(UNKNOWN)}/cancel").status_code
        assert 404 == api.post(f"{run_path(run['runId'], REFUND)}/cancel").status_code
        assert "queued" == get(api, run["runId"])["status"]

    def test_cancel_with_a_bad_id_is_400(self, api):
        """A malformed evaluationId is 400 before any look-up."""
        response = api.post(f"{run_path(SHORT)}/cancel")
        assert 400 == response.status_code
        assert {"evaluationId"} == detail_fields(response)

    def test_a_cancelled_run_is_listed_as_cancelled(self, api):
        """The status filter sees the cancel."""
        run_id = create(api)["runId"]
        api.post(f"{run_path(run_id)}/cancel")
        assert [run_id] == ids_of(listing(api, status="cancelled"))


class TestResults:
    def test_a_queued_run_has_no_results(self, timed):
        """Rows not run have no result (§10.30)."""
        run_id = create(timed)["runId"]
        expected = {
            "results": [],
            "pagination": {"limit": 50, "returned": 0, "hasMore": False, "nextCursor": None},
        }
        assert expected == results(timed, run_id)

    def test_results_appear_while_running(self, timed, clock):
        """Each processed row has one result, visible while the run is still going."""
        run_id = create(timed)["runId"]
        clock.advance(20)
        run = get(timed, run_id)
        rows = results(timed, run_id)["results"]
        assert "running" == run["status"]
        processed = run["progress"]["completedRows"] + run["progress"]["failedRows"]
        assert 0 < processed == len(rows)
        assert all(RESULT_FIELDS == set(r) for r in rows)
        assert all(20 <= len(r["id"]) <= 80 and 20 <= len(r["rowId"]) <= 80 for r in rows)
        assert all(r["createdAt"] <= clock.now * 1000 for r in rows)

    def test_expand_row_adds_the_dataset_values(self, timed, clock):
        """expand=row adds row.values keyed by the dataset's columns."""
        run_id = create(timed)["runId"]
        clock.advance(3600)
        detail = timed.get(f"/v2/datasets/{QUESTIONS}").json()
        columns = {c["name"] for c in detail["columns"]}
        rows = results(timed, run_id, expand="row")["results"]
        assert rows
        assert all(columns == set(r["row"]["values"]) for r in rows)

    def test_grades_and_failed_rows(self, timed, clock):
        """Grades are pass/fail/unknown; failed rows are unknown with a reason (§10.30)."""
        made = [create(timed, REFUND, evaluatorId=POLICY)["runId"] for _ in range(3)]
        clock.advance(10 * 3600)
        for run_id in made:
            run = get(timed, run_id, REFUND)
            response = timed.get(f"{run_path(run_id, REFUND)}/results", params={"limit": 200})
            rows = response.json()["results"]
            by_grade = {g: sum(r["grade"] == g for r in rows) for g in ("pass", "fail", "unknown")}
            metrics = run["metrics"]
            assert metrics["passRuns"] == by_grade["pass"]
            assert metrics["failRuns"] == by_grade["fail"]
            assert metrics["unknownRuns"] + run["progress"]["failedRows"] == by_grade["unknown"]
            assert all(isinstance(r["reason"], str) and r["reason"] for r in rows)
        assert any(get(timed, r, REFUND)["progress"]["failedRows"] for r in made)

    def test_the_grade_filter(self, timed, clock):
        """grade=pass gives only passing rows."""
        run_id = create(timed)["runId"]
        clock.advance(3600)
        passing = results(timed, run_id, grade="pass", limit=200)["results"]
        assert passing
        assert {"pass"} == {r["grade"] for r in passing}

    def test_sorting(self, timed, clock):
        """Default createdAt:asc; score:asc and score:desc order by score, ties by id."""
        run_id = create(timed)["runId"]
        clock.advance(3600)
        default = results(timed, run_id, limit=200)["results"]
        stamps = [r["createdAt"] for r in default]
        assert sorted(stamps) == stamps
        by_score = results(timed, run_id, limit=200, sort="score:asc")["results"]
        assert sorted(by_score, key=lambda r: (r["score"], r["id"])) == by_score
        desc = results(timed, run_id, limit=200, sort="score:desc")["results"]
        assert by_score[::-1] == desc

    def test_paging_results_gives_each_row_once(self, timed, clock):
        """Paging the 120 results of a refund run 50 at a time gives each once."""
        run_id = create(timed, REFUND, evaluatorId=POLICY)["runId"]
        clock.advance(10 * 3600)
        path = f"{run_path(run_id, REFUND)}/results"
        everything = timed.get(path, params={"limit": 200}).json()["results"]
        walked = walk(timed, path, "results", limit=50, sort="score:desc")
        assert sorted(r["id"] for r in everything) == sorted(r["id"] for r in walked)
        assert len(everything) == len({r["id"] for r in walked})

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"grade": "PASS"}, "grade"),
            ({"expand": "rows"}, "expand"),
            ({"sort": "grade:asc"}, "sort"),
            ({"limit": 0}, "limit"),
            ({"limit": 201}, "limit"),
            ({"cursor": ""}, "cursor"),
        ],
    )
    def test_invalid_queries_are_400(self, api, query, field):
        """Bad grade, expand, sort, limit or an empty cursor is 400 (§10.32)."""
        run_id = create(api)["runId"]
        response = api.get(f"{run_path(run_id)}/results", params=query)
        assert 400 == response.status_code
        assert {field} == detail_fields(response)

    def test_a_cursor_of_another_run_is_invalid(self, timed, clock):
        """A results cursor only pages the run and query it came from."""
        first, second = create(timed)["runId"], create(timed)["runId"]
        clock.advance(3600)
        cursor = results(timed, first, limit=2)["pagination"]["nextCursor"]
        response = timed.get(f"{run_path(second)}/results", params={"limit": 2, "cursor": cursor})
        assert 400 == response.status_code
        assert "INVALID_CURSOR" == error_code(response)

    def test_results_of_an_unknown_run_are_404(self, api):
        """An unknown run has no results: 404."""
        response = api.get(f"{run_path(UNKNOWN)}/results")
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)


class TestEvaluators:
    def test_the_prompts_evaluators_are_listed(self, api):
        """The list holds the prompt's evaluators, archived too, newest first."""
        response = api.get(f"/v2/prompts/{CHECKOUT}/evaluators")
        assert 200 == response.status_code
        payload = response.json()
        assert [TONE, LATENCY, ACCURACY] == [e["id"] for e in payload["evaluators"]]
        fields = {"id", "promptId", "title", "datasetId", "status", "createdAt", "updatedAt"}
        assert all(fields == set(e) for e in payload["evaluators"])
        expected = {ACCURACY: "active", LATENCY: "active", TONE: "archived"}
        assert expected == {e["id"]: e["status"] for e in payload["evaluators"]}
        assert {ACCURACY: QUESTIONS, LATENCY: EDGE_CASES, TONE: QUESTIONS} == {
            e["id"]: e["datasetId"] for e in payload["evaluators"]
        }

    def test_evaluators_page_and_sort(self, api):
        """limit 1 pages through the evaluators oldest first with sort=createdAt:asc."""
        path = f"/v2/prompts/{CHECKOUT}/evaluators"
        walked = walk(api, path, "evaluators", limit=1, sort="createdAt:asc")
        assert [ACCURACY, LATENCY, TONE] == [e["id"] for e in walked]

    def test_evaluators_created_after(self, api):
        """createdAfter filters evaluators on createdAt."""
        path = f"/v2/prompts/{REFUND}/evaluators"
        everything = api.get(path).json()["evaluators"]
        newest = max(e["createdAt"] for e in everything)
        response = api.get(path, params={"createdAfter": newest})
        assert [REFUND_COST] == [e["id"] for e in response.json()["evaluators"]]

    def test_evaluator_detail_adds_its_config(self, api):
        """The detail adds config with its type."""
        response = api.get(f"/v2/prompts/{REFUND}/evaluators/{POLICY}")
        assert 200 == response.status_code
        evaluator = response.json()
        assert (POLICY, REFUND, REFUNDS) == (
            evaluator["id"],
            evaluator["promptId"],
            evaluator["datasetId"],
        )
        assert "text-matcher" == evaluator["config"]["type"]

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            (f"/v2/prompts/{CHECKOUT}/evaluators/{POLICY}", 404),
            (f"/v2/prompts/{CHECKOUT}/evaluators/{UNKNOWN}", 404),
            (f"/v2/prompts/{UNKNOWN}/evaluators", 404),
            (f"/v2/prompts/{CHECKOUT}/evaluators/{SHORT}", 400),
            (f"/v2/prompts/{SHORT}/evaluators", 400),
        ],
    )
    def test_bad_look_ups(self, api, path, status):
        """Unknown or foreign evaluators are 404; malformed ids 400."""
        response = api.get(path)
        assert status == response.status_code
        expected = "RESOURCE_NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
        assert expected == error_code(response)


class TestDatasets:
    def test_datasets_of_the_project(self, api):
        """The project's four datasets are listed with their row counts, no columns."""
        response = api.get("/v2/datasets", params={"projectId": PROJECT, "sort": "createdAt:asc"})
        assert 200 == response.status_code
        datasets = response.json()["datasets"]
        assert [(QUESTIONS, 40), (EDGE_CASES, 12), (REFUNDS, 120), (EMPTY, 0)] == [
            (d["id"], d["rowCount"]) for d in datasets
        ]
        assert all("columns" not in d for d in datasets)

    def test_datasets_page(self, api):
        """limit 3 gives 3 datasets then 1."""
        walked = walk(api, "/v2/datasets", "datasets", projectId=PROJECT, limit=3)
        assert 4 == len({d["id"] for d in walked})

    def test_project_id_is_required(self, api):
        """GET /datasets without projectId is 400 naming it."""
        response = api.get("/v2/datasets")
        assert 400 == response.status_code
        assert {"projectId"} == detail_fields(response)

    def test_an_unknown_project_is_404(self, api):
        """A well-formed but unknown projectId is 404."""
        response = api.get("/v2/datasets", params={"projectId": UNKNOWN})
        assert 404 == response.status_code
        assert "RESOURCE_NOT_FOUND" == error_code(response)

    def test_dataset_detail(self, api):
        """The detail has the row count and the columns."""
        response = api.get(f"/v2/datasets/{REFUNDS}")
        assert 200 == response.status_code
        dataset = response.json()
        assert (REFUNDS, PROJECT, 120) == (dataset["id"], dataset["projectId"], dataset["rowCount"])
        expected = ["customer_email", "order_age_days", "expected_decision"]
        assert expected == [c["name"] for c in dataset["columns"]]

    def test_bad_dataset_ids(self, api):
        """Unknown dataset 404, malformed 400."""
        assert 404 == api.get(f"/v2/datasets/{UNKNOWN}").status_code
        assert 400 == api.get(f"/v2/datasets/{SHORT}").status_code


class TestPersistenceAndFaults:
    def test_runs_survive_a_restart(self, start_emulator, tmp_path: Path):
        """With a state file a second emulator sees the first one's runs."""
        state = tmp_path / "state.sqlite3"
        with client(start_emulator(seed=7, state_path=state)) as first:
            run = create(first)
        with client(start_emulator(seed=7, state_path=state)) as second:
            assert run["runId"] == get(second, run["runId"])["runId"]

    def test_two_live_emulators_on_one_state_file_see_each_others_runs(
        self, start_emulator, tmp_path: Path
    ):
        """A run one emulator makes is listed and read by the other, after it already listed."""
        state = tmp_path / "state.sqlite3"
        first_url = start_emulator(seed=7, state_path=state)
        second_url = start_emulator(seed=7, state_path=state)
        with client(first_url) as first, client(second_url) as second:
            mine = create(first)
            assert [mine["runId"]] == ids_of(listing(second))
            theirs = create(second, evaluatorId=LATENCY)
            assert [theirs["runId"], mine["runId"]] == ids_of(listing(first))
            assert "queued" == get(first, theirs["runId"])["status"]

    def test_a_lost_create_still_makes_the_run(self, start_emulator):
        """With lost_create_rate 1 the create is committed but the answer never comes."""
        url = start_emulator(seed=7, faults=emulator.Faults(lost_create_rate=1.0))
        with client(url) as http:
            with pytest.raises(httpx.TransportError):
                http.post(runs_path(), json={"evaluatorId": ACCURACY})
            assert 1 == len(ids_of(listing(http)))

    def test_seed_runs_under_another_prompt(self):
        """seed_runs takes a prompt and uses its first active evaluator."""
        server = emulator.make_server("127.0.0.1", 0, seed=7)
        try:
            ids = server.adaline.seed_runs(KEY, 3, prompt_id=REFUND)
        finally:
            server.server_close()
        assert 3 == len(set(ids))

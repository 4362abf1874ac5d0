"""The emulator's Bland evals API, over HTTP, against shared/providers/bland.md."""

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
RUNS = "/v1/evals/runs"
ESTIMATES = "/v1/evals/runs/estimates"
STATUS = "/v1/evals/status"

TEXT_AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
TEXT_AGENT_VERSION = "22222222-aaaa-4bbb-8ccc-000000000001"
TONE_AGENT = "11111111-aaaa-4bbb-8ccc-000000000002"
AUDIO_AGENT = "11111111-aaaa-4bbb-8ccc-000000000003"
DRAFT_AGENT = "11111111-aaaa-4bbb-8ccc-000000000005"
SETUP = "33333333-aaaa-4bbb-8ccc-000000000001"
SETUP_VERSION = "44444444-aaaa-4bbb-8ccc-000000000001"
UNKNOWN_UUID = "99999999-9999-4999-8999-999999999999"

LIST_FIELDS = {
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
}
RUN_FIELDS = LIST_FIELDS | {
    "org_id",
    "submitted_call_ids",
    "submitted_attached_agents",
    "error_code",
    "error_message",
    "workflow_id",
}
SUMMARY_FIELDS = {
    "overall_score_mean",
    "text_score_mean",
    "audio_score_mean",
    "successful_call_count",
    "failed_call_count",
    "insufficient_evidence_count",
    "target_match_count",
    "pass_threshold_pct",
    "overall_pass",
}
TERMINAL = {"COMPLETE", "PARTIAL", "FAILED", "CANCELLED"}
START = 1_780_000_000.0  # 2026-05-28, the Evals launch


def call(n: int) -> str:
    """Return the id of seeded call `n`."""
    return f"a1b2c3d4-0000-4000-8000-{n:012d}"


def body(**changes: Any) -> dict[str, Any]:
    """Return a valid create body (2 calls, 1 text agent) with `changes` applied."""
    base: dict[str, Any] = {
        "call_ids": [call(1), call(2)],
        "attached_agents": [{"eval_agent_id": TEXT_AGENT, "weight": 100}],
        "run_mode": "text",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


Start = Callable[..., str]


def client(url: str, key: str | None = KEY) -> httpx.Client:
    """Return an HTTP client for `url` that sends `key` raw in `authorization`."""
    headers = {} if key is None else {"authorization": key}
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
    """A client of an emulator holding 250 runs of KEY (oldest first in the list returned)."""
    server = emulator.make_server("127.0.0.1", 0, seed=7)
    ids = server.bland.seed_runs(KEY, 250)
    with emulator.serve_in_thread(server) as url, client(url) as http:
        yield http, ids


def create(http: httpx.Client, **changes: Any) -> dict[str, Any]:
    """Create a run and return its data, failing on anything but 202."""
    response = http.post(RUNS, json=body(**changes))
    assert 202 == response.status_code, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def get(http: httpx.Client, run_id: str) -> dict[str, Any]:
    response = http.get(f"{RUNS}/{run_id}")
    assert 200 == response.status_code, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def listing(http: httpx.Client, **query: Any) -> dict[str, Any]:
    response = http.get(RUNS, params=query)
    assert 200 == response.status_code, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def ids_of(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


def error_code(response: httpx.Response) -> str:
    """Return errors[0].error of an error envelope, checking its shape (bland.md §11.3)."""
    payload = response.json()
    assert None is payload["data"]
    assert 1 == len(payload["errors"])
    assert isinstance(payload["errors"][0]["message"], str)
    code: str = payload["errors"][0]["error"]
    return code


INVALID_BODIES: dict[str, Any] = {
    "body not an object": ["x"],
    "call_ids missing": body(call_ids=...),
    "call_ids empty": body(call_ids=[]),
    "call_ids over 5000": body(call_ids=[call(n) for n in range(1, 5002)]),
    "call_ids not strings": body(call_ids=[1, 2]),
    "call_ids not a list": body(call_ids=call(1)),
    "attached_agents over 50": body(
        attached_agents=[{"eval_agent_id": TEXT_AGENT}] * 51,
    ),
    "attached_agents not a list": body(attached_agents={"eval_agent_id": TEXT_AGENT}),
    "attached_agents empty, no setup": body(attached_agents=[]),
    "neither agents nor setup version": body(attached_agents=...),
    "agent not an object": body(attached_agents=[TEXT_AGENT]),
    "agent id missing": body(attached_agents=[{"weight": 100}]),
    "agent id not a UUID": body(attached_agents=[{"eval_agent_id": "judge"}]),
    "agent version not a UUID": body(
        attached_agents=[{"eval_agent_id": TEXT_AGENT, "eval_agent_version_id": "v1"}]
    ),
    "weight below 0": body(attached_agents=[{"eval_agent_id": TEXT_AGENT, "weight": -1}]),
    "weight above 100": body(attached_agents=[{"eval_agent_id": TEXT_AGENT, "weight": 101}]),
    "weight a string": body(attached_agents=[{"eval_agent_id": TEXT_AGENT, "weight": "50"}]),
    "target_level_keys not a list": body(
        attached_agents=[{"eval_agent_id": TEXT_AGENT, "target_level_keys": "pass"}]
    ),
    "run_mode unknown": body(run_mode="video"),
    "run_mode upper-case": body(run_mode="TEXT"),
    "pass_threshold_pct below 0": body(pass_threshold_pct=-0.5),
    "pass_threshold_pct above 100": body(pass_threshold_pct=100.5),
    "pass_threshold_pct a string": body(pass_threshold_pct="80"),
    "pass_threshold_pct a boolean": body(pass_threshold_pct=True),
    "workbench_setup_id alone": body(workbench_setup_id=SETUP),
    "workbench_setup_version_id alone": body(
        attached_agents=..., workbench_setup_version_id=SETUP_VERSION
    ),
    "workbench_setup_id not a UUID": body(
        attached_agents=..., workbench_setup_id="support", workbench_setup_version_id=SETUP_VERSION
    ),
    "workbench_setup_version_id not a string": body(
        attached_agents=..., workbench_setup_id=SETUP, workbench_setup_version_id=1
    ),
    "triggered_by unknown": body(triggered_by="cron"),
    "metadata value not a string": body(metadata={"owner.workspace": 42}),
    "metadata value null": body(metadata={"owner.workspace": None}),
    "metadata not an object": body(metadata=["owner.workspace"]),
    "no agent matches run_mode": body(run_mode="audio"),
    "draft-only agent without a version": body(attached_agents=[{"eval_agent_id": DRAFT_AGENT}]),
}

NOT_FOUND_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown call": ("CALL_NOT_FOUND", body(call_ids=[call(1), "call_abc123"])),
    "call beyond the catalogue": ("CALL_NOT_FOUND", body(call_ids=[call(5001)])),
    "unknown agent": (
        "EVAL_AGENT_NOT_FOUND",
        body(attached_agents=[{"eval_agent_id": UNKNOWN_UUID}]),
    ),
    "unknown version": (
        "EVAL_AGENT_VERSION_NOT_FOUND",
        body(
            attached_agents=[{"eval_agent_id": TEXT_AGENT, "eval_agent_version_id": UNKNOWN_UUID}]
        ),
    ),
    "another agent's version": (
        "EVAL_AGENT_VERSION_NOT_FOUND",
        body(
            attached_agents=[
                {"eval_agent_id": TONE_AGENT, "eval_agent_version_id": TEXT_AGENT_VERSION}
            ]
        ),
    ),
    "unknown setup": (
        "WORKBENCH_SETUP_NOT_FOUND",
        body(
            attached_agents=...,
            workbench_setup_id=UNKNOWN_UUID,
            workbench_setup_version_id=SETUP_VERSION,
        ),
    ),
    "setup with another version": (
        "WORKBENCH_SETUP_NOT_FOUND",
        body(
            attached_agents=..., workbench_setup_id=SETUP, workbench_setup_version_id=UNKNOWN_UUID
        ),
    ),
}


class TestAuth:
    def test_a_missing_key_is_401_auth_failure(self, emulator_url):
        """A request without `authorization` gets 401 with the AUTH_FAILURE envelope."""
        with client(emulator_url, key=None) as http:
            response = http.get(RUNS)
        assert 401 == response.status_code
        assert "AUTH_FAILURE" == error_code(response)

    def test_an_empty_key_is_401(self, emulator_url):
        """An empty `authorization` header is no key at all."""
        with client(emulator_url, key="") as http:
            response = http.get(RUNS)
        assert 401 == response.status_code
        assert "AUTH_FAILURE" == error_code(response)

    def test_a_bearer_prefix_is_401(self, emulator_url):
        """`Bearer <key>` is not Bland's raw-key scheme, so it fails as an invalid key."""
        with client(emulator_url, key=f"Bearer {KEY}") as http:
            response = http.get(RUNS)
        assert 401 == response.status_code
        assert "AUTH_FAILURE" == error_code(response)

    def test_the_status_route_also_needs_a_key(self, emulator_url):
        """Even the ungated status route answers 401 without a key."""
        with client(emulator_url, key=None) as http:
            response = http.get(STATUS)
        assert 401 == response.status_code

    def test_runs_of_one_key_are_invisible_to_another(self, api, emulator_url):
        """Each key is its own organisation: key B's list does not show key A's runs."""
        run = create(api)
        with client(emulator_url, key=OTHER_KEY) as other:
            assert [] == ids_of(listing(other))
        assert [run["id"]] == ids_of(listing(api))

    def test_another_keys_run_is_404_on_get(self, api, emulator_url):
        """Key B reading key A's run gets 404 EVAL_RUN_NOT_FOUND, as for an unknown id."""
        run = create(api)
        with client(emulator_url, key=OTHER_KEY) as other:
            response = other.get(f"{RUNS}/{run['id']}")
        assert 404 == response.status_code
        assert "EVAL_RUN_NOT_FOUND" == error_code(response)

    def test_another_keys_run_is_404_on_cancel(self, api, emulator_url):
        """Key B cannot cancel key A's run, and the run stays alive."""
        run = create(api)
        with client(emulator_url, key=OTHER_KEY) as other:
            response = other.post(f"{RUNS}/{run['id']}/cancellations")
        assert 404 == response.status_code
        assert "PENDING" == get(api, run["id"])["status"]

    def test_org_id_differs_per_key(self, api, emulator_url):
        """Runs of two keys carry two different org ids."""
        mine = create(api)
        with client(emulator_url, key=OTHER_KEY) as other:
            theirs = create(other)
        assert mine["org_id"] != theirs["org_id"]


class TestFeatureOff:
    OFF_KEY = "evals-off-acme"

    @pytest.mark.parametrize(
        ("method", "path", "payload"),
        [
            ("GET", RUNS, None),
            ("POST", RUNS, body()),
            ("POST", ESTIMATES, body()),
            ("GET", f"{RUNS}/{UNKNOWN_UUID}", None),
            ("POST", f"{RUNS}/{UNKNOWN_UUID}/cancellations", None),
            ("GET", "/v1/evals/agents", None),
        ],
    )
    def test_every_route_but_status_is_404(self, emulator_url, method, path, payload):
        """With Evals off for the organisation every /v1/evals route except status is 404."""
        with client(emulator_url, key=self.OFF_KEY) as http:
            response = http.request(method, path, json=payload)
        assert 404 == response.status_code
        assert None is response.json()["data"]

    def test_status_says_disabled_with_a_reason(self, emulator_url):
        """GET /v1/evals/status answers enabled false, gate evals_enabled and a reason."""
        with client(emulator_url, key=self.OFF_KEY) as http:
            response = http.get(STATUS)
        assert 200 == response.status_code
        data = response.json()["data"]
        assert (False, "evals_enabled") == (data["enabled"], data["gate"])
        assert isinstance(data["reason"], str)

    def test_status_says_enabled_for_other_keys(self, api):
        """An ordinary key sees Evals enabled and no reason."""
        response = api.get(STATUS)
        assert 200 == response.status_code
        expected = {"enabled": True, "gate": "evals_enabled", "reason": None}
        assert {"data": expected, "errors": None} == response.json()


class TestCreate:
    def test_create_answers_202_with_a_pending_run(self, api):
        """A valid create answers 202 with a PENDING run whose summary, cost and times are null."""
        response = api.post(RUNS, json=body())
        assert 202 == response.status_code
        payload = response.json()
        assert None is payload["errors"]
        run = payload["data"]
        assert RUN_FIELDS <= set(run)
        assert "PENDING" == run["status"]
        expected_nulls = {"summary", "billable_cost_usd", "started_at", "completed_at"}
        assert {k: None for k in expected_nulls} == {k: run[k] for k in expected_nulls}
        assert (None, None) == (run["error_code"], run["error_message"])

    def test_create_fills_in_the_resolved_counts(self, api):
        """2 calls x 1 text agent resolve to 2 atoms, none completed yet."""
        run = create(api)
        counts = ("resolved_call_count", "resolved_agent_count", "resolved_atom_count")
        assert (2, 1, 2) == tuple(run[k] for k in counts)
        assert 0 == run["completed_atom_count"]

    def test_create_applies_the_defaults(self, api):
        """run_mode defaults to text and triggered_by to manual; metadata to an empty object."""
        run = create(api, run_mode=...)
        assert ("text", "manual", {}) == (run["run_mode"], run["triggered_by"], run["metadata"])

    def test_only_agents_of_the_run_mode_count(self, api):
        """In text mode the audio agent scores nothing: 3 calls x 2 text agents = 6 atoms."""
        agents = [{"eval_agent_id": a} for a in (TEXT_AGENT, TONE_AGENT, AUDIO_AGENT)]
        run = create(api, call_ids=[call(1), call(2), call(3)], attached_agents=agents)
        assert (3, 2, 6) == (
            run["resolved_call_count"],
            run["resolved_agent_count"],
            run["resolved_atom_count"],
        )

    def test_full_mode_counts_every_agent(self, api):
        """In full mode every attached agent scores every call."""
        agents = [{"eval_agent_id": a} for a in (TEXT_AGENT, AUDIO_AGENT)]
        run = create(api, attached_agents=agents, run_mode="full")
        assert (2, 4) == (run["resolved_agent_count"], run["resolved_atom_count"])

    def test_audio_mode_counts_the_audio_agent(self, api):
        """In audio mode only the audio agent scores."""
        agents = [{"eval_agent_id": a} for a in (TEXT_AGENT, AUDIO_AGENT)]
        run = create(api, attached_agents=agents, run_mode="audio")
        assert (1, 2) == (run["resolved_agent_count"], run["resolved_atom_count"])

    def test_metadata_is_echoed_exactly(self, api):
        """The string-to-string metadata comes back as sent, on create, get and list."""
        metadata = {"owner.workspace": "ws-42", "owner.request_id": "6f1c", "empty": ""}
        run = create(api, metadata=metadata)
        assert metadata == run["metadata"]
        assert metadata == get(api, run["id"])["metadata"]
        assert metadata == listing(api)["data"][0]["metadata"]

    def test_duplicate_call_ids_are_deduplicated(self, api):
        """Repeated call ids count once and are submitted once, in first-seen order (§11.13)."""
        run = create(api, call_ids=[call(2), call(1), call(2), call(2)])
        assert [call(2), call(1)] == run["submitted_call_ids"]
        assert (2, 2) == (run["resolved_call_count"], run["resolved_atom_count"])

    def test_the_published_version_is_filled_in(self, api):
        """An agent given without a version gets its published version, with weight and targets."""
        run = create(api, attached_agents=[{"eval_agent_id": TEXT_AGENT}])
        expected = [
            {
                "eval_agent_id": TEXT_AGENT,
                "eval_agent_version_id": TEXT_AGENT_VERSION,
                "weight": 100,
                "target_level_keys": ["pass"],
            }
        ]
        assert expected == run["submitted_attached_agents"]

    def test_a_workbench_setup_supplies_the_roster(self, api):
        """Without attached_agents the pinned setup version's roster is used."""
        run = create(
            api,
            attached_agents=...,
            workbench_setup_id=SETUP,
            workbench_setup_version_id=SETUP_VERSION,
        )
        assert (SETUP, SETUP_VERSION) == (
            run["workbench_setup_id"],
            run["workbench_setup_version_id"],
        )
        assert [TEXT_AGENT] == [a["eval_agent_id"] for a in run["submitted_attached_agents"]]
        assert 2 == run["resolved_atom_count"]

    def test_triggered_by_backfill_is_kept(self, api):
        """triggered_by is stored as sent."""
        assert "backfill" == create(api, triggered_by="backfill")["triggered_by"]

    def test_unknown_body_fields_are_ignored(self, api):
        """Fields Bland does not document are ignored, not rejected (§11.16)."""
        run = create(api, agent_id="voice-agent", priority=9, unknown={"a": 1})
        assert "PENDING" == run["status"]

    def test_boundaries_are_accepted(self, api):
        """Threshold and weight 0 and 100 are inside 0-100."""
        agents = [
            {"eval_agent_id": TEXT_AGENT, "weight": 0},
            {"eval_agent_id": TONE_AGENT, "weight": 100},
        ]
        for threshold in (0, 100, 62.5):
            run = create(api, attached_agents=agents, pass_threshold_pct=threshold)
            assert "PENDING" == run["status"]

    @pytest.mark.parametrize("payload", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
    def test_invalid_bodies_are_400_validation_error(self, api, payload):
        """Each rule of bland.md §3.1 and §11.13-16 rejects with 400 VALIDATION_ERROR."""
        response = api.post(RUNS, json=payload)
        assert 400 == response.status_code, response.text
        assert "VALIDATION_ERROR" == error_code(response)
        assert [] == ids_of(listing(api))

    def test_malformed_json_is_400_validation_error(self, api):
        """A body that is not JSON at all is a validation error in the same envelope."""
        response = api.post(
            RUNS, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)

    def test_a_missing_body_is_400(self, api):
        """A create without a body is a validation error."""
        response = api.post(RUNS)
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)

    @pytest.mark.parametrize(
        ("code", "payload"), NOT_FOUND_BODIES.values(), ids=NOT_FOUND_BODIES.keys()
    )
    def test_unknown_references_are_404_with_their_code(self, api, code, payload):
        """An unknown call, agent, version or setup is 404 with its own code, and no run is made."""
        response = api.post(RUNS, json=payload)
        assert 404 == response.status_code, response.text
        assert code == error_code(response)
        assert [] == ids_of(listing(api))

    def test_a_key_without_billing_is_402(self, emulator_url):
        """An organisation without a billing record gets 402 BILLING_REQUIRED, and no run."""
        with client(emulator_url, key="no-billing-acme") as http:
            response = http.post(RUNS, json=body())
            assert 402 == response.status_code
            assert "BILLING_REQUIRED" == error_code(response)
            assert [] == ids_of(listing(http))


class TestList:
    def test_items_carry_exactly_the_documented_list_fields(self, api):
        """List items are the reduced projection: no org_id, submitted_* or error fields."""
        create(api, metadata={"owner.workspace": "ws"})
        page = listing(api)
        assert ("list", False, None) == (page["object"], page["has_more"], page["next_cursor"])
        assert LIST_FIELDS == set(page["data"][0])
        assert "submitted_call_ids" not in page["data"][0]

    def test_an_empty_list(self, api):
        """A key with no runs gets an empty list object."""
        expected = {"object": "list", "data": [], "has_more": False, "next_cursor": None}
        assert {"data": expected, "errors": None} == api.get(RUNS).json()

    def test_newest_first(self, timed, clock):
        """Runs are listed by created_at descending (§11.18)."""
        created = []
        for _ in range(4):
            created.append(create(timed)["id"])
            clock.advance(1)
        assert created[::-1] == ids_of(listing(timed))

    def test_same_instant_ties_are_ordered_by_id_descending(self, timed):
        """Runs created in the same instant are ordered by id, descending."""
        created = [create(timed)["id"] for _ in range(5)]
        assert sorted(created, reverse=True) == ids_of(listing(timed))

    def test_keyset_pagination_returns_every_run_exactly_once(self, seeded):
        """Following next_cursor over 250 runs yields each run once, newest first."""
        http, created = seeded
        seen: list[str] = []
        pages = 0
        query: dict[str, Any] = {"limit": 100}
        while True:
            page = listing(http, **query)
            pages += 1
            seen += ids_of(page)
            if not page["has_more"]:
                assert None is page["next_cursor"]
                break
            assert seen[-1] == page["next_cursor"]
            query["starting_after"] = page["next_cursor"]
        assert 3 == pages
        assert created[::-1] == seen

    def test_the_default_limit_is_25(self, seeded):
        """Without `limit` a page holds 25 items."""
        http, _ = seeded
        page = listing(http)
        assert (25, True) == (len(page["data"]), page["has_more"])

    def test_ending_before_returns_the_items_just_before_the_cursor(self, seeded):
        """ending_before=X gives the `limit` items immediately before X, still newest first."""
        http, created = seeded
        newest = created[::-1]
        page = listing(http, ending_before=newest[5], limit=3)
        assert newest[2:5] == ids_of(page)
        assert (True, newest[4]) == (page["has_more"], page["next_cursor"])

    def test_ending_before_near_the_top_has_no_more(self, seeded):
        """ending_before the second-newest run returns only the newest one and has_more false."""
        http, created = seeded
        newest = created[::-1]
        page = listing(http, ending_before=newest[1], limit=5)
        assert ([newest[0]], False) == (ids_of(page), page["has_more"])

    @pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", ""])
    def test_a_limit_outside_1_to_100_is_400(self, api, limit):
        """`limit` must be an integer from 1 to 100."""
        response = api.get(RUNS, params={"limit": limit})
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)

    @pytest.mark.parametrize("limit", [1, 100])
    def test_limits_1_and_100_are_accepted(self, api, limit):
        """The bounds of `limit` are inclusive."""
        assert 200 == api.get(RUNS, params={"limit": limit}).status_code

    def test_both_cursors_are_400(self, api):
        """starting_after and ending_before cannot be combined."""
        run = create(api)
        response = api.get(RUNS, params={"starting_after": run["id"], "ending_before": run["id"]})
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)

    @pytest.mark.parametrize("cursor", ["starting_after", "ending_before"])
    def test_an_unknown_cursor_is_400(self, api, cursor):
        """A cursor that names no run of this organisation is 400."""
        create(api)
        response = api.get(RUNS, params={cursor: UNKNOWN_UUID})
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)

    def test_another_keys_run_is_an_unknown_cursor(self, api, emulator_url):
        """A run of another organisation cannot serve as a cursor."""
        with client(emulator_url, key=OTHER_KEY) as other:
            theirs = create(other)
        assert 400 == api.get(RUNS, params={"starting_after": theirs["id"]}).status_code

    def test_filter_by_eval_agent_id(self, api):
        """eval_agent_id keeps runs that included that agent."""
        text = create(api)
        both = create(
            api, attached_agents=[{"eval_agent_id": TONE_AGENT}, {"eval_agent_id": TEXT_AGENT}]
        )
        tone = create(api, attached_agents=[{"eval_agent_id": TONE_AGENT}])
        assert {text["id"], both["id"]} == set(ids_of(listing(api, eval_agent_id=TEXT_AGENT)))
        assert {both["id"], tone["id"]} == set(ids_of(listing(api, eval_agent_id=TONE_AGENT)))
        assert [] == ids_of(listing(api, eval_agent_id=UNKNOWN_UUID))

    def test_filter_by_workbench_setup_id(self, api):
        """workbench_setup_id keeps runs started from that setup."""
        create(api)
        setup_run = create(
            api,
            attached_agents=...,
            workbench_setup_id=SETUP,
            workbench_setup_version_id=SETUP_VERSION,
        )
        assert [setup_run["id"]] == ids_of(listing(api, workbench_setup_id=SETUP))

    def test_filter_by_status(self, timed, clock):
        """status keeps runs in that status now."""
        old = create(timed)
        clock.advance(3600)
        new = create(timed)
        finished = get(timed, old["id"])["status"]
        assert [new["id"]] == ids_of(listing(timed, status="PENDING"))
        assert [old["id"]] == ids_of(listing(timed, status=finished))
        assert [] == ids_of(listing(timed, status="CANCELLED"))

    def test_filter_by_status_pages_after_filtering(self, timed, clock):
        """Filters apply before paging: limit counts matching runs only."""
        pending = []
        for _ in range(3):
            pending.append(create(timed)["id"])
            create(timed, triggered_by="backfill")
            clock.advance(1)
        page = listing(timed, triggered_by="manual", limit=2)
        assert (pending[::-1][:2], True) == (ids_of(page), page["has_more"])
        rest = listing(timed, triggered_by="manual", limit=2, starting_after=page["next_cursor"])
        assert ([pending[0]], False) == (ids_of(rest), rest["has_more"])

    def test_a_cursor_outside_the_filter_still_works(self, timed, clock):
        """A cursor whose run does not match the filter still anchors the page (§11.19)."""
        manual = []
        backfill = []
        for _ in range(3):
            manual.append(create(timed)["id"])
            clock.advance(1)
            backfill.append(create(timed, triggered_by="backfill")["id"])
            clock.advance(1)
        page = listing(timed, triggered_by="manual", starting_after=backfill[1])
        assert [manual[1], manual[0]] == ids_of(page)

    def test_filter_by_triggered_by(self, api):
        """triggered_by keeps runs with that trigger."""
        manual = create(api)
        backfill = create(api, triggered_by="backfill")
        assert [manual["id"]] == ids_of(listing(api, triggered_by="manual"))
        assert [backfill["id"]] == ids_of(listing(api, triggered_by="backfill"))
        assert [] == ids_of(listing(api, triggered_by="auto"))

    @pytest.mark.parametrize(("name", "value"), [("status", "DONE"), ("triggered_by", "cron")])
    def test_a_bad_filter_value_is_400(self, api, name, value):
        """An enum filter outside its values is 400."""
        response = api.get(RUNS, params={name: value})
        assert 400 == response.status_code
        assert "VALIDATION_ERROR" == error_code(response)


class TestGet:
    def test_get_returns_the_full_run(self, timed):
        """GET /runs/{id} returns the full object, equal to the create answer at the same moment."""
        run = create(timed, metadata={"k": "v"}, pass_threshold_pct=70)
        assert run == get(timed, run["id"])
        assert RUN_FIELDS <= set(run)
        assert [call(1), call(2)] == run["submitted_call_ids"]

    def test_timestamps_are_utc_with_milliseconds(self, timed):
        """created_at is ISO 8601 UTC with milliseconds and Z (§11.24)."""
        run = create(timed)
        assert "2026-05-28T20:26:40.000Z" == run["created_at"]

    def test_an_unknown_run_is_404(self, api):
        """An unknown run id is 404 EVAL_RUN_NOT_FOUND."""
        response = api.get(f"{RUNS}/{UNKNOWN_UUID}")
        assert 404 == response.status_code
        assert "EVAL_RUN_NOT_FOUND" == error_code(response)

    def test_an_unknown_route_is_404(self, api):
        """A path under /v1/evals the emulator does not serve is 404 in the envelope."""
        response = api.get("/v1/evals/nothing-here")
        assert 404 == response.status_code
        assert None is response.json()["data"]


def statuses_over(
    http: httpx.Client, clock: Clock, run_id: str, seconds: int
) -> list[dict[str, Any]]:
    """Read a run once per emulated second for `seconds` seconds."""
    seen = []
    for _ in range(seconds):
        seen.append(get(http, run_id))
        clock.advance(1)
    return seen


class TestLifecycle:
    ORDER = ("PENDING", "QUEUED", "RUNNING", "TERMINAL")

    def test_a_run_moves_forward_through_the_states(self, timed, clock):
        """Status only moves PENDING -> QUEUED/RUNNING -> terminal, and progress never falls."""
        run = create(timed, call_ids=[call(n) for n in range(1, 6)])
        seen = statuses_over(timed, clock, run["id"], 200)
        ranks = [
            self.ORDER.index(s["status"] if s["status"] not in TERMINAL else "TERMINAL")
            for s in seen
        ]
        assert sorted(ranks) == ranks
        assert "PENDING" == seen[0]["status"]
        assert seen[-1]["status"] in {"COMPLETE", "PARTIAL", "FAILED"}
        assert "RUNNING" in {s["status"] for s in seen}
        done = [s["completed_atom_count"] for s in seen if s["status"] != "FAILED"]
        assert sorted(done) == done
        assert len(set(done)) > 2  # it rises in steps, not at once

    def test_started_at_is_set_on_leaving_pending(self, timed, clock):
        """started_at is null while PENDING and set from QUEUED or RUNNING on (§11.10)."""
        run = create(timed)
        for state in statuses_over(timed, clock, run["id"], 120):
            assert (state["status"] == "PENDING") == (state["started_at"] is None)
            assert (state["status"] in TERMINAL) == (state["completed_at"] is not None)

    def test_a_finished_run_no_longer_changes(self, timed, clock):
        """A terminal run reads the same however much later it is read."""
        run = create(timed)
        clock.advance(3600)
        first = get(timed, run["id"])
        clock.advance(86400)
        assert first == get(timed, run["id"])

    def test_outcomes_include_complete_partial_and_failed(self, timed, clock):
        """Over many runs the clock leads to COMPLETE, PARTIAL and FAILED, each well formed."""
        runs = [create(timed, call_ids=[call(n) for n in range(1, 6)])["id"] for _ in range(60)]
        clock.advance(3600)
        finished = [get(timed, run_id) for run_id in runs]
        by_status: dict[str, list[dict[str, Any]]] = {}
        for run in finished:
            by_status.setdefault(run["status"], []).append(run)
        assert {"COMPLETE", "PARTIAL", "FAILED"} == set(by_status)
        assert len(by_status["COMPLETE"]) > len(by_status["PARTIAL"])
        for run in by_status["COMPLETE"] + by_status["PARTIAL"]:
            assert SUMMARY_FIELDS == set(run["summary"])
            assert run["billable_cost_usd"] > 0
            assert run["resolved_atom_count"] == run["completed_atom_count"]
            assert 0 <= run["summary"]["overall_score_mean"] <= 100
            assert run["completed_at"] is not None
            assert run["started_at"] is not None
            summary = run["summary"]
            assert run["resolved_call_count"] == (
                summary["successful_call_count"] + summary["failed_call_count"]
            )
            assert 0 <= summary["target_match_count"] <= run["resolved_atom_count"]
        for run in by_status["COMPLETE"]:
            assert run["summary"]["failed_call_count"] < run["resolved_call_count"]
            assert None is run["error_code"]
        for run in by_status["PARTIAL"]:
            assert run["summary"]["failed_call_count"] > 0
            assert run["summary"]["successful_call_count"] > 0
        for run in by_status["FAILED"]:
            assert None is run["summary"]
            assert isinstance(run["error_code"], str)
            assert isinstance(run["error_message"], str)

    def test_overall_pass_compares_the_mean_with_the_threshold(self, timed, clock):
        """overall_pass is mean >= threshold, and null without a threshold (§11.12)."""
        with_threshold = [create(timed, pass_threshold_pct=75)["id"] for _ in range(10)]
        without = create(timed)["id"]
        clock.advance(3600)
        for run_id in with_threshold:
            summary = get(timed, run_id)["summary"]
            if summary is None or summary["overall_score_mean"] is None:
                continue
            assert 75 == summary["pass_threshold_pct"]
            assert (summary["overall_score_mean"] >= 75) == summary["overall_pass"]
        summary = get(timed, without)["summary"]
        if summary is not None:
            assert (None, None) == (summary["pass_threshold_pct"], summary["overall_pass"])

    @pytest.mark.parametrize(
        ("run_mode", "agents", "means"),
        [
            ("text", [TEXT_AGENT], {"text"}),
            ("full", [TEXT_AGENT, TONE_AGENT], {"text"}),
            ("full", [AUDIO_AGENT], {"audio"}),
            ("full", [TEXT_AGENT, AUDIO_AGENT], {"text", "audio"}),
            ("audio", [TEXT_AGENT, AUDIO_AGENT], {"audio"}),
        ],
    )
    def test_modality_means_follow_the_judges_that_scored(
        self, timed, clock, run_mode, agents, means
    ):
        """text_/audio_score_mean are set only when a judge of that modality scored (§4, §5)."""
        attached = [{"eval_agent_id": a} for a in agents]
        runs = [create(timed, run_mode=run_mode, attached_agents=attached)["id"] for _ in range(5)]
        clock.advance(3600)
        for run_id in runs:
            summary = get(timed, run_id)["summary"]
            if summary is None or summary["overall_score_mean"] is None:
                continue
            present = {m for m in ("text", "audio") if summary[f"{m}_score_mean"] is not None}
            assert means == present

    def test_the_same_seed_gives_the_same_outcomes(self, start_emulator):
        """Two emulators with one seed and one clock give the same ids, outcomes and scores."""
        results = []
        for _ in range(2):
            clock = Clock(START)
            with client(start_emulator(seed=11, clock=clock)) as http:
                runs = [
                    create(http, call_ids=[call(n) for n in range(1, 4)])["id"] for _ in range(20)
                ]
                clock.advance(3600)
                results.append([get(http, run_id) for run_id in runs])
        assert results[0] == results[1]

    def test_another_seed_gives_other_outcomes(self, start_emulator):
        """A different seed changes the scores."""
        scores = []
        for seed in (11, 12):
            clock = Clock(START)
            with client(start_emulator(seed=seed, clock=clock)) as http:
                runs = [create(http)["id"] for _ in range(5)]
                clock.advance(3600)
                scores.append([get(http, run_id)["summary"] for run_id in runs])
        assert scores[0] != scores[1]

    def test_time_scale_speeds_runs_up(self, start_emulator):
        """At time scale 60, 1.9 s of clock finishes a small run; at scale 1 it is still PENDING."""
        statuses = []
        for scale in (1, 60):
            clock = Clock(START)
            with client(start_emulator(seed=7, clock=clock, time_scale=scale)) as http:
                run = create(http, call_ids=[call(1)])
                clock.advance(1.9)
                statuses.append(get(http, run["id"])["status"])
        assert "PENDING" == statuses[0]
        assert statuses[1] in {"COMPLETE", "PARTIAL", "FAILED"}

    def test_time_scale_on_the_real_clock(self, start_emulator):
        """With a large time scale a run finishes within a fraction of a real second."""
        with client(start_emulator(seed=7, time_scale=10_000)) as http:
            run = create(http, call_ids=[call(1)])
            for _ in range(100):
                if get(http, run["id"])["status"] in TERMINAL:
                    break
                threading.Event().wait(0.01)
            assert get(http, run["id"])["status"] in {"COMPLETE", "PARTIAL", "FAILED"}


class TestCancel:
    def test_cancelling_a_pending_run(self, timed, clock):
        """A PENDING run cancels at once: 200 CANCELLED, completed_at = cancel time, not started."""
        run = create(timed)
        clock.advance(1)
        response = timed.post(f"{RUNS}/{run['id']}/cancellations")
        assert 200 == response.status_code
        cancelled = response.json()["data"]
        assert RUN_FIELDS <= set(cancelled)
        assert ("CANCELLED", "2026-05-28T20:26:41.000Z") == (
            cancelled["status"],
            cancelled["completed_at"],
        )
        assert (None, None, 0) == (
            cancelled["started_at"],
            cancelled["summary"],
            cancelled["completed_atom_count"],
        )

    def test_cancelling_a_running_run_keeps_its_progress(self, timed, clock):
        """A RUNNING run cancels with the atoms finished so far, and stays CANCELLED later."""
        run = create(timed, call_ids=[call(n) for n in range(1, 21)])
        state = get(timed, run["id"])
        while state["completed_atom_count"] == 0:
            clock.advance(1)
            state = get(timed, run["id"])
        assert "RUNNING" == state["status"]
        cancelled = timed.post(f"{RUNS}/{run['id']}/cancellations").json()["data"]
        assert "CANCELLED" == cancelled["status"]
        assert state["completed_atom_count"] == cancelled["completed_atom_count"]
        assert cancelled["started_at"] is not None
        assert cancelled["summary"] is not None  # at least one atom finished (§11.11)
        assert cancelled["billable_cost_usd"] > 0
        clock.advance(3600)
        assert cancelled == get(timed, run["id"])

    def test_cancelling_a_queued_run(self, timed, clock):
        """QUEUED is alive, so it is cancellable (§11.8)."""
        for _ in range(20):
            run = create(timed, call_ids=[call(1)])
            state = statuses_over(timed, clock, run["id"], 1)[0]
            while state["status"] == "PENDING":
                clock.advance(0.5)
                state = get(timed, run["id"])
            if state["status"] == "QUEUED":
                response = timed.post(f"{RUNS}/{run['id']}/cancellations")
                assert (200, "CANCELLED") == (
                    response.status_code,
                    response.json()["data"]["status"],
                )
                return
        pytest.fail("no run was ever QUEUED")

    def test_cancelling_a_cancelled_run_is_idempotent(self, timed, clock):
        """A second cancel answers 200 with the run unchanged (§11.7)."""
        run = create(timed)
        first = timed.post(f"{RUNS}/{run['id']}/cancellations").json()["data"]
        clock.advance(60)
        response = timed.post(f"{RUNS}/{run['id']}/cancellations")
        assert 200 == response.status_code
        assert first == response.json()["data"]

    def test_cancelling_a_finished_run_is_409(self, timed, clock):
        """COMPLETE, PARTIAL and FAILED runs cannot be cancelled: 409 EVAL_RUN_NOT_CANCELLABLE."""
        runs = [create(timed)["id"] for _ in range(40)]
        clock.advance(3600)
        finished = {get(timed, run_id)["status"]: run_id for run_id in runs}
        assert {"COMPLETE", "PARTIAL", "FAILED"} == set(finished)
        for status, run_id in finished.items():
            response = timed.post(f"{RUNS}/{run_id}/cancellations")
            assert 409 == response.status_code, status
            assert "EVAL_RUN_NOT_CANCELLABLE" == error_code(response)
            assert status == get(timed, run_id)["status"]

    def test_cancelling_an_unknown_run_is_404(self, api):
        """An unknown run id is 404 EVAL_RUN_NOT_FOUND."""
        response = api.post(f"{RUNS}/{UNKNOWN_UUID}/cancellations")
        assert 404 == response.status_code
        assert "EVAL_RUN_NOT_FOUND" == error_code(response)


class TestEstimate:
    def test_an_estimate_sizes_the_run_in_cents(self, api):
        """2 calls x 2 text agents is 4 atoms; the cost is in cents, tokens are integers."""
        agents = [{"eval_agent_id": TEXT_AGENT}, {"eval_agent_id": TONE_AGENT}]
        response = api.post(ESTIMATES, json=body(attached_agents=agents))
        assert 200 == response.status_code
        data = response.json()["data"]
        assert {
            "resolved_atom_count",
            "estimated_input_tokens",
            "estimated_output_tokens",
            "estimated_cost_usd_cents",
        } == set(data)
        assert 4 == data["resolved_atom_count"]
        assert isinstance(data["estimated_input_tokens"], int)
        assert isinstance(data["estimated_output_tokens"], int)
        assert pytest.approx(4 * 0.002 * 100) == data["estimated_cost_usd_cents"]

    def test_audio_costs_more_than_text(self, api):
        """An audio atom is estimated dearer than a text atom."""
        text = api.post(ESTIMATES, json=body()).json()["data"]
        audio = api.post(
            ESTIMATES, json=body(attached_agents=[{"eval_agent_id": AUDIO_AGENT}], run_mode="audio")
        ).json()["data"]
        assert audio["estimated_cost_usd_cents"] > text["estimated_cost_usd_cents"]

    def test_an_estimate_creates_no_run(self, api):
        """Estimating leaves the run list empty."""
        assert 200 == api.post(ESTIMATES, json=body()).status_code
        assert [] == ids_of(listing(api))

    def test_estimating_is_free(self, emulator_url):
        """A key without billing can still estimate (no 402)."""
        with client(emulator_url, key="no-billing-acme") as http:
            assert 200 == http.post(ESTIMATES, json=body()).status_code

    @pytest.mark.parametrize("payload", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
    def test_estimates_validate_like_create(self, api, payload):
        """The estimate body follows the create rules: 400 VALIDATION_ERROR."""
        response = api.post(ESTIMATES, json=payload)
        assert 400 == response.status_code, response.text
        assert "VALIDATION_ERROR" == error_code(response)

    @pytest.mark.parametrize(
        ("code", "payload"), NOT_FOUND_BODIES.values(), ids=NOT_FOUND_BODIES.keys()
    )
    def test_estimates_reject_unknown_references(self, api, code, payload):
        """Unknown calls, agents, versions and setups are 404 on estimates too."""
        response = api.post(ESTIMATES, json=payload)
        assert 404 == response.status_code
        assert code == error_code(response)


class TestPersistence:
    def test_a_second_server_lists_runs_of_the_first(self, start_emulator, tmp_path: Path):
        """Two servers on one SQLite file share runs."""
        state = tmp_path / "emulator.sqlite3"
        with client(start_emulator(seed=7, state_path=state)) as first:
            run = create(first, metadata={"owner.request_id": "r1"})
        with client(start_emulator(seed=7, state_path=state)) as second:
            assert [run["id"]] == ids_of(listing(second))
            assert {"owner.request_id": "r1"} == get(second, run["id"])["metadata"]

    def test_a_restarted_server_keeps_runs(self, tmp_path: Path):
        """Runs survive closing the server and opening the file again."""
        state = tmp_path / "emulator.sqlite3"
        server = emulator.make_server("127.0.0.1", 0, state_path=state)
        ids = server.bland.seed_runs(KEY, 3)
        server.server_close()
        with emulator.serve_in_thread(state_path=state) as url, client(url) as http:
            assert ids[::-1] == ids_of(listing(http))


class TestFaults:
    def test_the_rate_limit_answers_429_with_retry_after(self, start_emulator):
        """Beyond requests_per_second_per_key the answer is 429 RATE_LIMITED with Retry-After."""
        faults = emulator.Faults(requests_per_second_per_key=1)
        with client(start_emulator(seed=7, faults=faults)) as http:
            assert 200 == http.get(RUNS).status_code
            response = http.get(RUNS)
        assert 429 == response.status_code
        assert "RATE_LIMITED" == error_code(response)
        assert response.headers["retry-after"].isdigit()
        assert int(response.headers["retry-after"]) >= 1

    def test_the_rate_limit_is_per_key(self, start_emulator):
        """One key's exhausted bucket does not limit another key."""
        url = start_emulator(seed=7, faults=emulator.Faults(requests_per_second_per_key=1))
        with client(url) as first, client(url, key=OTHER_KEY) as second:
            assert 200 == first.get(RUNS).status_code
            assert 429 == first.get(RUNS).status_code
            assert 200 == second.get(RUNS).status_code

    def test_rate_5xx_gives_server_errors(self, start_emulator):
        """rate_5xx=1.0 answers every request with a 5xx."""
        with client(start_emulator(seed=7, faults=emulator.Faults(rate_5xx=1.0))) as http:
            codes = {http.get(RUNS).status_code for _ in range(10)}
        assert all(500 <= code <= 599 for code in codes), codes

    def test_rate_429_gives_rate_limited(self, start_emulator):
        """rate_429=1.0 answers every request 429 with Retry-After."""
        with client(start_emulator(seed=7, faults=emulator.Faults(rate_429=1.0))) as http:
            response = http.get(RUNS)
        assert 429 == response.status_code
        assert response.headers["retry-after"].isdigit()

    def test_drop_rate_closes_the_connection(self, start_emulator):
        """drop_rate=1.0 closes every connection without an answer: a transport error."""
        with (
            client(start_emulator(seed=7, faults=emulator.Faults(drop_rate=1.0))) as http,
            pytest.raises(httpx.TransportError),
        ):
            http.get(RUNS)

    def test_a_lost_create_still_creates_the_run(self, start_emulator):
        """lost_create_rate=1.0 fails the POST at transport level, yet the run is listed after."""
        url = start_emulator(seed=7, faults=emulator.Faults(lost_create_rate=1.0))
        with client(url) as http:
            with pytest.raises(httpx.TransportError):
                http.post(RUNS, json=body(metadata={"owner.request_id": "lost-1"}))
            page = listing(http)
        assert [{"owner.request_id": "lost-1"}] == [item["metadata"] for item in page["data"]]

    def test_a_lost_create_fault_spares_other_routes(self, start_emulator):
        """Only creates lose their answers: estimates and failed creates answer normally."""
        url = start_emulator(seed=7, faults=emulator.Faults(lost_create_rate=1.0))
        with client(url) as http:
            assert 200 == http.post(ESTIMATES, json=body()).status_code
            assert 400 == http.post(RUNS, json=body(call_ids=[])).status_code

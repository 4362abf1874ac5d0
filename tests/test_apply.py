"""The apply engine against the emulator over loopback: adopt, retry after a look, stop."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from reconciler import emulator
from reconciler.apply import CLOCK_SKEW, apply_plan
from reconciler.model import (
    Action,
    Address,
    Kind,
    Lifecycle,
    PlanSettings,
    Resource,
    SourceLocation,
    Vendor,
)
from reconciler.plan import plan
from reconciler.providers.bland import BlandProvider
from reconciler.providers.config import ProviderConfig
from reconciler.render.logfmt import logfmt
from reconciler.secret import Secret

KEY = "apply-test-key"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"


def resource(name: str) -> Resource:
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, name),
        spec={
            "call_ids": ["a1b2c3d4-0000-4000-8000-000000000001"],
            "attached_agents": [{"eval_agent_id": AGENT}],
        },
        lifecycle=Lifecycle(),
        source=SourceLocation(path="x.yaml", line=1),
    )


def settings(now: datetime) -> PlanSettings:
    return PlanSettings(workspace="ws", now=now)


def vendor_runs(url: str) -> list[dict]:
    page = httpx.get(f"{url}/v1/evals/runs", params={"limit": 100}, headers={"authorization": KEY})
    return page.json()["data"]["data"]


def provider_for(url: str) -> BlandProvider:
    return BlandProvider(
        ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=3)
    )


def test_a_run_made_since_the_plan_is_adopted_not_created_again(start_emulator, clock):
    """Another apply created the run after our plan listed: we adopt it, the vendor has one."""
    url = start_emulator(seed=1, clock=clock)
    provider = provider_for(url)
    listed_at = datetime.fromtimestamp(clock.now, UTC)
    try:
        the_plan = plan([resource("a")], [], settings=settings(listed_at))
        provider.create_run(resource("a"), workspace="ws", request_id="other-apply")
        result = apply_plan(the_plan, {Vendor.BLAND: provider}, concurrency={}, listed_at=listed_at)
    finally:
        provider.close()
    (outcome,) = result.outcomes
    assert outcome.ok
    assert outcome.note is not None
    assert "adopted" in outcome.note
    assert 1 == len(vendor_runs(url))


def test_creates_that_meet_server_errors_are_tried_again_after_a_look(start_emulator, clock):
    """Half the requests fail with 5xx: every resource still ends with exactly one run."""
    url = start_emulator(seed=4, clock=clock, faults=emulator.Faults(rate_5xx=0.5))
    provider = provider_for(url)
    provider._api.http._transport._policy = type(provider._api.http._transport._policy)(
        max_retries=6, base_delay_s=0.001, max_delay_s=0.002
    )
    listed_at = datetime.fromtimestamp(clock.now, UTC)
    names = [f"r{n}" for n in range(8)]
    try:
        the_plan = plan([resource(n) for n in names], [], settings=settings(listed_at))
        result = apply_plan(
            the_plan,
            {Vendor.BLAND: provider},
            concurrency={Vendor.BLAND: 1},  # one request at a time: the fault draws repeat
            listed_at=listed_at,
            sleep=lambda seconds: None,
        )
    finally:
        provider.close()
    addresses = [
        r["metadata"]["reconciler.address"]
        for r in _all_runs_without_faults(url)
        if "reconciler.address" in r["metadata"]
    ]
    created = {o.change.subject for o in result.outcomes if o.ok}
    retried = [o for o in result.outcomes if o.note and "attempt" in o.note]
    assert sorted(set(addresses)) == sorted(addresses)  # no duplicate
    assert created <= set(addresses)
    assert retried  # the faults did hit creates, and a later attempt made the run


def _all_runs_without_faults(url: str) -> list[dict]:
    """List through the faults by retrying each page until it answers 200."""
    runs: list[dict] = []
    cursor = None
    with httpx.Client(base_url=url, headers={"authorization": KEY}) as client:
        while True:
            params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
            for _ in range(50):
                response = client.get("/v1/evals/runs", params=params)
                if response.status_code == 200:
                    break
            page = response.json()["data"]
            runs += page["data"]
            if not page["has_more"]:
                return runs
            cursor = page["next_cursor"]


def test_a_stop_before_the_start_starts_nothing(start_emulator, clock):
    """With stop set, no action starts; the summary says so."""
    url = start_emulator(seed=1, clock=clock)
    provider = provider_for(url)
    stop = threading.Event()
    stop.set()
    try:
        now = datetime.fromtimestamp(clock.now, UTC)
        the_plan = plan([resource("a"), resource("b")], [], settings=settings(now))
        result = apply_plan(the_plan, {Vendor.BLAND: provider}, concurrency={}, stop=stop)
    finally:
        provider.close()
    assert "Apply interrupted: 0 created, 0 cancelled, 0 replaced, 2 not started." == (
        result.summary
    )
    assert [] == vendor_runs(url)


def test_a_cancel_that_meets_a_finished_run_succeeds_with_a_note(start_emulator, clock):
    """The run finished between plan and apply: nothing to stop, no error."""
    url = start_emulator(seed=1, clock=clock)
    provider = provider_for(url)
    try:
        run = provider.create_run(resource("gone"), workspace="ws", request_id="r")
        now = datetime.fromtimestamp(clock.now, UTC)
        the_plan = plan([], [run], settings=settings(now))
        assert [Action.CANCEL] == [c.action for c in the_plan.actions]
        clock.now += timedelta(days=1).total_seconds()
        result = apply_plan(the_plan, {Vendor.BLAND: provider}, concurrency={})
    finally:
        provider.close()
    (outcome,) = result.outcomes
    assert outcome.ok
    assert outcome.note is not None
    assert "already finished" in outcome.note


@pytest.mark.parametrize("protect", [False, True], ids=["plain", "protected"])
def test_the_apply_whose_copy_is_newer_cancels_it_and_adopts_the_older_run(
    start_emulator, clock, protect
):
    """Two applies raced at Bland: ours looked before the other created, then created too.

    Right after our create we look again, find the other apply's older run, cancel our own
    copy (protected or not) and adopt the older run: one active run, without a next apply.
    """
    url = start_emulator(seed=1, clock=clock)
    ours, theirs = provider_for(url), provider_for(url)
    listed_at = datetime.fromtimestamp(clock.now, UTC)
    wanted = replace(resource("a"), lifecycle=Lifecycle(protect=protect))
    try:
        the_plan = plan([wanted], [], settings=settings(listed_at))
        # Our look before the create, at the moment the other apply had not created yet:
        assert [] == ours.find_runs(wanted, workspace="ws", since=listed_at - CLOCK_SKEW)
        older = theirs.create_run(wanted, workspace="ws", request_id="the-other-apply")
        clock.advance(1)
        result = apply_plan(the_plan, {Vendor.BLAND: ours}, concurrency={}, listed_at=listed_at)
    finally:
        ours.close()
        theirs.close()
    (outcome,) = result.outcomes
    assert (True, older.run_id) == (outcome.ok, outcome.created and outcome.created.run_id)
    assert outcome.twin is not None
    assert (
        "Apply complete: 0 created, 0 cancelled, 0 replaced, 1 adopted "
        "(1 after cancelling our own twin copy)." == result.summary
    )
    statuses = {r["id"]: r["status"] for r in vendor_runs(url)}
    assert {older.run_id: "PENDING", outcome.twin.run_id: "CANCELLED"} == statuses


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ([("address", "BlandEvalRun/a"), ("note", None)], "address=BlandEvalRun/a"),
        ([("note", "adopted: run x")], 'note="adopted: run x"'),
        ([("error", 'a=b "q" C:\\d')], 'error="a=b \\"q\\" C:\\\\d"'),
        ([("error", "one\ntwo\x1b")], 'error="one\\ntwo\\u001b"'),
        ([("note", "")], 'note=""'),
    ],
    ids=["bare", "spaces", "equals-quotes-backslash", "control-characters", "empty"],
)
def test_log_values_are_quoted_and_escaped_as_logfmt(fields, line):
    """Values with spaces, `=`, `"`, `\\` or control characters are quoted and escaped."""
    assert line == logfmt(fields)


class TestCreateRetryAfter:
    """A create answered 429 with `Retry-After`: waited in full or refused at once, never capped."""

    @staticmethod
    def _apply(url: str, retry_after: str) -> tuple[list[float], object]:
        from tests.providers.hostile import Answer, HostileVendor

        answered: list[str] = []

        def rule(method: str, path: str, headers: dict[str, str]) -> Answer | None:
            if method == "POST" and path == "/v1/evals/runs" and not answered:
                answered.append(path)
                body = b'{"errors": [{"error": "RATE_LIMITED", "message": "slow down"}]}'
                return Answer(429, body, headers={"retry-after": retry_after})
            return None

        vendor = HostileVendor(rule, upstream=url)
        provider = BlandProvider(
            ProviderConfig(
                vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=vendor.url, max_retries=0
            )
        )
        slept: list[float] = []
        listed_at = datetime.now(UTC) - timedelta(seconds=1)
        try:
            the_plan = plan([resource("a")], [], settings=settings(listed_at))
            result = apply_plan(
                the_plan,
                {Vendor.BLAND: provider},
                concurrency={},
                listed_at=listed_at,
                sleep=slept.append,
            )
        finally:
            provider.close()
            vendor.close()
        (outcome,) = result.outcomes
        return slept, outcome

    def test_a_retry_after_that_fits_is_waited_in_full_then_the_run_is_created(
        self, start_emulator
    ):
        url = start_emulator(seed=1)

        slept, outcome = self._apply(url, "7")

        assert [7.0] == slept
        assert outcome.ok
        assert 1 == len(vendor_runs(url))

    def test_a_retry_after_longer_than_apply_waits_fails_at_once_naming_the_wait(
        self, start_emulator
    ):
        url = start_emulator(seed=1)

        slept, outcome = self._apply(url, "3600")

        assert [] == slept
        assert not outcome.ok
        assert "asked to retry after 3600 s" in str(outcome.error)
        assert [] == vendor_runs(url)


class _CountingTransport(httpx.HTTPTransport):
    """A real HTTP transport that counts the list requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.lists = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/v1/evals/runs":
            with self._lock:
                self.lists += 1
        return super().handle_request(request)


def test_an_apply_of_many_bland_creates_lists_a_few_pages_not_one_per_create(start_emulator):
    """The race settlement after the creates is one look per batch, not one per create.

    Each create still needs a look begun after it returned (a twin another apply made at the
    same moment must be seen), but one look begun after the last create of a batch settles
    them all: 200 creates at 20 ms a request read the list a handful of times, where one
    look per create spent about as many requests as the creates did (the vendor's rate
    limit, and a round trip each).
    """
    url = start_emulator(seed=1, faults=emulator.Faults(latency_ms=20))
    transport = _CountingTransport()
    provider = BlandProvider(
        ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url),
        transport=transport,
    )
    listed_at = datetime.now(UTC)
    wanted = [resource(f"r{n:03d}") for n in range(200)]
    try:
        the_plan = plan(wanted, [], settings=settings(listed_at))
        result = apply_plan(
            the_plan, {Vendor.BLAND: provider}, concurrency={Vendor.BLAND: 8}, listed_at=listed_at
        )
    finally:
        provider.close()
    assert "Apply complete: 200 created, 0 cancelled, 0 replaced." == result.summary
    assert transport.lists <= 20, f"{transport.lists} list requests for 200 creates"
    runs: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        page = httpx.get(f"{url}/v1/evals/runs", params=params, headers={"authorization": KEY})
        body = page.json()["data"]
        runs += body["data"]
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert 200 == len(runs)
    assert 200 == len({r["metadata"]["reconciler.address"] for r in runs})

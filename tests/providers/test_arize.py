"""The Arize provider against the emulator over loopback HTTP, and the vendor's own payloads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import emulator
from reconciler.emulator.arize import user_id_of
from reconciler.errors import ListingError, ProviderError
from reconciler.model import (
    Address,
    Kind,
    Lifecycle,
    Resource,
    RunPhase,
    SourceLocation,
    Vendor,
)
from reconciler.providers.arize import ArizeProvider, parse_task_run
from reconciler.providers.config import ProviderConfig
from reconciler.providers.registry import emulator_base_url
from reconciler.secret import Secret
from reconciler.vendors import arize as arize_vendor
from tests.clock import Clock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY = "test-key-arize-7d20"
TASK_1 = "T25saW5lVGFzazoxOnNlZWQ="  # hallucination-check, project task, emulator-main
TASK_2 = "T25saW5lVGFzazoyOnNlZWQ="  # json-validity, project task, emulator-main
TASK_3 = "T25saW5lVGFzazozOnNlZWQ="  # answer-correctness, dataset task, emulator-main
TASK_4 = "T25saW5lVGFzazo0OnNlZWQ="  # prompt-experiment, RUN_EXPERIMENT, emulator-main
TASK_5 = "T25saW5lVGFzazo1OnNlZWQ="  # hallucination-check, project task, emulator-sandbox
SANDBOX = "U3BhY2U6MjpzZWVk"  # emulator-sandbox: tasks 5 and 6
UNKNOWN_TASK = "T25saW5lVGFzazo5OTpzZWVk"  # OnlineTask:99:seed, not in the catalogue
START, END = "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"


def window(task: str = TASK_1, start: str = START, end: str = END, name: str = "x") -> Resource:
    return Resource.build(
        address=Address(Kind.ARIZE_TASK_RUN, name),
        spec={"task_id": task, "data_start_time": start, "data_end_time": end},
        lifecycle=Lifecycle(),
        source=SourceLocation(path="x.yaml", line=1),
    )


def experiment(experiment_name: str, task: str = TASK_4, name: str = "x") -> Resource:
    return Resource.build(
        address=Address(Kind.ARIZE_TASK_RUN, name),
        spec={"task_id": task, "experiment_name": experiment_name},
        lifecycle=Lifecycle(),
        source=SourceLocation(path="x.yaml", line=1),
    )


class Counting(httpx.BaseTransport):
    """Forward to a real transport, recording every request (retries included)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(retries=0)
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))


def make(
    url: str, key: str = KEY, *, transport: httpx.BaseTransport | None = None, **options: Any
) -> ArizeProvider:
    config = ProviderConfig(
        vendor=Vendor.ARIZE,
        api_key=Secret(key),
        base_url=emulator_base_url(Vendor.ARIZE, url),
        **options,
    )
    return ArizeProvider(config, transport=transport)


@pytest.fixture
def provider(emulator_url: str) -> Iterator[ArizeProvider]:
    p = make(emulator_url, max_retries=2)
    yield p
    p.close()


@pytest.fixture
def seeded() -> Iterator[tuple[emulator.EmulatorServer, str]]:
    """An emulator the test fills with runs itself, served in a thread, closed after."""
    server = emulator.make_server("127.0.0.1", 0, seed=3)
    with emulator.serve_in_thread(server) as url:
        yield server, url


class TestPublishedPayloads:
    def test_the_documented_cancel_answer_parses_with_its_lowercase_status(self):
        """The older sample's lowercase `completed` is SUCCEEDED; its window gives the key."""
        data = json.loads((FIXTURES / "arize-cancel-task-run.json").read_text())
        run = parse_task_run(data)
        assert RunPhase.SUCCEEDED == run.phase
        assert "VGFza1J1bjo5OTpxUndY" == run.run_id
        assert "VXNlcjoxOm5OYkM=" == run.created_by
        assert datetime(2026, 3, 7, 10, 30, tzinfo=UTC) == run.created_at
        expected = arize_vendor.window_key(
            task_id="T25saW5lVGFzazo0NTpxUndY",
            start=datetime(2026, 3, 1, tzinfo=UTC),
            end=datetime(2026, 3, 7, tzinfo=UTC),
        )
        assert expected == run.natural_key

    def test_unknown_fields_are_ignored(self):
        """`failure_reason` and other later fields do not break parsing."""
        data = json.loads((FIXTURES / "arize-cancel-task-run.json").read_text())
        data["failure_reason"] = "Cancelled by user"
        data["new_thing"] = {"nested": [1, 2]}
        assert "completed" == parse_task_run(data).status

    def test_a_run_without_a_creator_or_window_parses_without_key(self):
        """A null `created_by_user_id` and null window are tolerated (§9.16)."""
        data = json.loads((FIXTURES / "arize-cancel-task-run.json").read_text())
        data.update(created_by_user_id=None, data_start_time=None, data_end_time=None)
        run = parse_task_run(data)
        assert run.created_by is None
        assert run.natural_key is None

    def test_an_experiment_name_gives_the_experiment_key(self):
        """With its experiment's name, a run is keyed by task and name."""
        data = json.loads((FIXTURES / "arize-cancel-task-run.json").read_text())
        data.update(data_start_time=None, data_end_time=None, experiment_id="RXhw")
        run = parse_task_run(data, experiment_name="exp-1")
        expected = arize_vendor.experiment_key(
            task_id="T25saW5lVGFzazo0NTpxUndY", experiment_name="exp-1"
        )
        assert expected == run.natural_key


class TestCreate:
    def test_a_created_window_run_is_active_keyed_and_ours(self, provider):
        """Trigger answers a PENDING run with the window key and the key's user as creator."""
        run = provider.create_run(window(), workspace="ws", request_id="r1")
        assert RunPhase.ACTIVE == run.phase
        assert window().natural_key == run.natural_key
        assert user_id_of(KEY) == run.created_by

    def test_a_created_experiment_run_is_active_and_ours(self, provider):
        """An experiment run is PENDING, by our user; its key waits for the experiment."""
        run = provider.create_run(experiment("exp-create"), workspace="ws", request_id="r")
        assert RunPhase.ACTIVE == run.phase
        assert user_id_of(KEY) == run.created_by

    def test_a_create_whose_answer_is_lost_is_adopted_without_a_second_post(self, start_emulator):
        """The run was committed but its answer dropped: it is found by key, one POST only."""
        url = start_emulator(seed=1, faults=emulator.Faults(lost_create_rate=1.0))
        transport = Counting()
        provider = make(url, max_retries=1, transport=transport)
        try:
            run = provider.create_run(window(), workspace="ws", request_id="r")
            held = provider.list_runs([window()])
        finally:
            provider.close()
        assert 1 == transport.count("POST", "/v2/tasks/")
        assert [run.run_id] == [r.run_id for r in held]
        assert window().natural_key == run.natural_key

    def test_a_lost_experiment_create_is_adopted_before_its_experiment_exists(self, start_emulator):
        """A PENDING experiment run has no key yet; the one just triggered is adopted."""
        url = start_emulator(seed=1, faults=emulator.Faults(lost_create_rate=1.0))
        transport = Counting()
        provider = make(url, max_retries=1, transport=transport)
        try:
            run = provider.create_run(experiment("exp-lost"), workspace="ws", request_id="r")
            held = provider.list_runs([experiment("exp-lost")])
        finally:
            provider.close()
        assert 1 == transport.count("POST", "/v2/tasks/")
        assert [run.run_id] == [r.run_id for r in held]

    def test_a_reused_experiment_name_adopts_the_run_just_started(self, provider):
        """The vendor's 409 means "already started": the existing run is returned."""
        first = provider.create_run(experiment("exp-twice"), workspace="ws", request_id="r1")
        second = provider.create_run(experiment("exp-twice"), workspace="ws", request_id="r2")
        assert first.run_id == second.run_id
        assert 1 == len(provider.list_runs([experiment("exp-twice")]))

    def test_a_reused_experiment_name_adopts_an_older_run(self, start_emulator):
        """The name is the idempotency token: a run started an hour ago is adopted too."""
        clock = Clock(time.time() - 3600)
        url = start_emulator(seed=2, clock=clock)
        provider = make(url)
        try:
            first = provider.create_run(experiment("exp-old"), workspace="ws", request_id="r1")
            clock.now = time.time()
            second = provider.create_run(experiment("exp-old"), workspace="ws", request_id="r2")
        finally:
            provider.close()
        assert first.run_id == second.run_id
        assert experiment("exp-old").natural_key == second.natural_key

    def test_a_reused_name_of_a_cancelled_run_is_an_error(self, provider):
        """A cancelled run cannot be adopted; its name stays taken, so the 409 is raised."""
        run = provider.create_run(experiment("exp-burnt"), workspace="ws", request_id="r1")
        provider.cancel_run(run)
        with pytest.raises(ProviderError) as caught:
            provider.create_run(experiment("exp-burnt"), workspace="ws", request_id="r2")
        assert 409 == caught.value.status

    def test_a_reused_name_of_another_users_run_is_not_adopted(self, emulator_url):
        """With an owner configured, a run of another key is not ours: the 409 is raised."""
        other = make(emulator_url, key="other-key-1234")
        provider = make(emulator_url, owner_user_id=user_id_of(KEY))
        try:
            other.create_run(experiment("exp-theirs"), workspace="ws", request_id="r1")
            with pytest.raises(ProviderError) as caught:
                provider.create_run(experiment("exp-theirs"), workspace="ws", request_id="r2")
        finally:
            other.close()
            provider.close()
        assert 409 == caught.value.status


class TestList:
    def test_every_page_is_read_and_each_run_listed_once(self, seeded):
        """250 runs of one task come back over three pages, each exactly once."""
        server, url = seeded
        ids = server.arize.seed_runs(KEY, 250, task_id=TASK_1)
        transport = Counting()
        provider = make(url, transport=transport)
        try:
            runs = provider.list_runs([window()])
        finally:
            provider.close()
        assert set(ids) == {r.run_id for r in runs}
        assert 250 == len(runs)
        assert 3 == transport.count("GET", f"/v2/tasks/{TASK_1}/runs")
        assert {user_id_of(KEY)} == {r.created_by for r in runs}

    def test_tasks_named_configured_and_of_the_space_are_listed(self, seeded):
        """Runs of resource tasks, `task_ids` and every task of `space_id` are seen; no other."""
        server, url = seeded
        named = server.arize.seed_runs(KEY, 3, task_id=TASK_1)
        configured = server.arize.seed_runs(KEY, 4, task_id=TASK_2)
        spaced = server.arize.seed_runs("someone-else", 5, task_id=TASK_5)
        server.arize.seed_runs(KEY, 6, task_id=TASK_3)
        provider = make(url, task_ids=(TASK_2,), space_id=SANDBOX)
        try:
            runs = provider.list_runs([window()])
        finally:
            provider.close()
        assert set(named + configured + spaced) == {r.run_id for r in runs}
        assert 12 == len(runs)

    def test_experiment_runs_get_their_key_without_a_get_per_run(self, seeded):
        """150 experiment runs are keyed by (task, experiment name) from list pages alone."""
        server, url = seeded
        ids = server.arize.seed_runs(KEY, 150, task_id=TASK_4, spacing_s=60)
        transport = Counting()
        provider = make(url, transport=transport)
        try:
            runs = provider.list_runs([experiment("seed-1")])
        finally:
            provider.close()
        assert set(ids) == {r.run_id for r in runs}
        names = {dict(r.natural_key.parts)["experiment_name"] for r in runs if r.natural_key}
        assert {f"seed-{n}" for n in range(1, 151)} == names
        assert 0 == transport.count("GET", "/v2/task-runs/")
        assert 0 == sum(
            1 for m, p in transport.requests if p.startswith("/v2/experiments/") and m == "GET"
        )

    def test_a_triggered_experiment_is_keyed_once_it_exists(self, start_emulator):
        """PENDING: no key; once RUNNING its experiment's name keys it."""
        clock = Clock(1_800_000_000.0)
        url = start_emulator(seed=4, clock=clock)
        provider = make(url)
        try:
            run = provider.create_run(experiment("exp-later"), workspace="ws", request_id="r")
            clock.now += 3600
            transport = Counting()
            lister = make(url, transport=transport)
            try:
                (listed,) = lister.list_runs([experiment("exp-later")])
            finally:
                lister.close()
        finally:
            provider.close()
        assert run.natural_key is None
        assert experiment("exp-later").natural_key == listed.natural_key
        assert 0 == transport.count("GET", "/v2/task-runs/")
        assert 0 == transport.count("GET", "/v2/experiments/")

    def test_lowercase_statuses_of_an_older_deployment_are_read(self, seeded):
        """With legacy lowercase enums no run's phase is UNKNOWN."""
        server, url = seeded
        server.arize.legacy_enums = True
        server.arize.seed_runs(KEY, 20, task_id=TASK_1, spacing_s=30)
        provider = make(url)
        try:
            runs = provider.list_runs([window()])
        finally:
            provider.close()
        assert 20 == len(runs)
        assert {r.status.lower() for r in runs} == {r.status for r in runs}
        assert RunPhase.UNKNOWN not in {r.phase for r in runs}

    def test_an_unknown_task_aborts_the_listing_naming_it(self, provider):
        """A 404 for a task is a ListingError that names the task."""
        with pytest.raises(ListingError) as caught:
            provider.list_runs([window(), window(task=UNKNOWN_TASK, name="y")])
        assert 404 == caught.value.status
        assert UNKNOWN_TASK in str(caught.value)

    def test_an_unknown_configured_task_aborts_the_listing_naming_it(self, emulator_url):
        """A `task_ids` entry the vendor does not know fails the listing too."""
        provider = make(emulator_url, task_ids=(UNKNOWN_TASK,))
        try:
            with pytest.raises(ListingError, match=UNKNOWN_TASK):
                provider.list_runs([])
        finally:
            provider.close()

    def test_a_rejected_key_aborts_the_listing_without_showing_the_key(self, emulator_url):
        """A 401 is a ListingError naming the status; the key is nowhere in it."""
        key = "revoked-" + KEY
        provider = make(emulator_url, key=key)
        try:
            with pytest.raises(ListingError) as caught:
                provider.list_runs([window()])
        finally:
            provider.close()
        assert 401 == caught.value.status
        assert KEY not in str(caught.value)


class TestCancel:
    def test_an_active_run_is_cancelled(self, provider):
        """Cancel answers with the run, already CANCELLED."""
        run = provider.create_run(window(), workspace="ws", request_id="r")
        cancelled = provider.cancel_run(run)
        assert "CANCELLED" == cancelled.status
        assert RunPhase.CANCELLED == cancelled.phase

    def test_cancelling_twice_is_harmless(self, provider):
        """A second cancel (a 400 from the vendor) returns the cancelled run, no error."""
        run = provider.create_run(window(), workspace="ws", request_id="r")
        provider.cancel_run(run)
        assert RunPhase.CANCELLED == provider.cancel_run(run).phase

    def test_a_run_that_finished_meanwhile_is_returned_as_it_is(self, start_emulator):
        """The vendor says 400 for a finished run: the provider reads it and reports it."""
        clock = Clock(1_800_000_000.0)
        url = start_emulator(seed=2, clock=clock)
        provider = make(url)
        try:
            run = provider.create_run(
                window(start="2027-01-14T00:00:00Z", end="2027-01-15T00:00:00Z"),
                workspace="ws",
                request_id="r",
            )
            clock.now += 24 * 3600
            finished = provider.cancel_run(run)
            again = provider.get_run(run)
        finally:
            provider.close()
        assert run.run_id == finished.run_id
        assert finished.phase in (RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELLED)
        assert again.status == finished.status

    def test_get_reads_the_current_state(self, provider):
        """get_run returns the run by id, with its key."""
        run = provider.create_run(window(), workspace="ws", request_id="r")
        current = provider.get_run(run)
        assert run.run_id == current.run_id
        assert run.natural_key == current.natural_key


class TestFreshLooksAreBounded:
    """Apply's looks around a create read only what is new, once per task across workers."""

    def test_a_look_since_the_plan_reads_only_the_pages_newer_than_it(self, seeded):
        """250 runs of history (3 pages), newest first: a look 10 s back reads one page."""
        server, url = seeded
        server.arize.seed_runs(KEY, 250, task_id=TASK_1)
        transport = Counting()
        provider = make(url, transport=transport)
        try:
            since = datetime.now(UTC) - timedelta(seconds=10)
            found = provider.find_runs(window(), workspace="ws", since=since)
        finally:
            provider.close()
        assert [] == found  # the seeded windows are not this resource's
        assert 1 == transport.count("GET", f"/v2/tasks/{TASK_1}/runs")

    def test_eight_workers_looking_at_one_task_share_one_look(self, seeded):
        server, url = seeded
        server.arize.seed_runs(KEY, 250, task_id=TASK_1)
        transport = Counting()
        provider = make(url, transport=transport)
        since = datetime.now(UTC) - timedelta(seconds=10)
        resources = [window(name=f"r{n}", start=f"2026-03-0{n + 1}T00:00:00Z") for n in range(8)]
        try:
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda r: provider.find_runs(r, workspace="ws", since=since), resources
                    )
                )
        finally:
            provider.close()
        assert 1 == transport.count("GET", f"/v2/tasks/{TASK_1}/runs")

    def test_the_race_settlement_reads_once_after_the_create_and_finds_the_run(self, seeded):
        """Look, trigger, look again: the second look is new (begun after the trigger), once."""
        server, url = seeded
        server.arize.seed_runs(KEY, 250, task_id=TASK_1)
        transport = Counting()
        provider = make(url, transport=transport)
        since = datetime.now(UTC) - timedelta(seconds=10)
        try:
            assert [] == provider.find_runs(window(), workspace="ws", since=since)
            made = provider.create_run(window(), workspace="ws", request_id="r")
            twins = provider.find_runs(window(), workspace="ws", since=since)
        finally:
            provider.close()
        assert [made.run_id] == [r.run_id for r in twins]
        assert 2 == transport.count("GET", f"/v2/tasks/{TASK_1}/runs")

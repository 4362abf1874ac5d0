"""The Adaline provider against the emulator over loopback HTTP, and the vendor's own payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import emulator
from reconciler.errors import ListingError
from reconciler.model import (
    Address,
    Kind,
    Lifecycle,
    Resource,
    RunPhase,
    SourceLocation,
    Vendor,
)
from reconciler.providers.adaline import AdalineProvider, epoch_ms, parse_evaluation
from reconciler.providers.config import ProviderConfig
from reconciler.providers.registry import emulator_base_url
from reconciler.secret import Secret
from reconciler.vendors import adaline as adaline_vendor
from tests.clock import Clock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY = "test-key-adaline-5c1e"
CHECKOUT = "prompt_checkout_assistant_0001"
REFUND = "prompt_refund_triage_0002"
ACCURACY = ("evaluator_checkout_accuracy_0001", "dataset_checkout_questions_0001")
LATENCY = ("evaluator_checkout_latency_0002", "dataset_checkout_edge_cases_0002")
POLICY = ("evaluator_refund_policy_match_0004", "dataset_refund_requests_0003")
UNKNOWN_PROMPT = "prompt_does_not_exist_0099"


def resource(prompt: str = CHECKOUT, pair: tuple[str, str] = ACCURACY, name: str = "x") -> Resource:
    return Resource.build(
        address=Address(Kind.ADALINE_EVALUATION, name),
        spec={"promptId": prompt, "evaluatorId": pair[0], "datasetId": pair[1]},
        lifecycle=Lifecycle(),
        source=SourceLocation(path="x.yaml", line=1),
    )


class Counting(httpx.BaseTransport):
    """Forward to a real transport, recording every request (retries included)."""

    def __init__(self, *, rewrite_auth: bool = False) -> None:
        self.inner = httpx.HTTPTransport(retries=0)
        self.requests: list[tuple[str, str]] = []
        self.rewrite_auth = rewrite_auth

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.rewrite_auth:  # send the key without its scheme: the vendor rejects it
            request.headers["authorization"] = KEY
        self.requests.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def make(
    url: str, key: str = KEY, *, transport: httpx.BaseTransport | None = None, **options: Any
) -> AdalineProvider:
    config = ProviderConfig(
        vendor=Vendor.ADALINE,
        api_key=Secret(key),
        base_url=emulator_base_url(Vendor.ADALINE, url),
        **options,
    )
    return AdalineProvider(config, transport=transport)


@pytest.fixture
def provider(emulator_url: str) -> Iterator[AdalineProvider]:
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
    def test_the_documented_cancel_answer_parses_with_its_placeholders(self):
        """Placeholder ids, lowercase `queued` and a stray-digit submittedAt are all accepted."""
        data = json.loads((FIXTURES / "adaline-cancel-evaluation.json").read_text())
        run = parse_evaluation(data, prompt_id=CHECKOUT)
        assert "<string>" == run.run_id
        assert RunPhase.ACTIVE == run.phase
        assert datetime.fromtimestamp(17450965800, UTC) == run.created_at
        expected = adaline_vendor.key(
            prompt_id=CHECKOUT, evaluator_id="<string>", dataset_id="<string>"
        )
        assert expected == run.natural_key

    def test_unknown_fields_are_ignored(self):
        """Fields Adaline adds later do not break parsing."""
        data = json.loads((FIXTURES / "adaline-cancel-evaluation.json").read_text())
        data["name"] = "future"
        data["timeline"]["queuedAt"] = 1
        data["new_thing"] = {"nested": [1, 2]}
        assert "queued" == parse_evaluation(data, prompt_id=CHECKOUT).status

    def test_a_missing_dataset_id_is_tolerated(self):
        """The client must tolerate an Evaluation without `datasetId` (§9)."""
        data = json.loads((FIXTURES / "adaline-cancel-evaluation.json").read_text())
        del data["datasetId"]
        assert "<string>" == parse_evaluation(data, prompt_id=CHECKOUT).run_id


class TestEpochMs:
    def test_a_value_below_1e11_is_seconds(self):
        """Seconds and milliseconds of the same instant read alike (§10.2)."""
        assert epoch_ms(1_745_096_580_000) == epoch_ms(1_745_096_580)

    def test_the_threshold_is_1e11(self):
        """Just below 1e11 is seconds; 1e11 itself is milliseconds."""
        assert datetime.fromtimestamp(99_999_999_999, UTC) == epoch_ms(99_999_999_999)
        assert datetime.fromtimestamp(100_000_000, UTC) == epoch_ms(100_000_000_000)

    def test_a_float_is_accepted(self):
        """Fractional milliseconds parse too."""
        assert datetime(2026, 1, 1, tzinfo=UTC) == epoch_ms(1_767_225_600_000.0)

    def test_non_numbers_are_rejected(self):
        """A string, a boolean or null is not a timestamp."""
        for value in ("1745096580000", True, None):
            with pytest.raises(ValueError, match="not a timestamp"):
                epoch_ms(value)


class TestCreate:
    def test_a_created_run_is_active_with_the_resources_key(self, provider):
        """Create answers a queued run keyed by prompt, evaluator and dataset."""
        run = provider.create_run(resource(), workspace="ws", request_id="r1")
        assert RunPhase.ACTIVE == run.phase
        assert "queued" == run.status
        assert resource().natural_key == run.natural_key

    def test_a_create_whose_answer_is_lost_is_adopted_without_a_second_post(self, start_emulator):
        """The run was committed but its answer dropped: it is found by key, one POST only."""
        url = start_emulator(seed=1, faults=emulator.Faults(lost_create_rate=1.0))
        transport = Counting()
        provider = make(url, max_retries=1, transport=transport)
        try:
            run = provider.create_run(resource(), workspace="ws", request_id="r")
            held = provider.list_runs([resource()])
        finally:
            provider.close()
        posts = [r for r in transport.requests if r[0] == "POST"]
        assert 1 == len(posts)
        assert [run.run_id] == [r.run_id for r in held]
        assert resource().natural_key == run.natural_key


class TestList:
    def test_every_page_is_read_and_each_run_listed_once(self, seeded):
        """450 runs of one key come back over three pages, each exactly once."""
        server, url = seeded
        server.adaline.seed_runs(KEY, 450, prompt_id=CHECKOUT, spacing_s=0.5)
        transport = Counting()
        provider = make(url, transport=transport)
        try:
            runs = provider.list_runs([resource()])
        finally:
            provider.close()
        assert 450 == len({r.run_id for r in runs}) == len(runs)
        assert 3 == len(transport.requests)
        assert {resource().natural_key} == {r.natural_key for r in runs}

    def test_only_the_prompts_the_resources_name_are_listed(self, seeded):
        """Runs of a prompt no resource names are not read; every run of a named one is."""
        server, url = seeded
        server.adaline.seed_runs(KEY, 230, prompt_id=CHECKOUT)
        server.adaline.seed_runs(KEY, 5, prompt_id=REFUND)
        transport = Counting()
        provider = make(url, transport=transport)
        try:
            provider.create_run(resource(pair=LATENCY), workspace="ws", request_id="r")
            runs = provider.list_runs([resource(), resource(pair=LATENCY, name="y")])
        finally:
            provider.close()
        assert 231 == len({r.run_id for r in runs}) == len(runs)
        assert {CHECKOUT} == {r.natural_key.container for r in runs}
        gets = {path for method, path in transport.requests if method == "GET"}
        assert {f"/v2/prompts/{CHECKOUT}/evaluations"} == gets

    def test_no_resources_means_no_request(self, provider):
        """With no prompt named there is nothing to list (Adaline has no global list)."""
        provider.create_run(resource(), workspace="ws", request_id="r")
        assert [] == provider.list_runs([])

    def test_an_unknown_prompt_aborts_the_listing_naming_it(self, provider):
        """A 404 for a prompt is a ListingError that names the prompt."""
        with pytest.raises(ListingError) as caught:
            provider.list_runs([resource(), resource(prompt=UNKNOWN_PROMPT, name="y")])
        assert 404 == caught.value.status
        assert UNKNOWN_PROMPT in str(caught.value)

    def test_a_rejected_key_aborts_the_listing_without_showing_the_key(self, emulator_url):
        """A 401 is a ListingError naming the status; the key is nowhere in it."""
        provider = make(emulator_url, transport=Counting(rewrite_auth=True))
        try:
            with pytest.raises(ListingError) as caught:
                provider.list_runs([resource()])
        finally:
            provider.close()
        assert 401 == caught.value.status
        assert KEY not in str(caught.value)
        assert KEY not in repr(caught.value.args)


class TestCancel:
    def test_an_active_run_is_cancelled(self, provider):
        """Cancel answers `cancelling`, which is the CANCELLED phase."""
        run = provider.create_run(resource(), workspace="ws", request_id="r")
        cancelled = provider.cancel_run(run)
        assert "cancelling" == cancelled.status
        assert RunPhase.CANCELLED == cancelled.phase
        assert run.run_id == cancelled.run_id

    def test_cancelling_twice_is_harmless(self, provider):
        """A second cancel (a 400 from the vendor) returns the cancelled run, no error."""
        run = provider.create_run(resource(), workspace="ws", request_id="r")
        provider.cancel_run(run)
        assert RunPhase.CANCELLED == provider.cancel_run(run).phase

    def test_a_run_that_finished_meanwhile_is_returned_as_it_is(self, start_emulator):
        """The vendor says 400 for a finished run: the provider reads it and reports it."""
        clock = Clock(1_800_000_000.0)
        url = start_emulator(seed=2, clock=clock)
        provider = make(url)
        try:
            run = provider.create_run(resource(), workspace="ws", request_id="r")
            clock.now += 24 * 3600
            finished = provider.cancel_run(run)
            again = provider.get_run(run)
        finally:
            provider.close()
        assert finished.phase in (RunPhase.SUCCEEDED, RunPhase.FAILED)
        assert again.status == finished.status

    def test_get_reads_the_current_state(self, provider):
        """get_run returns the run by id under its prompt."""
        run = provider.create_run(resource(), workspace="ws", request_id="r")
        current = provider.get_run(run)
        assert run.run_id == current.run_id
        assert run.natural_key == current.natural_key
        assert run.created_at == current.created_at


class TestMissingDatasetId:
    """adaline.md §2: an evaluation's `datasetId` may be absent (emulator `omit_dataset_id`)."""

    @pytest.fixture
    def provider(self, start_emulator) -> Iterator[AdalineProvider]:
        p = make(start_emulator(seed=3, omit_dataset_id=True), max_retries=1)
        yield p
        p.close()

    def test_a_run_listed_under_one_declared_key_is_keyed_by_the_filtered_dataset(self, provider):
        """One key on the prompt: the listing is filtered on its dataset, so the run is its."""
        made = provider.create_run(resource(), workspace="ws", request_id="r")
        listed = provider.list_runs([resource()])
        assert [(made.run_id, resource().natural_key)] == [
            (r.run_id, r.natural_key) for r in listed
        ]

    def test_runs_of_a_prompt_with_several_declared_keys_are_keyed_by_filtered_listings(
        self, provider
    ):
        """Two keys on one prompt: each run is keyed through a listing filtered on its key."""
        declared = [resource(pair=ACCURACY, name="a"), resource(pair=LATENCY, name="b")]
        made = {
            provider.create_run(r, workspace="ws", request_id=str(r.address)).run_id: r.natural_key
            for r in declared
        }
        listed = provider.list_runs(declared)
        assert made == {r.run_id: r.natural_key for r in listed}

    def test_a_run_no_filtered_listing_returns_has_no_key_and_satisfies_nothing(self, provider):
        """A run of an undeclared key, listed unfiltered without its dataset, matches nothing."""
        declared = [resource(pair=ACCURACY, name="a"), resource(pair=LATENCY, name="b")]
        stranger = resource(pair=(ACCURACY[0], LATENCY[1]), name="c")
        made = provider.create_run(stranger, workspace="ws", request_id="r")
        listed = provider.list_runs(declared)
        assert [(made.run_id, None)] == [(r.run_id, r.natural_key) for r in listed]

    def test_a_create_answer_without_datasetid_is_keyed_by_the_dataset_asked_for(self, provider):
        """The create's own answer lacks the field: the run still carries the resource's key."""
        made = provider.create_run(resource(), workspace="ws", request_id="r")
        assert resource().natural_key == made.natural_key
        assert made.run_id in {
            r.run_id
            for r in provider.find_runs(
                resource(), workspace="ws", since=datetime.now(UTC) - timedelta(minutes=1)
            )
        }


class TestFreshLooksAreShared:
    """Apply's looks around a create: one per key across workers, re-read only after a create."""

    def lists(self, transport: Counting) -> int:
        return sum(1 for m, p in transport.requests if m == "GET" and p.endswith("/evaluations"))

    def test_eight_workers_looking_at_one_key_share_one_look(self, emulator_url):
        transport = Counting()
        provider = make(emulator_url, transport=transport)
        since = datetime.now(UTC) - timedelta(seconds=10)
        named = [resource(name=f"r{n}") for n in range(8)]
        try:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda r: provider.find_runs(r, workspace="ws", since=since), named))
        finally:
            provider.close()
        assert 1 == self.lists(transport)

    def test_the_race_settlement_reads_once_after_the_create_and_finds_the_run(self, emulator_url):
        transport = Counting()
        provider = make(emulator_url, transport=transport)
        since = datetime.now(UTC) - timedelta(seconds=10)
        try:
            assert [] == provider.find_runs(resource(), workspace="ws", since=since)
            assert [] == provider.find_runs(resource(), workspace="ws", since=since)
            made = provider.create_run(resource(), workspace="ws", request_id="r")
            twins = provider.find_runs(resource(), workspace="ws", since=since)
        finally:
            provider.close()
        assert [made.run_id] == [r.run_id for r in twins]
        assert 2 == self.lists(transport)

"""The Bland provider against the emulator over loopback HTTP, and the vendor's own payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler import emulator
from reconciler.errors import ListingError, ProviderError, TransientProviderError
from reconciler.model import (
    LABEL_ADDRESS,
    LABEL_REQUEST_ID,
    LABEL_SPEC_HASH,
    LABEL_WORKSPACE,
    Address,
    Kind,
    Lifecycle,
    Resource,
    RunPhase,
    SourceLocation,
    Vendor,
)
from reconciler.providers.bland import BlandProvider, parse_run
from reconciler.providers.config import ProviderConfig
from reconciler.secret import Secret
from tests.clock import Clock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KEY = "test-key-0b7d"
AGENT = "11111111-aaaa-4bbb-8ccc-000000000001"
CALLS = [f"a1b2c3d4-0000-4000-8000-{n:012d}" for n in range(1, 5)]


def resource(name: str = "nightly", *, adopt: bool = False, calls: int = 2) -> Resource:
    return Resource.build(
        address=Address(Kind.BLAND_EVAL_RUN, name),
        spec={
            "call_ids": list(CALLS[:calls]),
            "attached_agents": [{"eval_agent_id": AGENT, "weight": 100}],
            "run_mode": "text",
            "metadata": {"team": "support"},
        },
        lifecycle=Lifecycle(adopt=adopt),
        source=SourceLocation(path="evals/x.yaml", line=1),
    )


@pytest.fixture
def provider(emulator_url):
    p = BlandProvider(
        ProviderConfig(
            vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=emulator_url, max_retries=2
        )
    )
    yield p
    p.close()


class TestPublishedPayloads:
    def test_the_documented_list_page_parses_with_its_reduced_items(self):
        """Both items of Bland's published list example parse, statuses mapped to phases."""
        page = json.loads((FIXTURES / "bland-list-runs.json").read_text())["data"]
        runs = [parse_run(item) for item in page["data"]]
        assert [RunPhase.SUCCEEDED, RunPhase.ACTIVE] == [r.phase for r in runs]
        assert datetime(2026, 5, 20, 14, 0, tzinfo=UTC) == runs[0].created_at

    def test_the_documented_cancel_answer_parses_as_cancelled(self):
        """The full run object of the cancel example parses; its agents give an adopt key."""
        data = json.loads((FIXTURES / "bland-cancel-run.json").read_text())["data"]
        run = parse_run(data)
        assert RunPhase.CANCELLED == run.phase
        assert run.adopt_key is not None

    def test_unknown_fields_are_ignored(self):
        """A field Bland adds later does not break parsing."""
        data = json.loads((FIXTURES / "bland-cancel-run.json").read_text())["data"]
        data["agent_id"] = "future"
        data["new_thing"] = {"nested": [1, 2]}
        assert "CANCELLED" == parse_run(data).status


class TestCreate:
    def test_a_created_run_carries_the_ownership_labels_and_the_users_metadata(self, provider):
        """Create sends the labels of DESIGN.md beside the manifest's own metadata."""
        run = provider.create_run(resource(), workspace="ws", request_id="req-1")
        assert RunPhase.ACTIVE == run.phase
        assert "ws" == run.label(LABEL_WORKSPACE)
        assert "BlandEvalRun/nightly" == run.label(LABEL_ADDRESS)
        assert resource().spec_hash == run.label(LABEL_SPEC_HASH)
        assert "req-1" == run.label(LABEL_REQUEST_ID)
        assert "support" == run.label("team")

    def test_a_rejected_create_names_the_vendor_status_and_code(self, provider):
        """A 404 for an unknown call is a ProviderError naming HTTP 404 and the code."""
        bad = Resource.build(
            address=Address(Kind.BLAND_EVAL_RUN, "bad"),
            spec={"call_ids": ["nope"], "attached_agents": [{"eval_agent_id": AGENT}]},
            lifecycle=Lifecycle(),
            source=SourceLocation(path="x.yaml", line=1),
        )
        with pytest.raises(ProviderError) as caught:
            provider.create_run(bad, workspace="ws", request_id="r")
        assert 404 == caught.value.status
        assert "CALL_NOT_FOUND" in str(caught.value)

    def test_a_create_whose_answer_is_lost_is_found_by_its_request_id(self, start_emulator):
        """The run was committed but its answer dropped: the provider finds it, no second POST."""
        url = start_emulator(seed=1, faults=emulator.Faults(lost_create_rate=1.0))
        provider = BlandProvider(
            ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=1)
        )
        try:
            run = provider.create_run(resource(), workspace="ws", request_id="req-lost")
            assert "req-lost" == run.label(LABEL_REQUEST_ID)
            assert [run.run_id] == [r.run_id for r in provider.list_runs([])]
        finally:
            provider.close()

    def test_a_create_that_never_happened_is_reported_as_transient(self, start_emulator):
        """Every connection dropped: nothing exists, so the error says the next apply retries."""
        url = start_emulator(seed=1, faults=emulator.Faults(drop_rate=1.0))
        provider = BlandProvider(
            ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=0)
        )
        try:
            with pytest.raises(
                TransientProviderError, match="whether the run was created is unknown"
            ):
                provider.create_run(resource(), workspace="ws", request_id="req-x")
        finally:
            provider.close()


class TestList:
    def test_every_page_is_read_and_each_run_listed_once(self, start_emulator):
        """250 runs come back over three pages, each exactly once."""
        server = emulator.make_server("127.0.0.1", 0, seed=3)
        server.bland.seed_runs(KEY, 250)
        with emulator.serve_in_thread(server) as url:
            provider = BlandProvider(
                ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url)
            )
            try:
                runs = provider.list_runs([])
            finally:
                provider.close()
        assert 250 == len({r.run_id for r in runs}) == len(runs)

    def test_labels_come_from_the_list_items_metadata(self, provider):
        """Ownership is read from list items alone: no GET per run."""
        provider.create_run(resource(), workspace="ws", request_id="r1")
        (run,) = provider.list_runs([resource()])
        assert "ws" == run.label(LABEL_WORKSPACE)
        assert run.adopt_key is None

    def test_unlabelled_runs_get_an_adopt_key_only_when_a_resource_adopts(
        self, provider, emulator_url
    ):
        """With adopt: true, an unlabelled run is read in full so its spec can be compared."""
        import httpx

        body = {"call_ids": CALLS[:2], "attached_agents": [{"eval_agent_id": AGENT}]}
        httpx.post(f"{emulator_url}/v1/evals/runs", json=body, headers={"authorization": KEY})
        (plain,) = provider.list_runs([resource()])
        (adoptable,) = provider.list_runs([resource(adopt=True)])
        assert plain.adopt_key is None
        assert resource(adopt=True).adopt_key == adoptable.adopt_key

    def test_an_organisation_without_evals_aborts_the_listing_with_the_reason(self, emulator_url):
        """Every evals route 404s; the status route says why, and the error says it."""
        provider = BlandProvider(
            ProviderConfig(
                vendor=Vendor.BLAND, api_key=Secret("evals-off-" + KEY), base_url=emulator_url
            )
        )
        try:
            with pytest.raises(ListingError, match="not enabled"):
                provider.list_runs([])
        finally:
            provider.close()

    def test_a_rejected_key_aborts_the_listing_without_showing_the_key(self, emulator_url):
        """A 401 is a ListingError naming the status; the key is nowhere in it."""
        provider = BlandProvider(
            ProviderConfig(
                vendor=Vendor.BLAND, api_key=Secret("Bearer " + KEY), base_url=emulator_url
            )
        )
        try:
            with pytest.raises(ListingError) as caught:
                provider.list_runs([])
        finally:
            provider.close()
        assert 401 == caught.value.status
        assert KEY not in str(caught.value)

    def test_persistent_server_errors_abort_the_listing(self, start_emulator):
        """5xx on every try: after the retries, the listing fails instead of reading empty."""
        url = start_emulator(seed=1, faults=emulator.Faults(rate_5xx=1.0))
        provider = BlandProvider(
            ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url, max_retries=1)
        )
        provider._api.http._transport._policy = type(provider._api.http._transport._policy)(
            max_retries=1, base_delay_s=0.01
        )
        try:
            with pytest.raises(ListingError):
                provider.list_runs([])
        finally:
            provider.close()


class TestCancel:
    def test_an_active_run_is_cancelled(self, provider):
        """Cancel answers with the run, now CANCELLED."""
        run = provider.create_run(resource(), workspace="ws", request_id="r")
        assert RunPhase.CANCELLED == provider.cancel_run(run).phase

    def test_cancelling_twice_is_harmless(self, provider):
        """A second cancel returns the cancelled run, no error."""
        run = provider.create_run(resource(), workspace="ws", request_id="r")
        provider.cancel_run(run)
        assert RunPhase.CANCELLED == provider.cancel_run(run).phase

    def test_a_run_that_finished_meanwhile_is_returned_as_it_is(self, start_emulator):
        """The vendor says 409: the provider reads the run and reports it finished."""

        clock = Clock(1_800_000_000.0)
        url = start_emulator(seed=2, clock=clock)
        provider = BlandProvider(
            ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url)
        )
        try:
            run = provider.create_run(resource(), workspace="ws", request_id="r")
            clock.now += 24 * 3600
            finished = provider.cancel_run(run)
        finally:
            provider.close()
        assert finished.phase in (RunPhase.SUCCEEDED, RunPhase.FAILED)

    def test_get_reads_the_current_state(self, provider):
        """get_run returns the run by id."""
        run = provider.create_run(resource(), workspace="ws", request_id="r")
        assert run.run_id == provider.get_run(run).run_id


@pytest.mark.parametrize("calls", [1, 2, 4])
def test_a_finished_runs_pass_rate_is_a_share_of_its_scored_atoms(start_emulator, calls):
    """Target matches never outnumber the atoms scored: pass rate stays within 0-100 %.

    Atoms that found too little evidence are not scored, so they cannot be matches either
    (the emulator counted them as matches, and a 2-call run showed a pass rate of 200 %).
    """
    clock = Clock(1_800_000_000.0)
    url = start_emulator(seed=3, clock=clock)
    provider = BlandProvider(ProviderConfig(vendor=Vendor.BLAND, api_key=Secret(KEY), base_url=url))
    rates = []
    try:
        runs = [
            provider.create_run(resource(f"r{n}", calls=calls), workspace="ws", request_id=f"q{n}")
            for n in range(40)
        ]
        clock.now += 24 * 3600
        for run in runs:
            finished = provider.get_run(run)
            if finished.metrics.pass_rate_pct is not None:
                rates.append(finished.metrics.pass_rate_pct)
    finally:
        provider.close()
    assert rates  # some runs were scored
    assert all(0 <= rate <= 100 for rate in rates), sorted(rates)[-5:]

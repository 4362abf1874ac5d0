"""Pricing a plan with real providers against the emulator: estimates, medians, unknowns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from reconciler import emulator
from reconciler.cost import price_plan
from reconciler.model import (
    Action,
    Change,
    Identity,
    LiveRun,
    Plan,
    Reason,
    Resource,
    RunPhase,
    Vendor,
)
from reconciler.providers.adaline import AdalineProvider, parse_evaluation
from reconciler.providers.arize import ArizeProvider
from reconciler.providers.base import Provider
from reconciler.providers.bland import BlandProvider, parse_run
from reconciler.providers.config import ProviderConfig
from reconciler.providers.registry import emulator_base_url
from reconciler.secret import Secret
from tests.providers import test_adaline, test_arize, test_bland

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def create(resource: Resource) -> Change:
    return Change(
        action=Action.CREATE,
        reason=Reason.MISSING,
        vendor=resource.vendor,
        subject=str(resource.address),
        identity=Identity.NONE,
        resource=resource,
    )


def plan_of(*changes: Change) -> Plan:
    return Plan(workspace="w", changes=changes, counts=())


def adaline_run(run_id: str, resource: Resource, cost: float | None, status: str) -> LiveRun:
    return LiveRun(
        vendor=Vendor.ADALINE,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=NOW,
        natural_key=resource.natural_key,
        cost_usd=cost,
    )


@pytest.fixture
def providers(emulator_url: str) -> Iterator[dict[Vendor, Provider]]:
    opened: dict[Vendor, Provider] = {
        Vendor.BLAND: BlandProvider(
            ProviderConfig(
                vendor=Vendor.BLAND,
                api_key=Secret(test_bland.KEY),
                base_url=emulator_url,
                max_retries=0,
            )
        ),
        Vendor.ADALINE: AdalineProvider(
            ProviderConfig(
                vendor=Vendor.ADALINE,
                api_key=Secret(test_adaline.KEY),
                base_url=emulator_base_url(Vendor.ADALINE, emulator_url),
            )
        ),
        Vendor.ARIZE: ArizeProvider(
            ProviderConfig(
                vendor=Vendor.ARIZE, api_key=Secret(test_arize.KEY), base_url=emulator_url
            )
        ),
    }
    yield opened
    for provider in opened.values():
        provider.close()


def emulator_cents(base_url: str, resource: Resource) -> float:
    """Ask the emulator's estimate endpoint directly, as a user would."""
    with httpx.Client(base_url=base_url, headers={"authorization": test_bland.KEY}) as client:
        answer = client.post("/v1/evals/runs/estimates", json=resource.spec)
    answer.raise_for_status()
    cents: float = answer.json()["data"]["estimated_cost_usd_cents"]
    return cents


class TestEstimates:
    def test_bland_costs_the_emulators_estimate_in_dollars(self, providers, emulator_url):
        resource = test_bland.resource(calls=3)
        priced = price_plan(plan_of(create(resource)), providers, [])
        cents = emulator_cents(emulator_url, resource)
        assert cents > 0
        assert pytest.approx(cents / 100) == priced.changes[0].cost_usd
        assert pytest.approx(cents / 100) == priced.total_cost_usd
        assert 0 == priced.unknown_costs

    def test_adaline_costs_the_median_of_the_keys_finished_runs(self, providers):
        resource = test_adaline.resource()
        other = test_adaline.resource(pair=test_adaline.LATENCY, name="other")
        history = [
            adaline_run("a", resource, 0.10, "completed"),
            adaline_run("b", resource, 0.30, "completed"),
            adaline_run("c", resource, 0.20, "completed"),
            adaline_run("d", resource, 9.00, "running"),  # not finished: partial cost
            adaline_run("e", resource, None, "completed"),  # no metrics
            adaline_run("f", other, 5.00, "completed"),  # another key
        ]
        priced = price_plan(plan_of(create(resource)), providers, history)
        assert pytest.approx(0.20) == priced.changes[0].cost_usd

    def test_adaline_without_finished_runs_is_unknown_not_zero(self, providers):
        resource = test_adaline.resource()
        history = [adaline_run("d", resource, 0.5, "running")]
        priced = price_plan(plan_of(create(resource)), providers, history)
        assert priced.changes[0].cost_usd is None
        assert (0.0, 1) == (priced.total_cost_usd, priced.unknown_costs)

    def test_arize_is_always_unknown(self, providers):
        priced = price_plan(plan_of(create(test_arize.window(name="judge"))), providers, [])
        assert priced.changes[0].cost_usd is None
        assert 1 == priced.unknown_costs
        assert () == priced.notes

    def test_only_creates_and_replaces_are_priced(self, providers):
        resource = test_bland.resource()
        cancel = Change(
            action=Action.CANCEL,
            reason=Reason.NOT_DECLARED,
            vendor=Vendor.BLAND,
            subject="BlandEvalRun/gone",
            identity=Identity.LABELS,
        )
        priced = price_plan(plan_of(create(resource), cancel), providers, [])
        assert priced.changes[1].cost_usd is None
        assert 0 == priced.unknown_costs


class TestFailures:
    def test_a_failing_estimate_is_unknown_with_a_note_naming_the_vendor(self, start_emulator):
        url = start_emulator(seed=1, faults=emulator.Faults(rate_5xx=1.0))
        provider = BlandProvider(
            ProviderConfig(
                vendor=Vendor.BLAND, api_key=Secret(test_bland.KEY), base_url=url, max_retries=0
            )
        )
        try:
            the_plan = plan_of(create(test_bland.resource()))
            priced = price_plan(the_plan, {Vendor.BLAND: provider}, [])
        finally:
            provider.close()
        assert priced.changes[0].cost_usd is None
        assert 1 == priced.unknown_costs
        [note] = priced.notes
        assert note.startswith("Bland: 1 cost estimate(s) failed")
        assert "estimate run" in note


class TestLimit:
    def test_a_known_total_above_the_limit_refuses_and_counts_unknowns(self, providers):
        bland, arize = test_bland.resource(calls=4), test_arize.window(name="judge")
        priced = price_plan(
            plan_of(create(bland), create(arize)), providers, [], max_cost_usd=0.0001
        )
        assert priced.cost_refusal is not None
        assert "exceeds safety.max_cost_usd ($0.0001)" in priced.cost_refusal
        assert "1 more cost(s) are unknown" in priced.cost_refusal
        assert "--allow-cost" in priced.cost_refusal

    def test_allow_cost_turns_the_refusal_into_a_note(self, providers):
        priced = price_plan(
            plan_of(create(test_bland.resource())),
            providers,
            [],
            max_cost_usd=0.0001,
            allow_cost=True,
        )
        assert priced.cost_refusal is None
        assert any("applying anyway (--allow-cost)" in n for n in priced.notes)

    def test_unknown_costs_under_the_limit_are_a_note_not_a_refusal(self, providers):
        plan = plan_of(create(test_bland.resource()), create(test_arize.window(name="judge")))
        priced = price_plan(plan, providers, [], max_cost_usd=1000)
        assert priced.cost_refusal is None
        assert any(n.startswith("1 cost(s) are unknown") for n in priced.notes)

    def test_no_limit_no_refusal(self, providers):
        priced = price_plan(plan_of(create(test_bland.resource())), providers, [])
        assert priced.cost_refusal is None


class TestParsedCosts:
    def test_adaline_reads_metrics_total_cost(self):
        data = json.loads((FIXTURES / "adaline-cancel-evaluation.json").read_text())
        item = data
        item["metrics"] = {**(item.get("metrics") or {}), "totalCost": 0.0132}
        assert 0.0132 == parse_evaluation(item, prompt_id="p").cost_usd

    def test_bland_reads_billable_cost_usd(self):
        data = json.loads((FIXTURES / "bland-cancel-run.json").read_text())["data"]
        data["billable_cost_usd"] = 0.04
        assert 0.04 == parse_run(data).cost_usd
        data["billable_cost_usd"] = None
        assert parse_run(data).cost_usd is None

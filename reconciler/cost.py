"""The cost of a plan: every create and replace priced after planning, outside the planner.

The planner stays pure; pricing asks the vendors (Bland's free estimate endpoint) or reads
the live runs the plan was made from (Adaline: the median cost of earlier runs of the same
key). A cost nobody can tell is unknown (None), never $0, and an estimate that fails leaves
the cost unknown with a note: pricing never fails a plan.

Pricing never doubles an apply (docs/performance.md): identical estimate bodies are asked
once (`price_plan`), `apply FILE` carries the saved plan's prices over (`carry_prices`), and
an apply without a saved plan prices only when `safety.max_cost_usd` needs the total.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from reconciler.errors import ReconcilerError
from reconciler.model import Change, LiveRun, Plan, Resource, Vendor
from reconciler.providers.base import Provider
from reconciler.providers.http import gather
from reconciler.render.money import usd

MAX_ESTIMATES_IN_FLIGHT = 8  # per vendor; the provider's transport caps requests anyway


def price_plan(
    plan: Plan,
    providers: Mapping[Vendor, Provider],
    live_runs: Sequence[LiveRun],
    *,
    max_cost_usd: float | None = None,
    allow_cost: bool = False,
    unknown_only: bool = False,
) -> Plan:
    """Return a copy of `plan` whose creates and replaces carry their estimated `cost_usd`.

    `unknown_only`: price only the changes whose cost is not known yet (a saved plan's
    prices carried over, where a budget needs the ones it could not tell).

    Vendors are priced concurrently, and each vendor's changes concurrently too. When
    `max_cost_usd` is set and the known total exceeds it, the copy carries a `cost_refusal`
    (a note instead with `allow_cost`); unknown costs are never counted as $0.
    """
    to_price = [
        i
        for i, c in enumerate(plan.changes)
        if (c.creates or c.held)
        and c.resource is not None
        and not (unknown_only and c.cost_usd is not None)
    ]
    # One estimate per distinct body: creates with the same spec (and so the same natural
    # key) cost the same, so the first change of each body is asked and the rest share it.
    asked: dict[tuple[Vendor, str, object], int] = {}
    same_as: dict[int, int] = {}
    by_vendor: dict[Vendor, list[int]] = {}
    for index in to_price:
        change = plan.changes[index]
        resource = change.resource
        assert resource is not None
        body = (change.vendor, resource.spec_hash, resource.natural_key)
        first = asked.setdefault(body, index)
        same_as[index] = first
        if first == index:
            by_vendor.setdefault(change.vendor, []).append(index)
    vendors = sorted(by_vendor)

    def price_vendor(vendor: Vendor) -> list[tuple[int, float | None, str | None]]:
        provider = providers.get(vendor)

        def one(index: int) -> tuple[int, float | None, str | None]:
            resource = plan.changes[index].resource
            if provider is None or resource is None:
                return index, None, None
            try:
                return index, provider.estimate_cost(resource, live_runs), None
            except ReconcilerError as error:
                return index, None, str(error)

        return gather(one, by_vendor[vendor], max_workers=MAX_ESTIMATES_IN_FLIGHT)

    results = gather(price_vendor, vendors, max_workers=max(1, len(vendors)))
    costs: dict[int, float | None] = {}
    notes = list(plan.notes)
    for vendor, priced in zip(vendors, results, strict=True):
        errors = [error for _, _, error in priced if error is not None]
        for index, cost, _ in priced:
            costs[index] = cost
        if errors:
            notes.append(
                f"{vendor.display_name}: {len(errors)} cost estimate(s) failed, shown as"
                f" unknown: {errors[0]}"
            )
    for index, first in same_as.items():
        costs[index] = costs[first]
    changes = tuple(
        _priced(change, costs[i]) if i in costs else change for i, change in enumerate(plan.changes)
    )
    priced_plan = dataclasses.replace(plan, changes=changes, notes=tuple(notes))
    return _check_limit(priced_plan, max_cost_usd=max_cost_usd, allow_cost=allow_cost)


def carry_prices(plan: Plan, prices: Mapping[tuple[str, str, str], float | None]) -> Plan:
    """Return `plan` with the prices a saved plan recorded, keyed (subject, action, spec hash).

    `apply FILE` re-plans to check that nothing moved; asking the vendors for the estimates
    again would double its requests for the numbers the reviewer already saw.
    """
    changes = tuple(
        _priced(change, prices.get(_price_key(change)))
        if change.creates and change.resource is not None
        else change
        for change in plan.changes
    )
    return dataclasses.replace(plan, changes=changes)


def unpriced(plan: Plan, why: str) -> Plan:
    """Return `plan` with a note saying why its costs were not estimated."""
    if not any(c.creates for c in plan.changes):
        return plan
    return dataclasses.replace(plan, notes=(*plan.notes, f"Costs not estimated: {why}."))


def _price_key(change: Change) -> tuple[str, str, str]:
    spec_hash = change.resource.spec_hash if change.resource is not None else ""
    return change.subject, change.action.value, spec_hash


def estimate_each(
    resources: Sequence[Resource],
    providers: Mapping[Vendor, Provider],
    live_runs: Sequence[LiveRun],
) -> dict[str, float | None]:
    """Return address -> estimated USD (None: unknown, or the estimate failed)."""

    def one(resource: Resource) -> tuple[str, float | None]:
        provider = providers.get(resource.vendor)
        if provider is None:
            return str(resource.address), None
        try:
            return str(resource.address), provider.estimate_cost(resource, live_runs)
        except ReconcilerError:
            return str(resource.address), None

    return dict(gather(one, resources, max_workers=MAX_ESTIMATES_IN_FLIGHT))


def _priced(change: Change, cost: float | None) -> Change:
    return dataclasses.replace(change, cost_usd=cost)


def _check_limit(plan: Plan, *, max_cost_usd: float | None, allow_cost: bool) -> Plan:
    """Apply `safety.max_cost_usd`: a refusal above it, a note when costs are unknown."""
    if max_cost_usd is None:
        return plan
    total, unknown = plan.total_cost_usd, plan.unknown_costs
    if total > max_cost_usd:
        message = (
            f"the estimated cost {usd(total)} exceeds safety.max_cost_usd ({usd(max_cost_usd)})"
        )
        if unknown:
            message += f", and {unknown} more cost(s) are unknown"
        if allow_cost:
            return dataclasses.replace(
                plan, notes=(*plan.notes, f"{message}; applying anyway (--allow-cost).")
            )
        return dataclasses.replace(
            plan, cost_refusal=f"{message}. Pass `apply --allow-cost` to apply anyway"
        )
    if unknown:
        note = (
            f"{unknown} cost(s) are unknown, so safety.max_cost_usd ({usd(max_cost_usd)})"
            f" checks only the known {usd(total)}."
        )
        return dataclasses.replace(plan, notes=(*plan.notes, note))
    return plan

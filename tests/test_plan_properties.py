"""Properties of the planner over generated worlds (DESIGN.md "Plan and apply")."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from fnmatch import fnmatchcase

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import (
    Action,
    LiveRun,
    Plan,
    PlanSettings,
    Reason,
    Resource,
    RunPhase,
    Vendor,
    ownership_labels,
)
from reconciler.plan import plan
from tests.strategies import worlds

World = tuple[list[Resource], list[LiveRun], PlanSettings]


def apply_plan(result: Plan, live: list[LiveRun], config: PlanSettings) -> list[LiveRun]:
    """Simulate apply: cancels set CANCELLED, creates add a new active run owned by us.

    New runs are created one second after the newest run or `now`, whichever is later: a run
    made by apply is made now, so it is never older than a `rerun_after` that has passed.
    """
    cancelled = {c.run_id for c in result.changes if c.cancels}
    after = [
        replace(r, status="cancelled", phase=RunPhase.CANCELLED) if r.run_id in cancelled else r
        for r in live
    ]
    clock = max([config.now, *(r.created_at for r in live)])
    for number, change in enumerate(c for c in result.changes if c.creates):
        resource = change.resource
        assert resource is not None
        clock += timedelta(seconds=1)
        common = {
            "vendor": resource.vendor,
            "run_id": f"new-{number:03d}",
            "status": "running",
            "phase": RunPhase.ACTIVE,
            "created_at": clock,
        }
        if resource.vendor is Vendor.BLAND:
            labels = ownership_labels(
                resource, workspace=config.workspace, request_id=f"req-{number}"
            )
            new = LiveRun(**common, labels=labels, adopt_key=resource.adopt_key)  # type: ignore[arg-type]
        else:
            creator = config.owner(Vendor.ARIZE) if resource.vendor is Vendor.ARIZE else None
            new = LiveRun(**common, natural_key=resource.natural_key, created_by=creator)  # type: ignore[arg-type]
        after.append(new)
    return after


def cancelled_ids(result: Plan) -> set[str]:
    return {c.run_id for c in result.changes if c.cancels and c.run_id is not None}


@settings(max_examples=250)
@given(world=worlds(), data=st.data())
def test_plan_is_deterministic_and_order_free(world: World, data: st.DataObject) -> None:
    """Planning twice, or with desired resources and live runs shuffled, gives equal plans."""
    desired, live, config = world
    shuffled_desired = data.draw(st.permutations(desired))
    shuffled_live = data.draw(st.permutations(live))
    first = plan(desired, live, settings=config)
    assert first == plan(desired, live, settings=config)
    assert first == plan(shuffled_desired, shuffled_live, settings=config)


@settings(max_examples=400)
@given(world=worlds())
def test_apply_then_plan_is_empty(world: World) -> None:
    """After applying a plan that was not refused and hit no max_attempts, nothing is left to do."""
    desired, live, config = world
    first = plan(desired, live, settings=config)
    if first.refusal is not None or any(
        c.reason is Reason.ATTEMPTS_EXHAUSTED for c in first.changes
    ):
        return
    second = plan(desired, apply_plan(first, live, config), settings=config)
    assert [] == [(c.action, c.reason, c.subject, c.run_id) for c in second.actions]


@settings(max_examples=150)
@given(world=worlds())
def test_apply_converges_for_every_resource(world: World) -> None:
    """After an applied plan every in-scope declared resource is satisfied, matched or adopted."""
    desired, live, config = world
    config = replace(config, allow_mass_cancel=True)
    first = plan(desired, live, settings=config)
    if any(c.reason is Reason.ATTEMPTS_EXHAUSTED for c in first.changes):
        return
    second = plan(desired, apply_plan(first, live, config), settings=config)
    settled = {Reason.SATISFIED, Reason.MATCHED, Reason.ADOPTED}
    planned = {str(c.resource.address) for c in first.changes if c.resource is not None}
    satisfied = {
        str(c.resource.address)
        for c in second.changes
        if c.resource is not None and c.reason in settled
    }
    assert planned == satisfied


@settings(max_examples=250)
@given(world=worlds())
def test_only_active_managed_runs_are_cancelled(world: World) -> None:
    """Unmanaged, foreign, finished and unknown-status runs are never cancelled."""
    desired, live, config = world
    result = plan(desired, live, settings=config)
    by_id = {r.run_id: r for r in live}
    for run_id in cancelled_ids(result):
        victim = by_id[run_id]
        assert RunPhase.ACTIVE == victim.phase
        if victim.vendor is Vendor.BLAND:
            assert config.workspace == victim.label("reconciler.workspace")
        else:
            assert Vendor.ARIZE == victim.vendor
            assert config.owner(Vendor.ARIZE) == victim.created_by


@settings(max_examples=150)
@given(world=worlds())
def test_protected_runs_are_never_cancelled_but_their_twins_are(world: World) -> None:
    """A protected run stays running, unless it is the newer twin of the run it races (rule 7).

    Protection guards the run that satisfies a resource: a duplicate of it may be cancelled,
    and then the run it duplicates is kept, never cancelled in the same plan.
    """
    desired, live, config = world
    result = plan(desired, live, settings=config)
    protected_addresses = {str(r.address) for r in desired if r.lifecycle.protect}
    kept = {c.run_id for c in result.changes if c.action is Action.NO_OP and c.run_id}
    for change in result.changes:
        if not change.cancels:
            continue
        assert change.run is not None
        if change.reason is Reason.DUPLICATE:
            assert change.resource is not None
            twins = [
                c.run
                for c in result.changes
                if c.resource == change.resource and c.run is not None and c.run_id in kept
            ]
            assert any(t.created_at <= change.run.created_at for t in twins)
            continue
        assert not change.run.protected
        assert change.run.label("reconciler.address") not in protected_addresses


def _satisfying_managed_twins(
    resource: Resource, runs: list[LiveRun], config: PlanSettings
) -> list[LiveRun]:
    """Return the active managed runs that satisfy `resource` by its own identity."""
    cutoff = resource.lifecycle.rerun_after
    if cutoff is not None and cutoff > config.now:
        cutoff = None
    found = []
    for r in runs:
        if r.phase is not RunPhase.ACTIVE or (cutoff is not None and r.created_at < cutoff):
            continue
        if resource.vendor is Vendor.BLAND:
            ours = (
                r.label("reconciler.workspace") == config.workspace
                and r.label("reconciler.address") == str(resource.address)
                and r.label("reconciler.spec-hash") == resource.spec_hash
            )
        else:
            owner = config.owner(resource.vendor)
            ours = owner is not None and r.created_by == owner
            ours = ours and r.natural_key == resource.natural_key
        if ours and r.vendor is resource.vendor:
            found.append(r)
    return found


@settings(max_examples=300)
@given(world=worlds())
def test_no_identity_keeps_two_active_managed_runs_after_apply(world: World) -> None:
    """After an applied plan, no declared identity has two active satisfying runs of ours.

    Protected or not: rule 7 keeps the oldest and cancels every twin a race made.
    """
    desired, live, config = world
    config = replace(config, allow_mass_cancel=True)
    after = apply_plan(plan(desired, live, settings=config), live, config)
    for resource in desired:
        address = str(resource.address)
        if config.targets and not any(fnmatchcase(address, t) for t in config.targets):
            continue
        if any(fnmatchcase(address, e) for e in config.excludes):
            continue
        twins = _satisfying_managed_twins(resource, after, config)
        assert len(twins) <= 1, (str(resource.address), [t.run_id for t in twins])


@settings(max_examples=200)
@given(world=worlds())
def test_mass_cancel_needs_permission(world: World) -> None:
    """A plan cancelling more than max_cancellations runs is refused unless allowed."""
    desired, live, config = world
    result = plan(desired, live, settings=config)
    cancels = sum(1 for c in result.changes if c.cancels)
    if cancels > config.max_cancellations and not config.allow_mass_cancel:
        assert result.refusal is not None
    if config.allow_mass_cancel:
        assert result.refusal is None


@settings(max_examples=200)
@given(world=worlds())
def test_plan_is_well_formed(world: World) -> None:
    """Each run is cancelled at most once, each resource created at most once, counts add up,
    and the changes come out sorted by (vendor, subject)."""
    desired, live, config = world
    result = plan(desired, live, settings=config)
    ids = [c.run_id for c in result.changes if c.cancels]
    assert len(set(ids)) == len(ids)
    created = [str(c.resource.address) for c in result.changes if c.creates and c.resource]
    assert len(set(created)) == len(created)
    assert result.targeted == bool(config.targets or config.excludes)
    for counts in result.counts:
        assert sum(1 for r in live if r.vendor is counts.vendor) == counts.live
        assert counts.live == counts.managed + counts.unmanaged + counts.foreign
    keys = [
        (c.vendor.value, str(c.address) if c.address is not None else c.subject)
        for c in result.changes
    ]
    assert sorted(keys) == keys
    assert all(c.action is not Action.NO_OP for c in result.actions)

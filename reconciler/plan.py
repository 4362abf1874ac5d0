"""The planner: desired resources + live runs -> Plan. Pure: no I/O, clock or randomness.

Each rule of DESIGN.md "Reconciliation rules" is one step below, named by its number. The
result is sorted and does not depend on the order of its inputs, so the same state always
gives the same plan. See docs/planning.md for the decisions DESIGN.md leaves open.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from reconciler.diffs import field_diffs
from reconciler.model import (
    Action,
    Address,
    Change,
    FieldDiff,
    Identity,
    IdentityMode,
    LiveRun,
    NaturalKey,
    Ownership,
    Plan,
    PlanSettings,
    Reason,
    Resource,
    RunPhase,
    Vendor,
    VendorCounts,
)
from reconciler.runindex import VendorRuns, in_order, index
from reconciler.safety import moved_notes, notes, refusal
from reconciler.scope import Matcher, release_matcher, run_subject, scope_matcher, unmatched_globs
from reconciler.stages import staged
from reconciler.vendors.registry import vendor_module

__all__ = ["plan", "run_subject", "scope_matcher", "unmatched_globs"]


def plan(desired: Sequence[Resource], live: Sequence[LiveRun], *, settings: PlanSettings) -> Plan:
    """Diff the declared resources against the live runs and return the plan.

    The cyclic garbage collector is paused while planning: the planner makes no reference
    cycles, so a collection could free nothing, while every full one walks the whole live
    state (100,000 runs: 70-140 ms, a third of the plan, docs/performance.md). Objects are
    still freed as soon as they are unused; the collector resumes, as it was, on return.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _plan(desired, live, settings)
    finally:
        if collecting:
            gc.enable()


def _plan(desired: Sequence[Resource], live: Sequence[LiveRun], settings: PlanSettings) -> Plan:
    in_scope = Matcher(settings.targets, settings.excludes)
    released = release_matcher(settings.release)
    vendors = index(live, settings)
    ordered = sorted(desired, key=_address_order)
    subjects = [str(r.address) for r in ordered]  # each address as text, made once
    declared_addresses = set(subjects)
    declared_addresses |= {str(a) for r in desired for a in r.lifecycle.moved_from}
    declared_keys = {r.natural_key for r in desired if r.natural_key is not None}
    for vendor in vendors.values():
        vendor.matched = sum(
            1
            for key, group in vendor.by_key.items()
            if key in declared_keys
            for run in group
            if run.run_id not in vendor.managed_ids
        )
    # Every resource is reconciled, in scope or not, so a stage can see the run of the
    # resource it waits for; only the lines in scope are kept.
    by_address: dict[Address, list[Change]] = {}
    idle: dict[Vendor, VendorRuns] = {}  # vendors with no live run: one empty index each
    for resource, subject in zip(ordered, subjects, strict=True):
        vendor = vendors.get(resource.vendor) or _no_runs(resource.vendor, idle)
        if released(subject):
            by_address[resource.address] = _release_declared(resource, subject, vendor)
        else:
            by_address[resource.address] = _reconcile(resource, subject, vendor, settings)
    staging = any(r.lifecycle.after for r in desired)
    changes: list[Change] = []
    for address, lines in by_address.items():
        if in_scope.everything or in_scope(str(address)):
            changes += [staged(c, by_address) for c in lines] if staging else lines
    for vendor in sorted(vendors.values(), key=lambda v: v.vendor):
        changes += _prune(vendor, declared_addresses, declared_keys, in_scope, released)
    changes.sort(key=_order)
    counts = tuple(
        VendorCounts(
            vendor=v.vendor,
            live=v.live,
            managed=v.owned[Ownership.MANAGED],
            matched=v.matched,
            unmanaged=v.owned[Ownership.UNMANAGED],
            foreign=v.owned[Ownership.FOREIGN],
        )
        for v in sorted(vendors.values(), key=lambda v: v.vendor)
    )
    return Plan(
        workspace=settings.workspace,
        changes=tuple(changes),
        counts=counts,
        refusal=refusal(changes, vendors, settings),
        targeted=bool(settings.targets or settings.excludes),
        notes=notes(changes, vendors) + moved_notes(desired, vendors, in_scope),
    )


def _address_order(resource: Resource) -> tuple[str, str]:
    """Order resources as `Address` orders itself, by (kind, name), without its Python `<`."""
    return (resource.address.kind, resource.address.name)


def _no_runs(vendor: Vendor, idle: dict[Vendor, VendorRuns]) -> VendorRuns:
    """Return the (empty) index of a vendor no live run was listed for, made once."""
    runs = idle.get(vendor)
    if runs is None:
        runs = idle[vendor] = VendorRuns(vendor, vendor_module(vendor).IDENTITY)
    return runs


# --- one resource --------------------------------------------------------------------------


# Read per run: a module global is read in a few ns, while `RunPhase.ACTIVE` goes through
# `EnumType.__getattr__` on every read in Python 3.11 (~0.2 us, a tenth of a plan's time).
_ACTIVE = RunPhase.ACTIVE
_SATISFIES = frozenset(p for p in RunPhase if p.satisfies)
_LOST = frozenset(p for p in RunPhase if p.is_attempt_lost)
_KEPT_BECAUSE = {
    Identity.LABELS: Reason.SATISFIED,
    Identity.NATURAL_KEY: Reason.MATCHED,
    Identity.ADOPTED: Reason.ADOPTED,
}


def _reconcile(
    resource: Resource, subject: str, vendor: VendorRuns, settings: PlanSettings
) -> list[Change]:
    """Rules 1, 2, 3 and 7 for one declared resource (`subject`: its address as text)."""
    cutoff = resource.lifecycle.rerun_after
    if cutoff is not None and cutoff > settings.now:
        cutoff = None  # a future rerun_after is not yet in effect (docs/decisions.md)
    moved: list[Change] = []
    spec_hash = resource.spec_hash
    by_hash: dict[str | None, list[LiveRun]] = {}  # runs by spec hash, older specs' included
    if vendor.mode is IdentityMode.LABELS:
        by_hash = _with_former(resource, subject, vendor, moved)
        current = in_order(by_hash.get(spec_hash) or [])
        identity = Identity.LABELS
    else:
        assert resource.natural_key is not None
        current = in_order(vendor.by_key.get(resource.natural_key) or [])
        identity = Identity.NATURAL_KEY
    recent = current if cutoff is None else [r for r in current if r.created_at >= cutoff]
    satisfying = [r for r in recent if r.phase in _SATISFIES]
    if not satisfying and resource.lifecycle.adopt and resource.adopt_key is not None:
        adoptable = [
            r
            for r in in_order(vendor.by_adopt_key.get(resource.adopt_key) or [])
            if r.phase in _SATISFIES and (cutoff is None or r.created_at >= cutoff)
        ]
        if adoptable:
            satisfying, identity = adoptable, Identity.ADOPTED
    changes: list[Change] = moved
    # Older specs' runs are read in order only when active (and, below, the newest of all).
    stale_active = in_order(
        [r for h, g in by_hash.items() if h != spec_hash for r in g if r.phase is _ACTIVE]
    )
    if satisfying:
        kept, duplicates = _keep_oldest_active(satisfying, vendor, identity)
        reason = _KEPT_BECAUSE[identity]
        changes.append(_change(Action.NO_OP, reason, resource, subject, identity, run=kept))
        for run in duplicates:  # rule 7: protected or not, the oldest is what protect guards
            changes.append(
                _change(Action.CANCEL, Reason.DUPLICATE, resource, subject, identity, run=run)
            )
        for run in stale_active:  # rule 3, after a replace whose cancel did not happen
            changes.append(_cancel(resource, subject, run, Reason.SPEC_CHANGED, identity))
        return changes
    attempts = sum(1 for r in recent if r.phase in _LOST)
    if attempts >= resource.lifecycle.max_attempts:  # rule 2
        changes.append(
            _change(
                Action.NO_OP,
                Reason.ATTEMPTS_EXHAUSTED,
                resource,
                subject,
                identity,
                run=recent[-1] if recent else None,
                attempts=attempts,
            )
        )
        # Nothing will replace an older run that is still going: keep it (lost work otherwise).
        return changes
    if attempts:
        reason = Reason.RETRY_AFTER_FAILURE
    elif any(r.phase in _SATISFIES for r in current):
        reason = Reason.RERUN_AFTER
    else:
        reason = Reason.MISSING
    replaceable = [r for r in stale_active if not _protected(r, resource)]
    if replaceable:  # rule 3: cancel the stale run and create its successor, as one replace
        first, *others = replaceable
        changes.append(
            Change(
                action=Action.REPLACE,
                reason=Reason.SPEC_CHANGED,
                vendor=resource.vendor,
                subject=subject,
                identity=identity,
                resource=resource,
                run=first,
                changed=field_diffs(first, resource),
                attempts=attempts,
            )
        )
        changes += [_cancel(resource, subject, r, Reason.SPEC_CHANGED, identity) for r in others]
    else:
        changed: tuple[FieldDiff, ...] = ()
        stale = [r for h, group in by_hash.items() if h != spec_hash for r in group]
        if reason is Reason.MISSING and stale:  # rule 5: the old run finished; say what changed
            reason, changed = Reason.SPEC_CHANGED, field_diffs(in_order(stale)[-1], resource)
        changes.append(
            Change(
                action=Action.CREATE,
                reason=reason,
                vendor=resource.vendor,
                subject=subject,
                identity=Identity.NONE,
                resource=resource,
                changed=changed,
                attempts=attempts,
            )
        )
    changes += [
        _change(Action.NO_OP, Reason.PROTECTED, resource, subject, identity, run=r)
        for r in stale_active
        if _protected(r, resource)
    ]
    return changes


def _with_former(
    resource: Resource, subject: str, vendor: VendorRuns, moved: list[Change]
) -> dict[str | None, list[LiveRun]]:
    """Return the resource's managed runs by spec hash, its former addresses' included.

    Each former address that live runs still carry adds one `moved` line (its newest run), so
    the plan says that the rename rests on them.
    """
    by_hash = vendor.by_address.get(subject, {})
    if not resource.lifecycle.moved_from:
        return by_hash
    merged: dict[str | None, list[LiveRun]] = defaultdict(list)
    for spec_hash, group in by_hash.items():
        merged[spec_hash] += group
    for former in sorted(set(resource.lifecycle.moved_from)):
        runs = [r for g in vendor.by_address.get(str(former), {}).values() for r in g]
        if not runs:
            continue
        for spec_hash, group in vendor.by_address[str(former)].items():
            merged[spec_hash] += group
        in_order(runs)
        moved.append(
            Change(
                action=Action.MOVED,
                reason=Reason.MOVED_FROM,
                vendor=resource.vendor,
                subject=subject,
                identity=Identity.LABELS,
                resource=resource,
                run=runs[-1],
                moved_from=former,
            )
        )
    for group in merged.values():
        in_order(group)
    return merged


def _release_declared(resource: Resource, subject: str, vendor: VendorRuns) -> list[Change]:
    """A released resource: nothing is created or cancelled; its active runs are reported."""
    runs: list[LiveRun] = []
    if vendor.mode is IdentityMode.LABELS:
        for address in (resource.address, *resource.lifecycle.moved_from):
            runs += [r for g in vendor.by_address.get(str(address), {}).values() for r in g]
        identity = Identity.LABELS
    else:
        assert resource.natural_key is not None
        runs = list(vendor.by_key.get(resource.natural_key, []))
        identity = Identity.NATURAL_KEY
    active = in_order([r for r in runs if r.phase is RunPhase.ACTIVE])
    if not active:
        return [_change(Action.RELEASED, Reason.RELEASE, resource, subject, identity, run=None)]
    return [
        _change(Action.RELEASED, Reason.RELEASE, resource, subject, identity, run=r) for r in active
    ]


def _keep_oldest_active(
    satisfying: list[LiveRun], vendor: VendorRuns, identity: Identity
) -> tuple[LiveRun, list[LiveRun]]:
    """Return the run that satisfies the resource and the managed duplicates to cancel."""
    active = [r for r in satisfying if r.phase is _ACTIVE]
    if not active:
        return satisfying[-1], []  # the newest finished run is the current result
    kept = active[0]
    if identity is Identity.LABELS:  # runs found by our labels are all managed
        return kept, active[1:]
    if identity is Identity.ADOPTED:  # adopted runs are unmanaged by definition
        return kept, []
    return kept, [r for r in active[1:] if r.run_id in vendor.managed_ids]


def _cancel(
    resource: Resource, subject: str, run: LiveRun, reason: Reason, identity: Identity
) -> Change:
    if _protected(run, resource):
        return _change(Action.NO_OP, Reason.PROTECTED, resource, subject, identity, run=run)
    return _change(Action.CANCEL, reason, resource, subject, identity, run=run)


def _protected(run: LiveRun, resource: Resource | None) -> bool:
    """Rule 8: protected in the manifest or by the run's own `reconciler.protect` label."""
    return run.protected or (resource is not None and resource.lifecycle.protect)


def _change(
    action: Action,
    reason: Reason,
    resource: Resource,
    subject: str,
    identity: Identity,
    *,
    run: LiveRun | None,
    attempts: int = 0,
) -> Change:
    return Change(
        action=action,
        reason=reason,
        vendor=resource.vendor,
        subject=subject,
        identity=identity,
        resource=resource,
        run=run,
        attempts=attempts,
    )


# --- runs no resource declares -------------------------------------------------------------


def _prune(
    vendor: VendorRuns,
    declared_addresses: set[str],
    declared_keys: set[NaturalKey],
    in_scope: Matcher,
    released: Callable[[str], bool],
) -> list[Change]:
    """Rule 4 (prune), with rules 5, 6 and 8: only active managed runs, never protected ones."""
    changes: list[Change] = []
    runs: Iterable[LiveRun]
    if vendor.mode is IdentityMode.LABELS:
        runs = (
            r
            for address, by_hash in vendor.by_address.items()
            if address not in declared_addresses
            for group in by_hash.values()
            for r in in_order(group)
        )
    else:
        runs = (
            r
            for key, group in vendor.by_key.items()
            if key not in declared_keys
            for r in in_order(group)
            if r.run_id in vendor.managed_ids
        )
    for run in runs:
        # Runs a declared resource accounts for are never here: their address or key is
        # declared, and adopted runs are unmanaged.
        if run.phase is not RunPhase.ACTIVE:
            continue
        subject = run_subject(run)
        if not in_scope(subject):
            continue
        identity = Identity.LABELS if vendor.mode is IdentityMode.LABELS else Identity.NATURAL_KEY
        if released(subject):
            action, reason = Action.RELEASED, Reason.RELEASE
        elif run.protected:
            action, reason = Action.NO_OP, Reason.PROTECTED
        else:
            action, reason = Action.CANCEL, Reason.NOT_DECLARED
        changes.append(
            Change(
                action=action,
                reason=reason,
                vendor=vendor.vendor,
                subject=subject,
                identity=identity,
                run=run,
            )
        )
    return changes


def _order(change: Change) -> tuple[str, str, str, str]:
    """Order lines by vendor, address, run id and action.

    Every line's subject is its address as text (`str(Address.parse(s)) == s`), or the
    natural key of a run no resource declares, and a `StrEnum` compares as its value: so this
    is the order of (vendor, address or subject, run id, action), with no parse per line.
    """
    run = change.run
    return (change.vendor, change.subject, run.run_id if run is not None else "", change.action)

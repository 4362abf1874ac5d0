"""The planner: desired resources + live runs -> Plan. Pure: no I/O, clock or randomness.

Each rule of DESIGN.md "Reconciliation rules" is one step below, named by its number. The
result is sorted and does not depend on the order of its inputs, so the same state always
gives the same plan. See docs/planning.md for the decisions DESIGN.md leaves open.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter

from reconciler.diffs import field_diffs
from reconciler.model import (
    LABEL_ADDRESS,
    LABEL_SPEC_HASH,
    LABEL_WORKSPACE,
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
from reconciler.runindex import VendorRuns
from reconciler.safety import moved_notes, notes, refusal
from reconciler.scope import Matcher, release_matcher, run_subject, scope_matcher, unmatched_globs
from reconciler.stages import staged
from reconciler.vendors.registry import vendor_module

__all__ = ["plan", "run_subject", "scope_matcher", "unmatched_globs"]


def plan(desired: Sequence[Resource], live: Sequence[LiveRun], *, settings: PlanSettings) -> Plan:
    """Diff the declared resources against the live runs and return the plan."""
    in_scope = Matcher(settings.targets, settings.excludes)
    released = release_matcher(settings.release)
    vendors = _index(live, settings)
    declared_addresses = {str(r.address) for r in desired}
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
    for resource in sorted(desired, key=lambda r: r.address):
        vendor = vendors.get(resource.vendor) or VendorRuns(
            resource.vendor, vendor_module(resource.vendor).IDENTITY
        )
        if released(str(resource.address)):
            by_address[resource.address] = _release_declared(resource, vendor)
        else:
            by_address[resource.address] = _reconcile(resource, vendor, settings)
    changes: list[Change] = []
    for address, lines in by_address.items():
        if in_scope(str(address)):
            changes += [staged(c, by_address) for c in lines]
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


# --- who owns what ---------------------------------------------------------------------------


def _index(live: Iterable[LiveRun], settings: PlanSettings) -> dict[Vendor, VendorRuns]:
    vendors: dict[Vendor, VendorRuns] = {}
    for run in live:
        vendor = vendors.get(run.vendor)
        if vendor is None:
            vendor = vendors[run.vendor] = VendorRuns(
                run.vendor, vendor_module(run.vendor).IDENTITY
            )
        vendor.live += 1
        # One dict per run instead of a scan per `run.label()`; reversed so that, as there,
        # the first of two equal keys wins.
        labels = dict(reversed(run.labels)) if run.labels else {}
        owner = _ownership(run, vendor.mode, settings, labels)
        vendor.owned[owner] += 1
        if owner is Ownership.MANAGED:
            if run.natural_key is not None:  # only keyed runs need the id set (see `by_key`)
                vendor.managed_ids.add(run.run_id)
            vendor.managed_active += run.phase is RunPhase.ACTIVE
            address = labels.get(LABEL_ADDRESS)
            if vendor.mode is IdentityMode.LABELS and address:
                vendor.by_address[address][labels.get(LABEL_SPEC_HASH)].append(run)
        if run.natural_key is not None:
            vendor.by_key[run.natural_key].append(run)
        if owner is Ownership.UNMANAGED and run.adopt_key is not None:
            vendor.by_adopt_key[run.adopt_key].append(run)
    for vendor in vendors.values():
        for by_hash in vendor.by_address.values():
            for group in by_hash.values():
                _sort_runs(group)
        for groups in (vendor.by_key, vendor.by_adopt_key):
            for group in groups.values():
                _sort_runs(group)
    return vendors


def _sort_runs(runs: list[LiveRun]) -> None:
    """Sort runs oldest first, ties by run id, in place.

    Each group is sorted on its own (small lists, so planning stays linear in the number of
    runs), by two stable sorts on existing attributes: no key tuples are allocated, which
    keeps the cyclic GC from walking the whole live state in the middle of a plan.
    """
    if len(runs) > 1:
        runs.sort(key=_RUN_ID)
        runs.sort(key=_CREATED_AT)


_RUN_ID = attrgetter("run_id")
_CREATED_AT = attrgetter("created_at")


def _ownership(
    run: LiveRun, mode: IdentityMode, settings: PlanSettings, labels: dict[str, str]
) -> Ownership:
    """Say whether a run is managed by this workspace, foreign, or unmanaged (rule 6)."""
    mark: str | None
    ours: str | None
    if mode is IdentityMode.LABELS:
        mark, ours = labels.get(LABEL_WORKSPACE), settings.workspace
    else:
        mark, ours = run.created_by, settings.owner(run.vendor)
    if mark is None or ours is None:
        return Ownership.UNMANAGED
    return Ownership.MANAGED if mark == ours else Ownership.FOREIGN


# --- one resource --------------------------------------------------------------------------


def _reconcile(resource: Resource, vendor: VendorRuns, settings: PlanSettings) -> list[Change]:
    """Rules 1, 2, 3 and 7 for one declared resource."""
    cutoff = resource.lifecycle.rerun_after
    if cutoff is not None and cutoff > settings.now:
        cutoff = None  # a future rerun_after is not yet in effect (docs/decisions.md)
    moved: list[Change] = []
    if vendor.mode is IdentityMode.LABELS:
        by_hash = _with_former(resource, vendor, moved)
        current = list(by_hash.get(resource.spec_hash, ()))
        stale = [r for h, group in by_hash.items() if h != resource.spec_hash for r in group]
        _sort_runs(stale)  # several older hashes: oldest first again
        identity = Identity.LABELS
    else:
        assert resource.natural_key is not None
        current = list(vendor.by_key.get(resource.natural_key, []))
        stale = []
        identity = Identity.NATURAL_KEY
    recent = [r for r in current if cutoff is None or r.created_at >= cutoff]
    satisfying = [r for r in recent if r.phase.satisfies]
    if not satisfying and resource.lifecycle.adopt and resource.adopt_key is not None:
        adoptable = [
            r
            for r in vendor.by_adopt_key.get(resource.adopt_key, [])
            if r.phase.satisfies and (cutoff is None or r.created_at >= cutoff)
        ]
        if adoptable:
            satisfying, identity = adoptable, Identity.ADOPTED
    changes: list[Change] = moved
    stale_active = [r for r in stale if r.phase is RunPhase.ACTIVE]
    if satisfying:
        kept, duplicates = _keep_oldest_active(satisfying, vendor, identity)
        reason = {
            Identity.LABELS: Reason.SATISFIED,
            Identity.NATURAL_KEY: Reason.MATCHED,
            Identity.ADOPTED: Reason.ADOPTED,
        }[identity]
        changes.append(_change(Action.NO_OP, reason, resource, identity, run=kept))
        for run in duplicates:  # rule 7: protected or not, the oldest is what protect guards
            changes.append(_change(Action.CANCEL, Reason.DUPLICATE, resource, identity, run=run))
        for run in stale_active:  # rule 3, after a replace whose cancel did not happen
            changes.append(_cancel(resource, run, Reason.SPEC_CHANGED, identity))
        return changes
    attempts = sum(1 for r in recent if r.phase.is_attempt_lost)
    if attempts >= resource.lifecycle.max_attempts:  # rule 2
        changes.append(
            _change(
                Action.NO_OP,
                Reason.ATTEMPTS_EXHAUSTED,
                resource,
                identity,
                run=recent[-1] if recent else None,
                attempts=attempts,
            )
        )
        # Nothing will replace an older run that is still going: keep it (lost work otherwise).
        return changes
    if attempts:
        reason = Reason.RETRY_AFTER_FAILURE
    elif any(r.phase.satisfies for r in current):
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
                subject=str(resource.address),
                identity=identity,
                resource=resource,
                run=first,
                changed=field_diffs(first, resource),
                attempts=attempts,
            )
        )
        changes += [_cancel(resource, r, Reason.SPEC_CHANGED, identity) for r in others]
    else:
        changed: tuple[FieldDiff, ...] = ()
        if reason is Reason.MISSING and stale:  # rule 5: the old run finished; say what changed
            reason, changed = Reason.SPEC_CHANGED, field_diffs(stale[-1], resource)
        changes.append(
            Change(
                action=Action.CREATE,
                reason=reason,
                vendor=resource.vendor,
                subject=str(resource.address),
                identity=Identity.NONE,
                resource=resource,
                changed=changed,
                attempts=attempts,
            )
        )
    changes += [
        _change(Action.NO_OP, Reason.PROTECTED, resource, identity, run=r)
        for r in stale_active
        if _protected(r, resource)
    ]
    return changes


def _with_former(
    resource: Resource, vendor: VendorRuns, moved: list[Change]
) -> dict[str | None, list[LiveRun]]:
    """Return the resource's managed runs by spec hash, its former addresses' included.

    Each former address that live runs still carry adds one `moved` line (its newest run), so
    the plan says that the rename rests on them.
    """
    by_hash = vendor.by_address.get(str(resource.address), {})
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
        _sort_runs(runs)
        moved.append(
            Change(
                action=Action.MOVED,
                reason=Reason.MOVED_FROM,
                vendor=resource.vendor,
                subject=str(resource.address),
                identity=Identity.LABELS,
                resource=resource,
                run=runs[-1],
                moved_from=former,
            )
        )
    for group in merged.values():
        _sort_runs(group)
    return merged


def _release_declared(resource: Resource, vendor: VendorRuns) -> list[Change]:
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
    active = [r for r in runs if r.phase is RunPhase.ACTIVE]
    _sort_runs(active)
    if not active:
        return [_change(Action.RELEASED, Reason.RELEASE, resource, identity, run=None)]
    return [_change(Action.RELEASED, Reason.RELEASE, resource, identity, run=r) for r in active]


def _keep_oldest_active(
    satisfying: list[LiveRun], vendor: VendorRuns, identity: Identity
) -> tuple[LiveRun, list[LiveRun]]:
    """Return the run that satisfies the resource and the managed duplicates to cancel."""
    active = [r for r in satisfying if r.phase is RunPhase.ACTIVE]
    if not active:
        return satisfying[-1], []  # the newest finished run is the current result
    kept = active[0]
    if identity is Identity.LABELS:  # runs found by our labels are all managed
        return kept, active[1:]
    if identity is Identity.ADOPTED:  # adopted runs are unmanaged by definition
        return kept, []
    return kept, [r for r in active[1:] if r.run_id in vendor.managed_ids]


def _cancel(resource: Resource, run: LiveRun, reason: Reason, identity: Identity) -> Change:
    if _protected(run, resource):
        return _change(Action.NO_OP, Reason.PROTECTED, resource, identity, run=run)
    return _change(Action.CANCEL, reason, resource, identity, run=run)


def _protected(run: LiveRun, resource: Resource | None) -> bool:
    """Rule 8: protected in the manifest or by the run's own `reconciler.protect` label."""
    return run.protected or (resource is not None and resource.lifecycle.protect)


def _change(
    action: Action,
    reason: Reason,
    resource: Resource,
    identity: Identity,
    *,
    run: LiveRun | None,
    attempts: int = 0,
) -> Change:
    return Change(
        action=action,
        reason=reason,
        vendor=resource.vendor,
        subject=str(resource.address),
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
            for r in group
        )
    else:
        runs = (
            r
            for key, group in vendor.by_key.items()
            if key not in declared_keys
            for r in group
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
    address = change.address
    return (
        change.vendor.value,
        str(address) if address is not None else change.subject,
        change.run_id or "",
        change.action.value,
    )

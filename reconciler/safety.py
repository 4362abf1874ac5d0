"""What a plan says besides its changes: the mass-cancel refusal (rule 8) and its notes. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.model import (
    Action,
    Change,
    IdentityMode,
    Ownership,
    PlanSettings,
    Reason,
    Resource,
    Vendor,
)
from reconciler.runindex import VendorRuns
from reconciler.scope import Matcher
from reconciler.vendors.registry import vendor_module

MASS_PRUNE_MINIMUM = 2  # pruning every managed run of a vendor is refused from this many runs


def refusal(
    changes: Sequence[Change], vendors: dict[Vendor, VendorRuns], settings: PlanSettings
) -> str | None:
    """Rule 8: refuse too many cancels, or a prune of every managed run of a vendor."""
    if settings.allow_mass_cancel:
        return None
    cancels = [c for c in changes if c.cancels]
    if len(cancels) > settings.max_cancellations:
        return (
            f"the plan cancels {len(cancels)} runs, more than safety.max_cancellations "
            f"({settings.max_cancellations}). Check the manifests, then rerun with "
            "--allow-mass-cancel if this is intended"
        )
    for vendor in sorted(vendors.values(), key=lambda v: v.vendor):
        pruned = sum(
            1
            for c in cancels
            if c.vendor is vendor.vendor and c.action is Action.CANCEL and c.resource is None
        )
        if pruned >= MASS_PRUNE_MINIMUM and pruned == vendor.managed_active:
            return (
                f"the plan cancels every active run this workspace has at "
                f"{vendor.vendor.display_name} ({pruned}); were the manifests deleted by "
                "mistake? Rerun with --allow-mass-cancel if this is intended"
            )
    return None


def notes(changes: Sequence[Change], vendors: dict[Vendor, VendorRuns]) -> tuple[str, ...]:
    notes: list[str] = []
    exhausted, protected = Reason.ATTEMPTS_EXHAUSTED, Reason.PROTECTED  # once, not per line
    for change in changes:
        if change.reason is exhausted and change.resource is not None:
            notes.append(
                f"{change.subject}: {change.attempts} runs of this spec failed or were cancelled "
                f"(max_attempts {change.resource.lifecycle.max_attempts}); nothing is created and "
                "runs of an earlier spec keep running. Change the spec or a trigger, or raise "
                "lifecycle.max_attempts"
            )
        elif change.reason is protected:
            notes.append(f"{change.subject}: run {change.run_id} is protected and is left running")
    for vendor in sorted(vendors.values(), key=lambda v: v.vendor):
        if vendor.mode is IdentityMode.NATURAL_KEY and vendor.owned[Ownership.MANAGED] == 0:
            notes.append(
                f"{vendor.vendor.display_name} runs carry no labels: they are matched by natural "
                "key and never cancelled unless ownership can be proven"
            )
    return tuple(notes)


def moved_notes(
    desired: Sequence[Resource], vendors: dict[Vendor, VendorRuns], in_scope: Matcher
) -> tuple[str, ...]:
    """Say which former addresses no live run carries any more: they can be deleted."""
    notes: list[str] = []
    renamed = [r for r in desired if r.lifecycle.moved_from]  # before sorting: often none
    for resource in sorted(renamed, key=lambda r: r.address):
        if not in_scope(str(resource.address)):
            continue
        vendor = vendors.get(resource.vendor)
        if vendor_module(resource.vendor).IDENTITY is not IdentityMode.LABELS:
            continue  # label-less vendors: identity is the natural key, a rename changes nothing
        for former in sorted(set(resource.lifecycle.moved_from)):
            if vendor is None or not vendor.by_address.get(str(former)):
                notes.append(
                    f"{resource.address}: lifecycle.moved_from {former} is no longer needed "
                    f"(no live run carries it); remove it from {resource.source}"
                )
    return tuple(notes)

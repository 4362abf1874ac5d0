"""Gather the live state: every vendor's runs, listed concurrently, complete or not at all."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.model import LiveRun, Resource, Vendor
from reconciler.providers.base import Provider
from reconciler.providers.deadline import in_context


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveState:
    """What the vendors returned, per vendor, in a stable order."""

    runs: tuple[LiveRun, ...]
    vendors: tuple[Vendor, ...]
    listed_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # listing began

    def fingerprint(self, vendor: Vendor) -> str:
        """Hash what a plan depends on at `vendor`: each run's id, phase, labels, key, owner."""
        digest = hashlib.sha256()
        for run in self.runs:
            if run.vendor is vendor:
                labels = ",".join(f"{k}={v}" for k, v in run.labels)
                key = f"{run.natural_key or ''}|{run.created_by or ''}"
                digest.update(f"{run.run_id}|{run.phase.value}|{labels}|{key}\n".encode())
        return digest.hexdigest()

    def phases(self, vendor: Vendor) -> dict[str, str]:
        """Return run id -> phase for `vendor`, to explain what changed since a saved plan."""
        return {r.run_id: r.phase.value for r in self.runs if r.vendor is vendor}


def gather_live_state(
    providers: Mapping[Vendor, Provider], desired: Sequence[Resource]
) -> LiveState:
    """List every provider's runs concurrently; any failed listing aborts (rule 9).

    A `ListingError` from any vendor propagates: an unknown state is never read as empty.
    """
    vendors = tuple(sorted(providers))
    listed_at = datetime.now(UTC)
    if not vendors:
        return LiveState(runs=(), vendors=(), listed_at=listed_at)
    with ThreadPoolExecutor(max_workers=len(vendors), thread_name_prefix="list") as pool:
        futures = {
            # in_context: a caller's deadline (status --timeout) holds on the pool's threads.
            v: pool.submit(
                in_context(providers[v].list_runs), [r for r in desired if r.vendor is v]
            )
            for v in vendors
        }
        # .result() re-raises the first failure; the pool waits for the others to finish.
        lists = {v: futures[v].result() for v in vendors}
    runs = sorted(
        (run for v in vendors for run in lists[v]), key=lambda r: (r.vendor.value, r.run_id)
    )
    return LiveState(runs=tuple(runs), vendors=vendors, listed_at=listed_at)

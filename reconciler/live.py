"""Gather the live state: every vendor's runs, listed concurrently, complete or not at all.

Which listed runs keep their leaves (`LiveRun.fields`) is decided here, once for every
vendor (`claimed_leaves`): only the runs a declared resource can claim and whose leaves a
command reads (docs/architecture.md, "What a live run keeps").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter

from reconciler.model import LABEL_ADDRESS, LABEL_WORKSPACE, LiveRun, NaturalKey, Resource, Vendor
from reconciler.providers.base import KeepLeaves, Provider, every_run
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


@dataclass(frozen=True, slots=True)
class ClaimedLeaves:
    """Keep the leaves of the runs a declared resource can claim, where a reader needs them.

    The readers of a listed run's leaves are a `path:` threshold (status, and a plan's stage
    gates: only on the run that satisfies its resource) and the markdown diff of a replace
    (only on a managed run of a declared address). So a run keeps its leaves when it carries
    this workspace's label and a declared (or former) address, or when its natural key or
    adopt key is that of a declared resource with a `path:` threshold. `import` reads every
    run's leaves and lists with `every_run` instead.
    """

    workspace: str
    addresses: frozenset[str]
    keys: frozenset[NaturalKey]
    adopt_keys: frozenset[str]

    def __call__(self, run: LiveRun) -> bool:
        if run.natural_key is not None and run.natural_key in self.keys:
            return True
        if run.adopt_key is not None and run.adopt_key in self.adopt_keys:
            return True
        return (
            bool(run.labels)
            and run.label(LABEL_WORKSPACE) == self.workspace
            and run.label(LABEL_ADDRESS) in self.addresses
        )


def claimed_leaves(desired: Sequence[Resource], *, workspace: str) -> ClaimedLeaves:
    """Return which runs keep their leaves when `desired` are the declared resources."""
    gated = [r for r in desired if any(t.path is not None for t in r.thresholds)]
    return ClaimedLeaves(
        workspace=workspace,
        addresses=frozenset(
            {str(r.address) for r in desired}
            | {str(a) for r in desired for a in r.lifecycle.moved_from}
        ),
        keys=frozenset(r.natural_key for r in gated if r.natural_key is not None),
        adopt_keys=frozenset(
            r.adopt_key for r in gated if r.lifecycle.adopt and r.adopt_key is not None
        ),
    )


def gather_live_state(
    providers: Mapping[Vendor, Provider],
    desired: Sequence[Resource],
    *,
    workspace: str | None = None,
) -> LiveState:
    """List every provider's runs concurrently; any failed listing aborts (rule 9).

    A `ListingError` from any vendor propagates: an unknown state is never read as empty.
    With `workspace`, only the runs `claimed_leaves` names keep their leaves (plan, status,
    history); without, every run keeps them.
    """
    keep: KeepLeaves = every_run
    if workspace is not None:
        keep = claimed_leaves(desired, workspace=workspace)
    vendors = tuple(sorted(providers))
    listed_at = datetime.now(UTC)
    if not vendors:
        return LiveState(runs=(), vendors=(), listed_at=listed_at)
    with ThreadPoolExecutor(max_workers=len(vendors), thread_name_prefix="list") as pool:
        futures = {
            # in_context: a caller's deadline (status --timeout) holds on the pool's threads.
            v: pool.submit(
                in_context(providers[v].list_runs),
                [r for r in desired if r.vendor is v],
                keep_leaves=keep,
            )
            for v in vendors
        }
        # .result() re-raises the first failure; the pool waits for the others to finish.
        lists = {v: futures[v].result() for v in vendors}
    # In (vendor, run id) order: vendor by vendor, each sorted on the id string itself (a key
    # tuple per run would be one more allocation per run at the peak of the plan).
    runs = tuple(run for v in vendors for run in sorted(lists.pop(v), key=_RUN_ID))
    return LiveState(runs=runs, vendors=vendors, listed_at=listed_at)


_RUN_ID = attrgetter("run_id")

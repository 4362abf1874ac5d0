"""The contract every vendor module fulfils, and the registry of vendor modules."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeAlias

from reconciler.model import LiveRun, Resource, RunFields, Vendor
from reconciler.vendors.base import NOT_KEPT

__all__ = ["NOT_KEPT", "KeepLeaves", "Provider", "every_run", "no_run", "with_leaves"]

# Which parsed runs keep their leaves (`LiveRun.fields`): asked of each run before its leaves
# are flattened, with everything else already parsed (labels, natural key, adopt key).
KeepLeaves: TypeAlias = Callable[[LiveRun], bool]


def every_run(run: LiveRun) -> bool:
    """Keep every run's leaves (`import`, a read of one run)."""
    del run
    return True


def no_run(run: LiveRun) -> bool:
    """Keep no run's leaves (apply's create answers and fresh looks: nothing reads them)."""
    del run
    return False


def with_leaves(run: LiveRun, item: Mapping[str, object], keep: KeepLeaves) -> LiveRun:
    """Return `run` with the leaves of its vendor object `item` when `keep` wants them.

    The one place the providers' parsers flatten a run object: `run` comes in with
    `NOT_KEPT` leaves and leaves with them unless `keep(run)`.
    """
    return dataclasses.replace(run, fields=RunFields.of(item)) if keep(run) else run


class Provider(Protocol):
    """One vendor's eval runs, reached over its documented HTTP API.

    Every method raises only the `ProviderError` family (`reconciler.errors`); no httpx
    exception escapes. Instances own one `httpx.Client`; `close()` releases it.
    """

    vendor: Vendor

    def list_runs(
        self, desired: Sequence[Resource], *, keep_leaves: KeepLeaves = every_run
    ) -> list[LiveRun]:
        """Return every live run the plan must see (all pages), or raise `ListingError`.

        Only the runs `keep_leaves` names keep their leaves (`LiveRun.fields`); the others
        carry `NOT_KEPT`. Answers to `create_run` and `find_runs` keep none (apply reads
        none); `get_run` and `cancel_run` keep them all.
        """
        ...

    def create_run(self, resource: Resource, *, workspace: str, request_id: str) -> LiveRun:
        """Create the run `resource` declares, tagged with whatever ownership the vendor keeps.

        Never retried blindly: after a timeout or 5xx the provider looks for the run by its
        identity (Bland: the `reconciler.request-id` label) and returns it when found; when
        not found it raises `TransientProviderError`.
        """
        ...

    def find_runs(self, resource: Resource, *, workspace: str, since: datetime) -> list[LiveRun]:
        """Return the runs made since `since` that satisfy `resource` now, oldest first.

        The look apply takes around a create: before it, another apply (or one that crashed
        after its create) may have made the run since the plan; after it, another apply may
        have made the same run at the same moment.
        """
        ...

    def get_run(self, run: LiveRun) -> LiveRun:
        """Return the current state of `run`."""
        ...

    def cancel_run(self, run: LiveRun) -> LiveRun:
        """Cancel `run`; a run that is already finished or cancelled is returned as it is."""
        ...

    def estimate_cost(self, resource: Resource, history: Sequence[LiveRun]) -> float | None:
        """Return what creating `resource` would cost in USD, or None when unknown (never 0).

        `history` is the live state the plan was made from, for vendors that estimate from
        earlier runs. Raises only the `ProviderError` family.
        """
        ...

    def close(self) -> None:
        """Release the HTTP client."""
        ...

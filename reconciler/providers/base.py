"""The contract every vendor module fulfils, and the registry of vendor modules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from reconciler.model import LiveRun, Resource, Vendor


class Provider(Protocol):
    """One vendor's eval runs, reached over its documented HTTP API.

    Every method raises only the `ProviderError` family (`reconciler.errors`); no httpx
    exception escapes. Instances own one `httpx.Client`; `close()` releases it.
    """

    vendor: Vendor

    def list_runs(self, desired: Sequence[Resource]) -> list[LiveRun]:
        """Return every live run the plan must see (all pages), or raise `ListingError`."""
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

"""Bland AI eval runs (`/v1/evals/runs`), per `shared/providers/bland.md`.

Ownership lives in the run's write-once `metadata` (the labels of DESIGN.md); the list's
reduced items carry it, so a plan needs only list pages, plus one GET per unlabelled run when
some resource asks to `adopt` (the list items do not say what a run evaluates).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from reconciler.errors import NotFoundError, ProviderError, TransientProviderError
from reconciler.model import (
    LABEL_ADDRESS,
    LABEL_REQUEST_ID,
    LABEL_SPEC_HASH,
    LABEL_WORKSPACE,
    LiveRun,
    Resource,
    RunPhase,
    ownership_labels,
    parse_instant,
)
from reconciler.providers.base import NOT_KEPT, KeepLeaves, every_run, no_run, with_leaves
from reconciler.providers.cancelling import cancel_idempotently
from reconciler.providers.config import ProviderConfig
from reconciler.providers.http import JsonClient
from reconciler.providers.listing import listing_errors
from reconciler.providers.paging import NewestFirst, PageShape, describe, required_strings, walk
from reconciler.vendors import bland as known

log = logging.getLogger("reconciler.providers.bland")

DEFAULT_BASE_URL = "https://api.bland.ai"
PAGE_SIZE = 100
LIST_PAGE = PageShape(
    items="data", has_more=("has_more",), cursor=("next_cursor",), cursor_from_last_id=True
)
RECOVERY_WINDOW = timedelta(minutes=15)  # how far back a lost create is looked for
FRESH_LOOK_S = 2.0  # how long apply's look at the runs made since the plan is reused
VENDOR = known.VENDOR.value
CANCEL_REFUSED = frozenset({400, 409})  # §11.7: a terminal run's cancel is refused

# A run's identity for apply's fresh look: (workspace, address, spec hash) labels.
_Identity = tuple[str | None, str | None, str | None]


@dataclass(slots=True, kw_only=True)
class _RecentRuns:
    """Apply's look at the runs made since the plan: what was read, and when."""

    since: datetime
    stamp: float = 0.0
    began: float = float("-inf")  # when the last refresh began (time.monotonic)
    seen: set[str] = field(default_factory=set)
    index: dict[_Identity, list[LiveRun]] = field(default_factory=dict)


class BlandProvider:
    """Create, list, read and cancel Bland eval runs over one httpx client."""

    vendor = known.VENDOR

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        # The raw key, no Bearer (§1).
        self._api = JsonClient.from_config(
            config, default_base_url=DEFAULT_BASE_URL, transport=transport
        )
        self._recent_lock = threading.Lock()  # guards the cache; held only for moments
        self._refresh_lock = threading.Lock()  # one refresh of the cache at a time
        self._recent_cache: _RecentRuns | None = None
        # when each identity's create returned: a look after it must not reuse older pages
        self._created: dict[_Identity, float] = {}

    def close(self) -> None:
        """Release the HTTP client."""
        self._api.close()

    # --- requests ------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str | int] | None = None,
        body: object = None,
        retry: bool = False,
        conflict: frozenset[int] = frozenset({409}),
    ) -> Any:
        document = self._api.request(
            method,
            path,
            operation=operation,
            params=params,
            body=body,
            retry=retry,
            conflict=conflict,
        )
        data = document.get("data") if isinstance(document, dict) else None
        if data is None:
            raise ProviderError(
                "the answer has no `data`", vendor=VENDOR, operation=operation, status=200
            )
        return data

    def _pages(self, *, operation: str, read_ahead: bool = False) -> Iterator[Mapping[str, object]]:
        """Yield every run item of the list, in whatever order Bland sends (§11.18).

        Raises ListingError when the list cannot be read to its end (see paging.py).
        `read_ahead` only for a caller that reads every page (paging.walk).
        """

        def fetch(cursor: str | None) -> object:
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
            if cursor is not None:
                params["starting_after"] = cursor
            return self._call("GET", "/v1/evals/runs", operation=operation, params=params)

        return walk(fetch, LIST_PAGE, vendor=VENDOR, operation=operation, read_ahead=read_ahead)

    # --- the Provider contract --------------------------------------------------------------

    def list_runs(
        self, desired: Sequence[Resource], *, keep_leaves: KeepLeaves = every_run
    ) -> list[LiveRun]:
        """Return every run of the organisation (all pages), or raise ListingError."""
        operation = "list runs"
        with listing_errors(vendor=VENDOR, operation=operation, explain=self._explain):
            runs = [
                parse_run(item, operation=operation, keep_leaves=keep_leaves)
                for item in self._pages(operation=operation, read_ahead=True)
            ]
            if any(r.lifecycle.adopt for r in desired):
                runs = [self._with_adopt_key(run, keep_leaves) for run in runs]
        return runs

    def _explain(self, error: ProviderError) -> str:
        """A 404 on the list means Evals is off for the organisation, or a wrong base_url."""
        if not isinstance(error, NotFoundError):
            return error.detail
        try:
            status = self._call("GET", "/v1/evals/status", operation="read evals status")
        except ProviderError:
            return "not found: check providers.bland.base_url"
        if isinstance(status, dict) and status.get("enabled") is False:
            reason = status.get("reason") or "no reason given"
            return f"Evals is not enabled for this Bland organisation ({reason})"
        return error.detail

    def _with_adopt_key(self, run: LiveRun, keep_leaves: KeepLeaves) -> LiveRun:
        if run.label(LABEL_WORKSPACE) is not None or not run.phase.satisfies:
            return run
        full = self._call("GET", f"/v1/evals/runs/{run.run_id}", operation="read run")
        return parse_run(full, operation="read run", keep_leaves=keep_leaves)

    def create_run(self, resource: Resource, *, workspace: str, request_id: str) -> LiveRun:
        """Create the run; after a timeout or 5xx, find it by its request id before failing."""
        body = resource.spec
        metadata = dict(body.get("metadata") or {})  # type: ignore[arg-type]
        metadata.update(ownership_labels(resource, workspace=workspace, request_id=request_id))
        body["metadata"] = metadata
        started = datetime.now().astimezone()
        try:
            data = self._call("POST", "/v1/evals/runs", operation="create run", body=body)
        except TransientProviderError as error:
            try:
                found = self._find_request(request_id, since=started - RECOVERY_WINDOW)
            except ProviderError as lookup:
                # The run may exist: the next fresh look must list again, not reuse a listing
                # made before this create (apply's next attempt would duplicate the run).
                with self._recent_lock:
                    self._recent_cache = None
                raise TransientProviderError(
                    f"{error.detail}; whether the run was created is unknown: looking for"
                    f" request id {request_id} failed too ({lookup.operation}). The next plan"
                    " lists the runs again and creates only what is missing",
                    vendor=VENDOR,
                    operation="create run",
                    status=error.status,
                ) from error
            if found is not None:
                log.info(
                    "create of %s: the answer was lost, found run %s by its request id",
                    resource.address,
                    found.run_id,
                )
                self._note_created(resource, workspace)
                return found
            raise TransientProviderError(
                f"{error.detail}; no run with request id {request_id} exists, so nothing was"
                " created. The next apply will try again",
                vendor=VENDOR,
                operation="create run",
                status=error.status,
                retry_after=error.retry_after,  # a 429 says when to come back
            ) from error
        run = parse_run(data, operation="create run", created=True, keep_leaves=no_run)
        self._note_created(resource, workspace)
        return run

    def _note_created(self, resource: Resource, workspace: str) -> None:
        """Remember when the create of this identity returned, for the look after it.

        Apply looks again right after each create, to find a twin another apply made at the
        same moment (rule 7); only a listing begun after the create can show that twin.
        """
        with self._recent_lock:
            self._created[(workspace, str(resource.address), resource.spec_hash)] = time.monotonic()

    def _find_request(self, request_id: str, *, since: datetime) -> LiveRun | None:
        """Find the run created with `request_id`, reading every page unless order shows.

        Bland's list order is undocumented (§11.18; its own example is oldest first), so the
        look stops before the end only once the listing has shown itself newest first past
        `since` (paging.NewestFirst).
        """
        operation = "find a created run"
        watch = NewestFirst(since)
        for item in self._pages(operation=operation):
            run = parse_run(item, operation=operation, keep_leaves=no_run)
            if run.label(LABEL_REQUEST_ID) == request_id:
                return run
            watch.read(run.created_at)
            if watch.passed:
                return None
        return None

    def find_runs(self, resource: Resource, *, workspace: str, since: datetime) -> list[LiveRun]:
        """Return the runs of this workspace, address and spec hash made since `since`.

        The runs made since `since` are read (every page, unless the listing shows itself
        newest first: §11.18 leaves the order undocumented) and kept for FRESH_LOOK_S: an
        apply of a thousand creates then costs a few list pages, not one per create. They are
        kept indexed by identity, so each look is one dict lookup, not a scan of every run the
        apply has made so far. A run another apply makes inside that window can still be
        duplicated; after a create of the identity the window does not apply (only a listing
        begun after the create is reused), so apply's look after its create finds the twin
        and cancels the newer copy (rule 7).
        """
        identity = (workspace, str(resource.address), resource.spec_hash)
        with self._recent_lock:
            created = self._created.get(identity)
        found = self._recent(since, identity, fresh_after=created)
        return sorted(found, key=lambda r: (r.created_at, r.run_id))

    def _recent(
        self, since: datetime, identity: _Identity, *, fresh_after: float | None = None
    ) -> list[LiveRun]:
        """Return the satisfying runs of `identity` made since `since`.

        A refresh reads every page, or, when the listing shows itself newest first, up to
        the first run already seen (or older than `since`). A run seen once is not read
        again, so one cancelled within the apply would still count here; the next plan sees
        it as it is. With `fresh_after` (the moment a create of the identity returned), only a
        refresh begun after it is reused: one refresh serves every look that waited for it.
        One refresh at a time (`_refresh_lock`); a look the current index still serves does
        not wait for a refresh in flight (the workers go on creating while apply settles a
        batch of races).
        """
        operation = "look for runs made since the plan"
        with self._recent_lock:
            cache = self._recent_cache
            if cache is not None and cache.since == since and self._serves(cache, fresh_after):
                return list(cache.index.get(identity, ()))
        with self._refresh_lock:  # then one may have been made while this look waited
            with self._recent_lock:
                cache = self._recent_cache
                if cache is None or cache.since != since:
                    cache = self._recent_cache = _RecentRuns(since=since)
                elif self._serves(cache, fresh_after):
                    return list(cache.index.get(identity, ()))
            began = time.monotonic()
            watch = NewestFirst(since)
            new: list[LiveRun] = []
            ids: set[str] = set()  # read by this refresh; cache.seen: by earlier ones, which
            # only a refresh (one at a time, under _refresh_lock) adds to
            for item in self._pages(operation=operation):
                run = parse_run(item, operation=operation, keep_leaves=no_run)
                watch.read(run.created_at)
                known_run = run.run_id in cache.seen or run.run_id in ids
                if watch.passed or (known_run and watch.proven):
                    break
                if run.created_at < since or known_run:
                    continue
                ids.add(run.run_id)
                new.append(run)
            with self._recent_lock:
                for run in new:
                    cache.seen.add(run.run_id)
                    if run.phase.satisfies:
                        key = (
                            run.label(LABEL_WORKSPACE),
                            run.label(LABEL_ADDRESS),
                            run.label(LABEL_SPEC_HASH),
                        )
                        cache.index.setdefault(key, []).append(run)
                cache.began, cache.stamp = began, time.monotonic()
                return list(cache.index.get(identity, ()))

    def _serves(self, cache: _RecentRuns, fresh_after: float | None) -> bool:
        """Say whether `cache` may answer a look (young enough, begun after the create)."""
        return time.monotonic() - cache.stamp < FRESH_LOOK_S and (
            fresh_after is None or cache.began >= fresh_after
        )

    def get_run(self, run: LiveRun) -> LiveRun:
        """Return the current state of `run`."""
        data = self._call("GET", f"/v1/evals/runs/{run.run_id}", operation="read run")
        return parse_run(data, operation="read run")

    def cancel_run(self, run: LiveRun) -> LiveRun:
        """Cancel `run`; a run that finished meanwhile is returned as it is (§11.7)."""
        return cancel_idempotently(run, cancel=self._cancel, read=self.get_run)

    def _cancel(self, run: LiveRun) -> LiveRun:
        data = self._call(
            "POST",
            f"/v1/evals/runs/{run.run_id}/cancellations",
            operation="cancel run",
            retry=True,
            conflict=CANCEL_REFUSED,
        )
        return parse_run(data, operation="cancel run")

    def estimate_cost(self, resource: Resource, history: Sequence[LiveRun]) -> float | None:
        """Ask Bland what the run would cost (§3.5: free, idempotent, so retried)."""
        del history
        operation = "estimate run"
        data = self._call(
            "POST", "/v1/evals/runs/estimates", operation=operation, body=resource.spec, retry=True
        )
        cents = data.get("estimated_cost_usd_cents") if isinstance(data, dict) else None
        if not isinstance(cents, int | float) or isinstance(cents, bool):
            raise ProviderError(
                "the estimate has no numeric `estimated_cost_usd_cents`",
                vendor=VENDOR,
                operation=operation,
                status=200,
            )
        return float(cents) / 100


def parse_run(
    item: object,
    *,
    operation: str = "read run",
    created: bool = False,
    keep_leaves: KeepLeaves = every_run,
) -> LiveRun:
    """Parse a run object or a reduced list item; unknown fields are ignored.

    A field reconciler decides on (id, status, created_at, metadata) of the wrong type is a
    ProviderError naming `operation`, never a guess: a run whose labels were misread would
    look unmanaged and be created twice. `created`: the object answers a create, so the
    message says that the run may exist. `keep_leaves`: whether the run keeps its leaves.
    """

    def wrong(problem: str) -> ProviderError:
        if created:
            problem += "; the run may have been created: the next plan lists the runs and sees it"
        return ProviderError(problem, vendor=VENDOR, operation=operation, status=200)

    if not isinstance(item, dict):
        raise wrong(f"the answer is {describe(item)}, not a run object")
    texts = required_strings(item, ("id", "status", "created_at"), what="run")
    if isinstance(texts, str):
        raise wrong(texts)
    # intern what repeats from run to run: one copy for all (docs/performance.md, memory)
    run_id, status = texts["id"], sys.intern(texts["status"])
    try:
        created_at = parse_instant(texts["created_at"])
    except ValueError as exc:
        raise wrong(f"run {run_id}: `created_at` is not an RFC 3339 timestamp") from exc
    metadata = item.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise wrong(f"run {run_id}: `metadata` is {describe(metadata)}, not an object")
    labels = tuple(
        sorted(
            (sys.intern(str(k)), sys.intern(v)) for k, v in metadata.items() if isinstance(v, str)
        )
    )
    metrics = known.metrics(item)
    run = LiveRun(
        vendor=known.VENDOR,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=created_at,
        labels=labels,
        adopt_key=known.run_adopt_key(item),
        cost_usd=metrics.cost_usd,
        metrics=metrics,
        fields=NOT_KEPT,
    )
    return with_leaves(run, item, keep_leaves)

"""Adaline prompt evaluations (`/v2/prompts/{promptId}/evaluations`), per `providers/adaline.md`.

An evaluation carries no label, name or creator (§8), so a run is known only by its natural
key (prompt, evaluator, dataset): runs are matched, never provably ours, never cancelled by a
plan. Runs are listed per prompt the manifests name; a lost create is found again by key.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from reconciler.errors import NotFoundError, ProviderError, TransientProviderError
from reconciler.model import LiveRun, NaturalKey, Resource, RunPhase
from reconciler.providers.base import NOT_KEPT, KeepLeaves, every_run, no_run, with_leaves
from reconciler.providers.cancelling import cancel_idempotently
from reconciler.providers.config import ProviderConfig
from reconciler.providers.fresh import FreshLooks
from reconciler.providers.http import JsonClient, gather
from reconciler.providers.listing import listing_errors
from reconciler.providers.paging import PageShape, describe, required_strings, walk
from reconciler.vendors import adaline as known

log = logging.getLogger("reconciler.providers.adaline")

DEFAULT_BASE_URL = "https://api.adaline.ai/v2"
PAGE_SIZE = 200
LIST_PAGE = PageShape(
    items="evaluations", has_more=("pagination", "hasMore"), cursor=("pagination", "nextCursor")
)
RECOVERY_MARGIN_MS = 60_000  # §8 rule 3: look for a lost create from a minute before the POST
SECONDS_THRESHOLD = 100_000_000_000  # §10.2: a timestamp below this is seconds, not ms
VENDOR = known.VENDOR.value
# §10.8: a cancel of a finished run is an undocumented 4xx; on any, the run is read again.
CANCEL_REFUSED = frozenset(range(400, 500))


def _path(*parts: str) -> str:
    """Join path segments, each percent-encoded with no safe characters (§13.6)."""
    return "/" + "/".join(quote(p, safe="") for p in parts)


class AdalineProvider:
    """Create, list, read and cancel Adaline evaluations over one httpx client."""

    vendor = known.VENDOR

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._max_concurrency = config.max_concurrency
        self._fresh: FreshLooks[tuple[str, str, str], list[LiveRun]] = FreshLooks(self._key_since)
        self._api = JsonClient.from_config(
            config, default_base_url=DEFAULT_BASE_URL, auth_prefix="Bearer ", transport=transport
        )

    def close(self) -> None:
        """Release the HTTP client."""
        self._api.close()

    def _evaluations(
        self, prompt_id: str, *, operation: str, filters: Mapping[str, str | int] | None = None
    ) -> Iterator[Mapping[str, object]]:
        """Yield every evaluation of a prompt (any order), or raise ListingError (paging.py).

        Every caller reads every page, so the next page is asked for while the caller parses
        this one (`read_ahead`, paging.walk).
        """
        params: dict[str, str | int] = {
            "limit": PAGE_SIZE,
            "sort": "createdAt:desc",
            **(filters or {}),
        }

        def fetch(cursor: str | None) -> object:
            # §10.19: the same filters with each cursor.
            query = params if cursor is None else {**params, "cursor": cursor}
            return self._api.request(
                "GET", _path("prompts", prompt_id, "evaluations"), operation=operation, params=query
            )

        return walk(fetch, LIST_PAGE, vendor=VENDOR, operation=operation, read_ahead=True)

    def _keyed(
        self,
        prompt_id: str,
        *,
        operation: str,
        evaluator_id: str | None = None,
        dataset_id: str | None = None,
        since_ms: int | None = None,
        keep_leaves: KeepLeaves,
    ) -> list[LiveRun]:
        """List a prompt's evaluations, filtered on evaluator and dataset when given.

        An item may omit `datasetId` (§2): in a listing filtered on a dataset it is keyed
        by that dataset; in an unfiltered one it has no key and satisfies nothing.
        """
        filters: dict[str, str | int] = {}
        if evaluator_id is not None:
            filters["evaluatorId"] = evaluator_id
        if dataset_id is not None:
            filters["datasetId"] = dataset_id
        if since_ms is not None:
            filters["createdAfter"] = since_ms
        return [
            parse_evaluation(
                item,
                prompt_id=prompt_id,
                dataset_id=dataset_id,
                operation=operation,
                keep_leaves=keep_leaves,
            )
            for item in self._evaluations(prompt_id, operation=operation, filters=filters)
        ]

    def list_runs(
        self, desired: Sequence[Resource], *, keep_leaves: KeepLeaves = every_run
    ) -> list[LiveRun]:
        """List the evaluations of every prompt the manifests name, all pages, concurrently."""
        keys = sorted({r.natural_key for r in desired if r.natural_key is not None})
        by_prompt: dict[str, list[NaturalKey]] = {}
        for key in keys:
            by_prompt.setdefault(key.container, []).append(key)
        operation = "list evaluations"

        def one_prompt(prompt_id: str) -> list[LiveRun]:
            # One key on a prompt: let the server filter by evaluator and dataset (§3.2).
            prompt_keys = by_prompt[prompt_id]
            filters: dict[str, str] = {}
            if len(prompt_keys) == 1:
                parts = dict(prompt_keys[0].parts)
                filters = {"evaluatorId": parts["evaluatorId"], "datasetId": parts["datasetId"]}

            def explain(error: ProviderError) -> str:
                if not isinstance(error, NotFoundError) and error.status != 403:
                    return error.detail
                named = f"prompt {prompt_id}"
                if filters:  # the server 404s an unknown evaluator or dataset filter too
                    named += f", evaluator {filters['evaluatorId']} or dataset"
                    named += f" {filters['datasetId']}"
                return f"{named} was not found or is not readable with this key"

            with listing_errors(
                vendor=VENDOR, operation=f"{operation} of prompt {prompt_id}", explain=explain
            ):
                runs = self._keyed(
                    prompt_id,
                    operation=operation,
                    evaluator_id=filters.get("evaluatorId"),
                    dataset_id=filters.get("datasetId"),
                    keep_leaves=keep_leaves,
                )
                if not filters and any(run.natural_key is None for run in runs):
                    runs = self._key_by_filter(
                        prompt_id, runs, prompt_keys, operation=operation, keep_leaves=keep_leaves
                    )
            return runs

        lists = gather(one_prompt, sorted(by_prompt), max_workers=self._max_concurrency)
        return [run for runs in lists for run in runs]

    def _key_by_filter(
        self,
        prompt_id: str,
        runs: list[LiveRun],
        keys: Sequence[NaturalKey],
        *,
        operation: str,
        keep_leaves: KeepLeaves,
    ) -> list[LiveRun]:
        """Key the items that omit `datasetId` by listing each declared key filtered on it.

        A run the filtered listings do not return stays unkeyed: it satisfies no resource.
        """
        keyed: dict[str, LiveRun] = {}
        for key in keys:
            parts = dict(key.parts)
            for run in self._keyed(
                prompt_id,
                operation=operation,
                evaluator_id=parts["evaluatorId"],
                dataset_id=parts["datasetId"],
                keep_leaves=keep_leaves,
            ):
                keyed.setdefault(run.run_id, run)
        return [keyed.get(run.run_id, run) if run.natural_key is None else run for run in runs]

    def create_run(self, resource: Resource, *, workspace: str, request_id: str) -> LiveRun:
        """Start the evaluation; after a timeout or 5xx, adopt a run with its key, if any."""
        del workspace, request_id  # Adaline stores no labels (§8)
        spec = resource.spec
        prompt_id, evaluator_id, dataset_id = (
            str(spec["promptId"]),
            str(spec["evaluatorId"]),
            str(spec["datasetId"]),
        )
        body = {"evaluatorId": evaluator_id, "datasetId": dataset_id}  # both, always (§8.1)
        before_ms = int(time.time() * 1000) - RECOVERY_MARGIN_MS
        try:
            data = self._api.request(
                "POST", _path("prompts", prompt_id, "evaluations"), operation="create", body=body
            )
        except TransientProviderError as error:
            found = self._recover(prompt_id, evaluator_id, dataset_id, since_ms=before_ms)
            if found is not None:
                log.info("create of %s: answer lost, adopted %s", resource.address, found.run_id)
                return found
            raise TransientProviderError(
                f"{error.detail}; no evaluation with this key was submitted since, so nothing was"
                " created. The next apply will try again",
                vendor=VENDOR,
                operation="create",
                status=error.status,
                retry_after=error.retry_after,  # a 429 says when to come back
            ) from error
        run = parse_evaluation(
            data,
            prompt_id=prompt_id,
            dataset_id=dataset_id,
            operation="create",
            created=True,
            keep_leaves=no_run,
        )
        self._fresh.created((prompt_id, evaluator_id, dataset_id))
        return run

    def _recover(
        self, prompt_id: str, evaluator_id: str, dataset_id: str, *, since_ms: int
    ) -> LiveRun | None:
        runs = self._since(prompt_id, evaluator_id, dataset_id, since_ms=since_ms)
        return runs[-1] if runs else None

    def _since(
        self, prompt_id: str, evaluator_id: str, dataset_id: str, *, since_ms: int
    ) -> list[LiveRun]:
        """Return the key's satisfying runs submitted since `since_ms`, oldest first.

        Every page is read: the order asked for (`sort`) is not relied on.
        """
        try:
            runs = self._keyed(
                prompt_id,
                operation="find a created run",
                evaluator_id=evaluator_id,
                dataset_id=dataset_id,
                since_ms=since_ms,
                keep_leaves=no_run,
            )
        except ProviderError as error:
            raise TransientProviderError(
                f"whether the evaluation was created is unknown: listing failed ({error.detail})."
                " The next plan lists the runs again and creates only what is missing",
                vendor=VENDOR,
                operation="create",
            ) from error
        key = known.key(prompt_id=prompt_id, evaluator_id=evaluator_id, dataset_id=dataset_id)
        return sorted(
            (r for r in runs if r.phase.satisfies and r.natural_key == key),
            key=lambda r: (r.created_at, r.run_id),
        )

    def find_runs(self, resource: Resource, *, workspace: str, since: datetime) -> list[LiveRun]:
        """Return the runs of the resource's key submitted since `since` that satisfy it."""
        del workspace
        spec = resource.spec
        key = (str(spec["promptId"]), str(spec["evaluatorId"]), str(spec["datasetId"]))
        return self._fresh.look(key, since, identity=key)

    def _key_since(self, key: tuple[str, str, str], since: datetime) -> list[LiveRun]:
        """One fresh look: the key's runs submitted since `since` (the server filters)."""
        return self._since(*key, since_ms=int(since.timestamp() * 1000))

    def get_run(self, run: LiveRun) -> LiveRun:
        """Return the current state of `run` (read under the prompt it was listed under)."""
        prompt_id = _prompt_of(run)
        data = self._api.request(
            "GET", _path("prompts", prompt_id, "evaluations", run.run_id), operation="read"
        )
        return parse_evaluation(
            data, prompt_id=prompt_id, dataset_id=_dataset_of(run), operation="read"
        )

    def cancel_run(self, run: LiveRun) -> LiveRun:
        """Ask to cancel; a run already finished or cancelling is returned as it is (§10.8)."""
        return cancel_idempotently(run, cancel=self._cancel, read=self.get_run)

    def _cancel(self, run: LiveRun) -> LiveRun:
        prompt_id = _prompt_of(run)
        data = self._api.request(
            "POST",
            _path("prompts", prompt_id, "evaluations", run.run_id, "cancel"),
            operation="cancel",
            retry=True,
            conflict=CANCEL_REFUSED,
        )
        return parse_evaluation(
            data, prompt_id=prompt_id, dataset_id=_dataset_of(run), operation="cancel"
        )

    def estimate_cost(self, resource: Resource, history: Sequence[LiveRun]) -> float | None:
        """Return the median `metrics.totalCost` of the key's finished runs; None if none."""
        costs = sorted(
            run.cost_usd
            for run in history
            if run.vendor is known.VENDOR
            and run.natural_key == resource.natural_key
            and run.phase is RunPhase.SUCCEEDED
            and run.cost_usd is not None
        )
        if resource.natural_key is None or not costs:
            return None
        return statistics.median(costs)


def _prompt_of(run: LiveRun) -> str:
    if run.natural_key is None:
        raise ProviderError("the run has no prompt", vendor=VENDOR, operation="read")
    return run.natural_key.container


def _dataset_of(run: LiveRun) -> str | None:
    return dict(run.natural_key.parts).get("datasetId") if run.natural_key else None


def epoch_ms(value: object) -> datetime:
    """Read an Adaline timestamp: epoch ms, or seconds when small (§10.2)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    millis = float(value) * 1000 if value < SECONDS_THRESHOLD else float(value)
    return datetime.fromtimestamp(millis / 1000, UTC)


def parse_evaluation(
    item: object,
    *,
    prompt_id: str,
    dataset_id: str | None = None,
    operation: str = "read",
    created: bool = False,
    keep_leaves: KeepLeaves = every_run,
) -> LiveRun:
    """Parse an Evaluation object; unknown fields are ignored.

    `datasetId` may be absent (§2): the run is then keyed by `dataset_id`, the dataset the
    answer was asked for (a filtered listing, a create, a read of a keyed run); without one
    it has no key and satisfies nothing. A field of the wrong type is a ProviderError naming
    `operation`. `created`: the object answers a create, so the message says the run may exist.
    """

    def wrong(problem: str) -> ProviderError:
        if created:
            problem += "; the evaluation may have been started: the next plan lists it"
        return ProviderError(problem, vendor=VENDOR, operation=operation, status=200)

    if not isinstance(item, dict):
        raise wrong(f"the answer is {describe(item)}, not an evaluation object")
    texts = required_strings(item, ("runId", "status", "evaluatorId"), what="evaluation")
    if isinstance(texts, str):
        raise wrong(texts)
    # intern: one copy of each status word for every run (docs/performance.md, memory)
    run_id, status = texts["runId"], sys.intern(texts["status"])
    own_dataset = item.get("datasetId")
    if own_dataset is not None and (not isinstance(own_dataset, str) or not own_dataset):
        raise wrong(f"evaluation {run_id}: `datasetId` is {describe(own_dataset)}, not a string")
    timeline = item.get("timeline")
    if not isinstance(timeline, dict):
        raise wrong(f"evaluation {run_id}: `timeline` is {describe(timeline)}, not an object")
    try:
        created_at = epoch_ms(timeline.get("submittedAt"))
    except (ValueError, OverflowError, OSError) as exc:
        raise wrong(
            f"evaluation {run_id}: `timeline.submittedAt` is not an epoch timestamp"
        ) from exc
    metrics = known.metrics(item)
    dataset = own_dataset if isinstance(own_dataset, str) else dataset_id
    run = LiveRun(
        vendor=known.VENDOR,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=created_at,
        natural_key=None
        if dataset is None
        else known.key(prompt_id=prompt_id, evaluator_id=texts["evaluatorId"], dataset_id=dataset),
        cost_usd=metrics.cost_usd,
        metrics=metrics,
        fields=NOT_KEPT,
    )
    return with_leaves(run, item, keep_leaves)

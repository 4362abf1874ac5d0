"""Adaline prompt evaluations (`/v2/prompts/{promptId}/evaluations`), per `providers/adaline.md`.

An evaluation carries no label, name or creator (§8), so a run is known only by its natural
key (prompt, evaluator, dataset): runs are matched, never provably ours, never cancelled by a
plan. Runs are listed per prompt the manifests name; a lost create is found again by key.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.errors import ListingError, ProviderError, TransientProviderError
from reconciler.model import LiveRun, NaturalKey, Resource, RunPhase, Vendor
from reconciler.providers.http import (
    JsonClient,
    SecretHeaderAuth,
    gather,
)
from reconciler.secret import Secret

log = logging.getLogger("reconciler.providers.adaline")

DEFAULT_BASE_URL = "https://api.adaline.ai/v2"
PAGE_SIZE = 200
MAX_PAGES = 100_000
RECOVERY_MARGIN_MS = 60_000  # §8 rule 3: look for a lost create from a minute before the POST
SECONDS_THRESHOLD = 100_000_000_000  # §10.2: a timestamp below this is seconds, not ms
VENDOR = Vendor.ADALINE.value


def _path(*parts: str) -> str:
    """Join path segments, each percent-encoded with no safe characters (§13.6)."""
    return "/" + "/".join(quote(p, safe="") for p in parts)


class AdalineProvider:
    """Create, list, read and cancel Adaline evaluations over one httpx client."""

    vendor = Vendor.ADALINE

    def __init__(
        self,
        *,
        api_key: Secret,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        max_concurrency: int = 8,
        requests_per_second: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._max_concurrency = max_concurrency
        self._api = JsonClient(
            vendor=VENDOR,
            base_url=base_url or DEFAULT_BASE_URL,
            auth=SecretHeaderAuth("authorization", api_key, prefix="Bearer "),
            timeout_s=timeout_s,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            requests_per_second=requests_per_second,
            transport=transport,
        )

    def close(self) -> None:
        """Release the HTTP client."""
        self._api.close()

    def _evaluations(
        self, prompt_id: str, *, operation: str, filters: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every evaluation of a prompt, newest first, or raise ListingError."""
        params: dict[str, str | int] = {
            "limit": PAGE_SIZE,
            "sort": "createdAt:desc",
            **(filters or {}),
        }
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self._api.request(
                "GET",
                _path("prompts", prompt_id, "evaluations"),
                operation=operation,
                params=params,
            )
            items = page.get("evaluations") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise ListingError(
                    "a list page has no `evaluations` array", vendor=VENDOR, operation=operation
                )
            yield from (item for item in items if isinstance(item, dict))
            pagination = page.get("pagination") or {}
            if not pagination.get("hasMore"):
                return
            cursor = pagination.get("nextCursor")
            if not cursor or cursor in seen:
                raise ListingError(
                    "pagination ended early: hasMore is true but there is no new nextCursor",
                    vendor=VENDOR,
                    operation=operation,
                )
            seen.add(cursor)
            params = {**params, "cursor": cursor}  # §10.19: same filters with each cursor
        raise ListingError(f"more than {MAX_PAGES} pages", vendor=VENDOR, operation=operation)

    def list_runs(self, desired: Sequence[Resource]) -> list[LiveRun]:
        """List the evaluations of every prompt the manifests name, all pages, concurrently."""
        keys = sorted({r.natural_key for r in desired if r.natural_key is not None})
        by_prompt: dict[str, list[NaturalKey]] = {}
        for key in keys:
            by_prompt.setdefault(key.container, []).append(key)
        operation = "list evaluations"

        def one_prompt(prompt_id: str) -> list[LiveRun]:
            # One key on a prompt: let the server filter by evaluator and dataset (§3.2).
            prompt_keys = by_prompt[prompt_id]
            filters: dict[str, str | int] = {}
            if len(prompt_keys) == 1:
                parts = dict(prompt_keys[0].parts)
                filters = {"evaluatorId": parts["evaluatorId"], "datasetId": parts["datasetId"]}
            try:
                return [
                    parse_evaluation(item, prompt_id=prompt_id)
                    for item in self._evaluations(prompt_id, operation=operation, filters=filters)
                ]
            except ListingError:
                raise
            except ProviderError as error:
                detail = error.detail
                if error.status in (403, 404):
                    named = f"prompt {prompt_id}"
                    if filters:  # the server 404s an unknown evaluator or dataset filter too
                        named += f", evaluator {filters['evaluatorId']} or dataset"
                        named += f" {filters['datasetId']}"
                    detail = f"{named} was not found or is not readable with this key"
                raise ListingError(
                    detail,
                    vendor=VENDOR,
                    operation=f"{operation} of prompt {prompt_id}",
                    status=error.status,
                    request_id=error.request_id,
                ) from error

        lists = gather(one_prompt, sorted(by_prompt), max_workers=self._max_concurrency)
        return [run for runs in lists for run in runs]

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
            ) from error
        return parse_evaluation(data, prompt_id=prompt_id)

    def _recover(
        self, prompt_id: str, evaluator_id: str, dataset_id: str, *, since_ms: int
    ) -> LiveRun | None:
        runs = self._since(prompt_id, evaluator_id, dataset_id, since_ms=since_ms)
        return runs[-1] if runs else None

    def _since(
        self, prompt_id: str, evaluator_id: str, dataset_id: str, *, since_ms: int
    ) -> list[LiveRun]:
        """Return the key's satisfying runs submitted since `since_ms`, oldest first."""
        filters: dict[str, str | int] = {
            "evaluatorId": evaluator_id,
            "datasetId": dataset_id,
            "createdAfter": since_ms,
        }
        try:
            items = list(
                self._evaluations(prompt_id, operation="find a created run", filters=filters)
            )
        except ProviderError as error:
            raise TransientProviderError(
                f"whether the evaluation was created is unknown: listing failed ({error.detail})."
                " The next plan lists the runs again and creates only what is missing",
                vendor=VENDOR,
                operation="create",
            ) from error
        runs = [parse_evaluation(item, prompt_id=prompt_id) for item in items]
        return sorted(
            (r for r in runs if r.phase.satisfies), key=lambda r: (r.created_at, r.run_id)
        )

    def find_runs(self, resource: Resource, *, workspace: str, since: datetime) -> list[LiveRun]:
        """Return the runs of the resource's key submitted since `since` that satisfy it."""
        del workspace
        spec = resource.spec
        return self._since(
            str(spec["promptId"]),
            str(spec["evaluatorId"]),
            str(spec["datasetId"]),
            since_ms=int(since.timestamp() * 1000),
        )

    def get_run(self, run: LiveRun) -> LiveRun:
        """Return the current state of `run` (read under the prompt it was listed under)."""
        prompt_id = _prompt_of(run)
        data = self._api.request(
            "GET", _path("prompts", prompt_id, "evaluations", run.run_id), operation="read"
        )
        return parse_evaluation(data, prompt_id=prompt_id)

    def cancel_run(self, run: LiveRun) -> LiveRun:
        """Ask to cancel; a run already finished or cancelling is returned as it is (§10.8)."""
        prompt_id = _prompt_of(run)
        try:
            data = self._api.request(
                "POST",
                _path("prompts", prompt_id, "evaluations", run.run_id, "cancel"),
                operation="cancel",
                retry=True,
            )
        except ProviderError as error:
            if error.status is None or not 400 <= error.status < 500:
                raise
            current = self.get_run(run)
            if current.phase is RunPhase.ACTIVE:
                raise
            return current
        return parse_evaluation(data, prompt_id=prompt_id)

    def estimate_cost(self, resource: Resource, history: Sequence[LiveRun]) -> float | None:
        """Return the median `metrics.totalCost` of the key's finished runs; None if none."""
        costs = sorted(
            run.cost_usd
            for run in history
            if run.vendor is Vendor.ADALINE
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


def epoch_ms(value: object) -> datetime:
    """Read an Adaline timestamp: epoch ms, or seconds when small (§10.2)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    millis = float(value) * 1000 if value < SECONDS_THRESHOLD else float(value)
    return datetime.fromtimestamp(millis / 1000, UTC)


def parse_evaluation(item: Mapping[str, Any], *, prompt_id: str) -> LiveRun:
    """Parse an Evaluation object; unknown fields ignored, a missing datasetId tolerated."""
    try:
        run_id = str(item["runId"])
        status = str(item["status"])
        evaluator_id = str(item["evaluatorId"])
        timeline = item.get("timeline") or {}
        created_at = epoch_ms(timeline.get("submittedAt"))
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        raise ProviderError(
            f"an evaluation lacks a readable field ({exc})", vendor=VENDOR, operation="parse"
        ) from exc
    metrics = item.get("metrics")
    cost = metrics.get("totalCost") if isinstance(metrics, dict) else None
    return LiveRun(
        vendor=Vendor.ADALINE,
        run_id=run_id,
        status=status,
        phase=RunPhase.from_status(status),
        created_at=created_at,
        natural_key=NaturalKey.adaline(
            prompt_id=prompt_id,
            evaluator_id=evaluator_id,
            dataset_id=str(item.get("datasetId") or ""),
        ),
        cost_usd=float(cost)
        if isinstance(cost, int | float) and not isinstance(cost, bool)
        else None,
        raw=json.dumps(item, separators=(",", ":")),
    )

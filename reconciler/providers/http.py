"""The HTTP layer every vendor module shares: one httpx.Client, auth from a Secret, retries.

Layers, each one concern (as httpx's own client is built):

- `SecretHeaderAuth` adds the auth header at send time, so the key lives in no client
  header, repr or log line.
- `RetryTransport` wraps httpx's transport: an adaptive pace (`RateLimiter`: AIMD on 429s
  under the `requests_per_second` cap) and a concurrency cap shared by every request to the
  vendor, and retries of idempotent requests (GET, and POSTs marked
  `retry_extension()`: cancels and estimates) on 429, 5xx, timeouts and dropped
  connections, with exponential backoff, full jitter and `Retry-After` honoured, an
  attempt cap and a wall-clock retry budget checked before every sleep. A create is never
  retried here.
- Deadlines are deadlines: httpx's timeouts bound each socket operation, so a server that
  sends a byte a second never trips them. `timeout_s` bounds a whole attempt (connect, send,
  headers and the whole body) because every socket operation of the attempt gets only what
  is left of it (`_DeadlineBackend`, installed under httpx's own transport). A caller may
  also set a deadline for everything it does (`deadline()`: `status --timeout`); no attempt
  runs and no retry sleeps past it plus `timeout_s`.
- `responses.py` turns a non-2xx answer into the `ProviderError` family (`check_response`:
  the class chosen there, `ConflictError` and `NotFoundError` included) with the vendor's
  error code and message, truncated and scrubbed of every secret, never the request's
  headers; `transport_errors` maps every httpx exception to that family, chained.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from reconciler.errors import ConfigError
from reconciler.providers.config import MAX_RETRIES, TIMEOUT_S, ProviderConfig
from reconciler.providers.deadline import (
    attempt_deadline,
    current_deadline,
    deadline_transport,
    in_context,
)
from reconciler.providers.responses import (
    CONFLICT_STATUS,
    OUT_OF_TIME_EXTENSION,
    RETRYABLE_STATUS,
    check_response,
    json_data,
    retry_after,
    transport_errors,
    untrusted_certificate,
)
from reconciler.providers.tls import tls_context
from reconciler.secret import Secret

__all__ = ["JsonClient", "SecretHeaderAuth", "build_client", "check_response", "gather"]

log = logging.getLogger("reconciler.http")

T = TypeVar("T")
R = TypeVar("R")

RETRY_EXTENSION = "reconciler.retry"
TOO_MANY_REQUESTS = 429


def retry_extension() -> dict[str, Any]:
    """Return request extensions that mark a POST as safe to retry (cancel, estimate)."""
    return {RETRY_EXTENSION: True}


class SecretHeaderAuth(httpx.Auth):
    """Set one header from a Secret on every request, e.g. `authorization: <key>`."""

    def __init__(self, header: str, secret: Secret, *, prefix: str = "") -> None:
        self._header = header
        self._secret = secret
        self._prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._prefix + self._secret.reveal()
        yield request

    def __repr__(self) -> str:
        return f"SecretHeaderAuth({self._header!r}, ***)"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How hard to try an idempotent request."""

    max_retries: int = MAX_RETRIES  # retries after the first attempt; 0 = none
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    budget_s: float = 120.0  # wall-clock time for one request, attempts and waits included


class RateLimiter:
    """The pace of every request to one vendor, shared by all threads: AIMD under a hard cap.

    - `cap` (`requests_per_second`) is never exceeded; None: no cap. The pace starts at the
      cap (a vendor's published limit is its default cap: Adaline), else unpaced.
    - A 429 halves the pace (multiplicative decrease); from no pace yet, it halves the rate
      actually sent over the last second. A `Retry-After` also holds every request until
      then. One burst of 429s halves once: a 429 to a request sent before the last decrease
      was sent at the old pace and says nothing new.
    - Every other answer adds `STEP / pace` (additive increase): `STEP` requests per second
      more for each second's worth of answers without a 429, up to the cap.

    Time is injected (`clock`, `sleep`), so tests check the pace without waiting.
    """

    STEP = 5.0  # requests per second regained per second of answers without a 429
    FLOOR = 1.0  # requests per second: the slowest pace a 429 brings it to
    WINDOW_S = 1.0  # how far back the sent rate is measured when there was no pace yet

    def __init__(
        self,
        cap: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cap = cap or None
        self.rate: float | None = self.cap  # the current pace; None: unpaced
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0  # when the next request may go
        self._decreased_at = float("-inf")
        self._sent: collections.deque[float] = collections.deque()

    def acquire(self) -> float:
        """Block until this request may go; return the moment it goes."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            if self.rate is not None:
                self._next = start + 1.0 / self.rate
            self._sent.append(start)
            while self._sent and self._sent[0] < start - self.WINDOW_S:
                self._sent.popleft()
        if start > now:
            self._sleep(start - now)
        return start

    def slow_down(self, sent_at: float, *, retry_after: float | None = None) -> None:
        """A request sent at `sent_at` was answered 429: halve the pace (once per burst)."""
        with self._lock:
            now = self._clock()
            if retry_after is not None:
                self._next = max(self._next, now + retry_after)
            if sent_at <= self._decreased_at:
                return
            if self.rate is None:
                recent = sum(1 for t in self._sent if t >= now - self.WINDOW_S)
                current = recent / self.WINDOW_S
            else:
                current = self.rate
            self.rate = max(self.FLOOR, current / 2)
            self._decreased_at = now
            log.debug("pace halved to %.1f requests/s after a 429", self.rate)

    def speed_up(self) -> None:
        """An answer other than 429: regain pace step by step, up to the cap."""
        if self.rate is None:
            return
        with self._lock:
            if self.rate is None:
                return
            self.rate += self.STEP / self.rate
            if self.cap is not None and self.rate > self.cap:
                self.rate = self.cap


class RetryTransport(httpx.BaseTransport):
    """Retry idempotent requests on transient failures; pace, cap and time every request.

    Time is injected (`clock`, `sleep`), so pacing and retries are tested without waiting.
    Each attempt may take `timeout_s` in all (enforced on the sockets when the inner
    transport went through `deadline_transport`); the retry budget, or the caller's
    `deadline()` plus `timeout_s` when that is sooner, is checked before every sleep.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        policy: RetryPolicy,
        limiter: RateLimiter,
        max_concurrency: int,
        timeout_s: float = TIMEOUT_S,
        vendor: str = "the vendor",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._limiter = limiter
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._timeout_s = timeout_s
        self._vendor = vendor
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retryable = request.method in ("GET", "HEAD") or bool(
            request.extensions.get(RETRY_EXTENSION)
        )
        policy = self._policy
        end, what = self._end()
        attempt = 0
        while True:
            attempt += 1
            started = self._clock()
            try:
                response = self._attempt(request, end=end, what=what)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self._log(request, attempt, started, f"error={type(exc).__name__}")
                wait = self._backoff(attempt)
                if (
                    retryable
                    and attempt <= policy.max_retries
                    and self._clock() + wait < end
                    and untrusted_certificate(exc) is None  # permanent: fail at once
                ):
                    self._sleep(wait)
                    continue
                if attempt > 1 and isinstance(exc, httpx.TimeoutException):
                    raise type(exc)(f"{exc}, {attempt} attempts", request=request) from exc
                raise
            self._log(request, attempt, started, f"status={response.status_code}")
            if response.status_code not in RETRYABLE_STATUS or not retryable:
                return response
            if attempt > policy.max_retries:
                return response
            told = retry_after(response)
            wait = self._backoff(attempt) if told is None else told
            left = end - self._clock()
            if wait >= left:
                if told is not None:
                    response.extensions[OUT_OF_TIME_EXTENSION] = (
                        f"{self._vendor} asked to retry after {told:.0f} s, more than the "
                        f"{max(left, 0):.0f} s left of {what}"
                    )
                return response
            response.close()
            self._sleep(wait)

    def _end(self) -> tuple[float, str]:
        """Return when this request must be settled by, and what sets that moment."""
        now = self._clock()
        end = now + self._policy.budget_s
        what = f"the retry budget ({self._policy.budget_s:g} s)"
        outer = current_deadline()
        if outer is not None:
            # `outer.at` is on time.monotonic(); carry it over to this transport's clock.
            outer_end = now + (outer.at - time.monotonic()) + self._timeout_s
            if outer_end < end:
                end = outer_end
                what = f"{outer.what} (+ timeout_s {self._timeout_s:g} s)"
        return end, what

    def _attempt(self, request: httpx.Request, *, end: float, what: str) -> httpx.Response:
        """Send once, paced and capped; the whole exchange gets timeout_s or what is left."""
        sent_at = self._limiter.acquire()
        with self._slots:
            # Measured once the pace and the cap let the attempt go: waiting is not its time.
            limit = min(self._timeout_s, end - self._clock())
            if limit <= 0:
                raise httpx.ReadTimeout(f"no time left of {what}", request=request)
            try:
                with attempt_deadline(limit):
                    response = self._inner.handle_request(request)
                    # Read inside the slot so the concurrency cap covers the whole exchange,
                    # and under the attempt's deadline so a trickled body cannot outlast it.
                    response.read()
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout):
                    raise type(exc)("could not connect in time", request=request) from exc
                within = (
                    f"timeout_s ({limit:g} s)"
                    if limit >= self._timeout_s
                    else f"{limit:.2g} s, what was left of {what}"
                )
                raise type(exc)(f"no complete answer within {within}", request=request) from exc
        if response.status_code == TOO_MANY_REQUESTS:
            told = retry_after(response)
            # Hold every request for a wait the retry budget could honour; a longer one fails
            # the request that got it (below), and must not stall the others for an hour.
            hold = told if told is not None and told < self._policy.budget_s else None
            self._limiter.slow_down(sent_at, retry_after=hold)
        else:
            self._limiter.speed_up()
        return response

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._policy.max_delay_s, self._policy.base_delay_s * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)  # full jitter

    def _log(self, request: httpx.Request, attempt: int, started: float, outcome: str) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "http method=%s url=%s %s attempt=%d duration_ms=%d",
                request.method,
                request.url.copy_with(query=None),
                outcome,
                attempt,
                (self._clock() - started) * 1000,
            )

    def close(self) -> None:
        self._inner.close()


def user_agent() -> str:
    """Return reconciler's User-Agent."""
    from reconciler import __version__

    return f"reconciler/{__version__} (+https://github.com/reconciler-dev/reconciler)"


def proxy_for(url: str) -> str | None:
    """Return the proxy the environment sets for `url`, or None (NO_PROXY honoured)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def build_client(
    *,
    base_url: str,
    auth: httpx.Auth,
    timeout_s: float,
    max_retries: int,
    max_concurrency: int,
    requests_per_second: float | None,
    vendor: str = "the vendor",
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Return the one client a provider uses for every request to its vendor.

    httpx reads proxy variables only when it builds the transport itself; ours wraps it, so
    the proxy for the vendor's URL (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY, minus NO_PROXY) is
    passed in explicitly, and retries and pacing still apply behind a proxy.
    """
    inner = transport or deadline_transport(
        httpx.HTTPTransport(
            verify=tls_context(),
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
            retries=0,
            proxy=proxy_for(base_url),
        )
    )
    return httpx.Client(
        base_url=base_url,
        auth=auth,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        headers={"user-agent": user_agent(), "accept": "application/json"},
        transport=RetryTransport(
            inner,
            policy=RetryPolicy(max_retries=max_retries),
            limiter=RateLimiter(requests_per_second),
            max_concurrency=max_concurrency,
            timeout_s=timeout_s,
            vendor=vendor,
        ),
        follow_redirects=False,
    )


def gather(fn: Callable[[T], R], items: Iterable[T], *, max_workers: int) -> list[R]:
    """Call `fn` on every item concurrently; return results in order, or raise the first error.

    Used to list several prompts or tasks of one vendor at once; the transport's concurrency
    cap still bounds the requests in flight. Each call runs in the caller's context, so a
    `deadline()` holds on the pool's threads too.
    """
    todo = list(items)
    if len(todo) <= 1:
        return [fn(item) for item in todo]
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(todo)))) as pool:
        futures = [pool.submit(in_context(fn), item) for item in todo]
        return [future.result() for future in futures]


class JsonClient:
    """A provider's one httpx client: each request's errors mapped, its JSON body parsed."""

    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        auth: httpx.Auth,
        timeout_s: float,
        max_retries: int,
        max_concurrency: int,
        requests_per_second: float | None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.vendor = vendor
        self.http = build_client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            timeout_s=timeout_s,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            requests_per_second=requests_per_second,
            vendor=vendor,
            transport=transport,
        )

    @classmethod
    def from_config(
        cls,
        config: ProviderConfig,
        *,
        default_base_url: str,
        auth_prefix: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> JsonClient:
        """Build a provider's client from its settings, taken whole (key in `authorization`).

        `auth_prefix` is what the vendor wants before the key ("Bearer "); `transport`
        replaces the network (tests).
        """
        if not config.api_key:
            raise ConfigError(f"providers.{config.vendor.value}.api_key is not set")
        return cls(
            vendor=config.vendor.value,
            base_url=config.base_url or default_base_url,
            auth=SecretHeaderAuth("authorization", config.api_key, prefix=auth_prefix),
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
            max_concurrency=config.max_concurrency,
            requests_per_second=config.requests_per_second,
            transport=transport,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str | int] | None = None,
        body: object = None,
        retry: bool = False,
        conflict: frozenset[int] = CONFLICT_STATUS,
    ) -> Any:
        """Send one request; return its JSON, or raise the ProviderError it means.

        `retry=True` marks a POST as safe to retry (a cancel, an estimate); reads always are.
        `conflict`: the statuses that mean `ConflictError` for this request (a vendor that
        answers a cancel of a finished run with 400 says so here).
        """
        with transport_errors(vendor=self.vendor, operation=operation):
            response = self.http.request(
                method,
                path,
                params=params,
                json=body,
                extensions=retry_extension() if retry else None,
            )
        check_response(response, vendor=self.vendor, operation=operation, conflict=conflict)
        return json_data(response, vendor=self.vendor, operation=operation)

    def close(self) -> None:
        """Release the connections."""
        self.http.close()

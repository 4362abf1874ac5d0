"""The HTTP layer every vendor module shares: one httpx.Client, auth from a Secret, retries.

Layers, each one concern (as httpx's own client is built):

- `SecretHeaderAuth` adds the auth header at send time, so the key lives in no client
  header, repr or log line.
- `RetryTransport` wraps httpx's transport: a shared rate limit and concurrency cap for
  every request to the vendor, and retries of idempotent requests (GET, and POSTs marked
  `retry_extension()`: cancels and estimates) on 429, 5xx, timeouts and dropped
  connections, with exponential backoff, full jitter and `Retry-After` honoured, an
  attempt cap and a total time budget. A create is never retried here.
- `check_response` turns a non-2xx answer into the `ProviderError` family with the vendor's
  error code and message, truncated, never the request's headers.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from reconciler.errors import ProviderError, TransientProviderError
from reconciler.secret import Secret

log = logging.getLogger("reconciler.http")

T = TypeVar("T")
R = TypeVar("R")

RETRY_EXTENSION = "reconciler.retry"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_ERROR_TEXT = 300


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

    max_retries: int = 5  # retries after the first attempt; 0 = none
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    budget_s: float = 120.0  # total time for one request, waits included
    max_retry_after_s: float = 60.0


class RateLimiter:
    """A token bucket shared by every request to one vendor; None rate = no limit."""

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        """Block until this request may go."""
        if not self._rate:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + 1.0 / self._rate
        if start > now:
            time.sleep(start - now)


class RetryTransport(httpx.BaseTransport):
    """Retry idempotent requests on transient failures; pace and cap every request."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        policy: RetryPolicy,
        limiter: RateLimiter,
        max_concurrency: int,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._limiter = limiter
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._sleep = sleep
        self._rng = rng or random.Random()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retryable = request.method in ("GET", "HEAD") or bool(
            request.extensions.get(RETRY_EXTENSION)
        )
        policy = self._policy
        deadline = time.monotonic() + policy.budget_s
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._send(request)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self._log(request, attempt, started, f"error={type(exc).__name__}")
                wait = self._backoff(attempt)
                if not retryable or not self._may_retry(attempt, deadline, wait):
                    raise
                self._sleep(wait)
                continue
            self._log(request, attempt, started, f"status={response.status_code}")
            if response.status_code not in RETRYABLE_STATUS or not retryable:
                return response
            told = _retry_after(response, policy.max_retry_after_s)
            wait = self._backoff(attempt) if told is None else told
            if not self._may_retry(attempt, deadline, wait):
                return response
            response.read()
            response.close()
            self._sleep(wait)

    def _send(self, request: httpx.Request) -> httpx.Response:
        self._limiter.acquire()
        with self._slots:
            response = self._inner.handle_request(request)
            # Read inside the slot so the concurrency cap covers the whole exchange.
            response.read()
        return response

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._policy.max_delay_s, self._policy.base_delay_s * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)  # full jitter

    def _may_retry(self, attempt: int, deadline: float, wait: float) -> bool:
        return attempt <= self._policy.max_retries and time.monotonic() + wait < deadline

    @staticmethod
    def _log(request: httpx.Request, attempt: int, started: float, outcome: str) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "http method=%s url=%s %s attempt=%d duration_ms=%d",
                request.method,
                request.url.copy_with(query=None),
                outcome,
                attempt,
                (time.monotonic() - started) * 1000,
            )

    def close(self) -> None:
        self._inner.close()


def _retry_after(response: httpx.Response, cap: float) -> float | None:
    """Read `Retry-After` as seconds or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), cap)


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
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Return the one client a provider uses for every request to its vendor.

    httpx reads proxy variables only when it builds the transport itself; ours wraps it, so
    the proxy for the vendor's URL (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY, minus NO_PROXY) is
    passed in explicitly, and retries and pacing still apply behind a proxy.
    """
    inner = transport or httpx.HTTPTransport(
        limits=httpx.Limits(
            max_connections=max_concurrency, max_keepalive_connections=max_concurrency
        ),
        retries=0,
        proxy=proxy_for(base_url),
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
        ),
        follow_redirects=False,
    )


def error_text(response: httpx.Response) -> str:
    """Return the vendor's error code and message from any documented envelope, truncated."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip().replace("\n", " ")
        return text[:MAX_ERROR_TEXT] or response.reason_phrase
    return _describe(body)[:MAX_ERROR_TEXT] or response.reason_phrase


def _describe(body: object) -> str:
    if not isinstance(body, dict):
        return json.dumps(body)[:MAX_ERROR_TEXT]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = first.get("error") or first.get("code")
        message = first.get("message") or ""
        return f"{code}: {message}" if code else str(message)
    error = body.get("error")
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        message = error.get("message") or ""
        return f"{code}: {message}" if code else str(message)
    for key in ("detail", "message", "title", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return json.dumps(body)[:MAX_ERROR_TEXT]


def check_response(response: httpx.Response, *, vendor: str, operation: str) -> None:
    """Raise the ProviderError that a non-2xx answer means; return on success."""
    if response.is_success:
        return
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    message = error_text(response)
    if status == 401 or status == 403:
        message += ". Check the API key (providers.<vendor>.api_key)"
    if status in RETRYABLE_STATUS:
        raise TransientProviderError(
            message,
            vendor=vendor,
            operation=operation,
            status=status,
            request_id=request_id,
            retry_after=_retry_after(response, 3600),
        )
    raise ProviderError(
        message, vendor=vendor, operation=operation, status=status, request_id=request_id
    )


@contextmanager
def transport_errors(*, vendor: str, operation: str) -> Iterator[None]:
    """Turn httpx's request-time exceptions into TransientProviderError, chained."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientProviderError(
            f"timed out ({type(exc).__name__})", vendor=vendor, operation=operation
        ) from exc
    except httpx.TransportError as exc:
        raise TransientProviderError(
            f"connection failed ({type(exc).__name__})", vendor=vendor, operation=operation
        ) from exc


def json_data(response: httpx.Response, *, vendor: str, operation: str) -> Any:
    """Parse a success body as JSON, or raise ProviderError naming what was expected."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderError(
            "the answer is not JSON",
            vendor=vendor,
            operation=operation,
            status=response.status_code,
        ) from exc


def gather(fn: Callable[[T], R], items: Iterable[T], *, max_workers: int) -> list[R]:
    """Call `fn` on every item concurrently; return results in order, or raise the first error.

    Used to list several prompts or tasks of one vendor at once; the transport's concurrency
    cap still bounds the requests in flight.
    """
    todo = list(items)
    if len(todo) <= 1:
        return [fn(item) for item in todo]
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(todo)))) as pool:
        futures = [pool.submit(fn, item) for item in todo]
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
    ) -> Any:
        """Send one request; return its JSON, or raise the ProviderError it means.

        `retry=True` marks a POST as safe to retry (a cancel, an estimate); reads always are.
        """
        with transport_errors(vendor=self.vendor, operation=operation):
            response = self.http.request(
                method,
                path,
                params=params,
                json=body,
                extensions=retry_extension() if retry else None,
            )
        check_response(response, vendor=self.vendor, operation=operation)
        return json_data(response, vendor=self.vendor, operation=operation)

    def close(self) -> None:
        """Release the connections."""
        self.http.close()

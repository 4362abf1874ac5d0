"""The HTTP layer every vendor module shares: one httpx.Client, auth from a Secret, retries.

Layers, each one concern (as httpx's own client is built):

- `SecretHeaderAuth` adds the auth header at send time, so the key lives in no client
  header, repr or log line.
- `RetryTransport` wraps httpx's transport: a shared rate limit and concurrency cap for
  every request to the vendor, and retries of idempotent requests (GET, and POSTs marked
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
- `check_response` turns a non-2xx answer into the `ProviderError` family with the vendor's
  error code and message, truncated and scrubbed of every secret, never the request's
  headers. `transport_errors` maps every httpx exception to that family, chained.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
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

from reconciler.errors import OutOfTimeError, ProviderError, TransientProviderError
from reconciler.providers.deadline import (
    attempt_deadline,
    current_deadline,
    deadline_transport,
    in_context,
)
from reconciler.secret import Secret, scrub

log = logging.getLogger("reconciler.http")

T = TypeVar("T")
R = TypeVar("R")

RETRY_EXTENSION = "reconciler.retry"
OUT_OF_TIME_EXTENSION = "reconciler.out_of_time"  # on a response: why it was not retried
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
    budget_s: float = 120.0  # wall-clock time for one request, attempts and waits included


class RateLimiter:
    """A token bucket shared by every request to one vendor; None rate = no limit."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
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
            self._sleep(start - now)


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
        timeout_s: float = 30.0,
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
                if retryable and attempt <= policy.max_retries and self._clock() + wait < end:
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
            told = _retry_after(response)
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
        self._limiter.acquire()
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


def _retry_after(response: httpx.Response) -> float | None:
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
    if not math.isfinite(seconds):
        return None  # "nan", "inf": not a wait anyone can honour
    return max(seconds, 0.0)


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


def error_text(response: httpx.Response) -> str:
    """Return the vendor's error code and message from any documented envelope.

    Truncated, on one line, and scrubbed of every remembered secret: the body is the
    vendor's, and a vendor may echo the request's auth header back.
    """
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        text = " ".join(response.text.split())
        return scrub(text)[:MAX_ERROR_TEXT] or response.reason_phrase
    text = " ".join(_describe(body).split())
    return scrub(text)[:MAX_ERROR_TEXT] or response.reason_phrase


def _describe(body: object) -> str:
    if not isinstance(body, dict):
        return _dumps(body)
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
    return _dumps(body)


def _dumps(body: object) -> str:
    try:
        return json.dumps(body)[: MAX_ERROR_TEXT * 4]
    except (ValueError, RecursionError):
        return "(an unreadable body)"


def check_response(response: httpx.Response, *, vendor: str, operation: str) -> None:
    """Raise the ProviderError that a non-2xx answer means; return on success."""
    if response.is_success:
        return
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    message = error_text(response)
    if status == 401 or status == 403:
        message += f". Check the API key (providers.{vendor}.api_key)"
    out_of_time = response.extensions.get(OUT_OF_TIME_EXTENSION)
    if out_of_time:
        raise OutOfTimeError(
            f"{message}; {out_of_time}",
            vendor=vendor,
            operation=operation,
            status=status,
            request_id=request_id,
            retry_after=_retry_after(response),
        )
    if status in RETRYABLE_STATUS:
        raise TransientProviderError(
            message,
            vendor=vendor,
            operation=operation,
            status=status,
            request_id=request_id,
            retry_after=_retry_after(response),
        )
    raise ProviderError(
        message, vendor=vendor, operation=operation, status=status, request_id=request_id
    )


# What the user can do about each httpx exception that is not a timeout or a dropped
# connection; the first matching class (most specific first) gives the message.
_PERMANENT: tuple[tuple[type[Exception], str], ...] = (
    (httpx.UnsupportedProtocol, "the URL's scheme is not http or https; check base_url"),
    (httpx.LocalProtocolError, "the request could not be sent (check the API key and base_url)"),
    (httpx.ProxyError, "the proxy refused the request; check HTTPS_PROXY / NO_PROXY"),
    (httpx.ProtocolError, "the answer broke the HTTP protocol"),
    (httpx.TransportError, "the request failed"),
    (httpx.DecodingError, "the answer's body could not be decoded (content-encoding)"),
    (httpx.TooManyRedirects, "too many redirects; check base_url"),
    (httpx.HTTPStatusError, "the vendor answered with an error status"),
    (httpx.InvalidURL, "the request URL is not valid; check base_url"),
    (httpx.CookieConflict, "the vendor set conflicting cookies"),
    (httpx.StreamError, "the request or answer body could not be read"),
    (httpx.HTTPError, "the request failed"),
)


@contextmanager
def transport_errors(*, vendor: str, operation: str) -> Iterator[None]:
    """Turn every httpx exception into the ProviderError family, chained and scrubbed.

    Timeouts and dropped connections may succeed later (TransientProviderError); the rest
    (a bad URL, an illegal header value, a broken answer) will not. httpx's text may quote
    the request (an illegal header holds the key), so it is scrubbed like a vendor's words.
    """
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientProviderError(
            f"timed out ({type(exc).__name__}: {exc})", vendor=vendor, operation=operation
        ) from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise TransientProviderError(
            f"connection failed ({type(exc).__name__}: {exc})", vendor=vendor, operation=operation
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError) as exc:
        what = next(text for kind, text in _PERMANENT if isinstance(exc, kind))
        raise ProviderError(
            f"{what} ({type(exc).__name__}: {exc})", vendor=vendor, operation=operation
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
    except RecursionError as exc:
        raise ProviderError(
            "the answer is JSON nested too deeply to read",
            vendor=vendor,
            operation=operation,
            status=response.status_code,
        ) from exc


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

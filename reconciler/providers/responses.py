"""A vendor's answer to our error family: status to class, envelope to message, at one place.

`check_response` picks the class a caller acts on (transient, conflict, not found, other);
`transport_errors` maps httpx's exceptions; `json_data` reads a success body. Vendor text is
truncated, put on one line and scrubbed of every remembered secret.
"""

from __future__ import annotations

import email.utils
import json
import math
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from reconciler.errors import (
    ConflictError,
    NotFoundError,
    OutOfTimeError,
    ProviderError,
    TransientProviderError,
)
from reconciler.secret import scrub

OUT_OF_TIME_EXTENSION = "reconciler.out_of_time"  # on a response: why it was not retried
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
CONFLICT_STATUS = frozenset({409})
MAX_ERROR_TEXT = 300


def retry_after(response: httpx.Response) -> float | None:
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


def check_response(
    response: httpx.Response,
    *,
    vendor: str,
    operation: str,
    conflict: frozenset[int] = CONFLICT_STATUS,
) -> None:
    """Raise the ProviderError that a non-2xx answer means; return on success.

    The class is chosen here, once: transient (429, 5xx), `ConflictError` (a status in
    `conflict`), `NotFoundError` (404), else `ProviderError`; callers test the class.
    """
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
            retry_after=retry_after(response),
        )
    if status in RETRYABLE_STATUS:
        raise TransientProviderError(
            message,
            vendor=vendor,
            operation=operation,
            status=status,
            request_id=request_id,
            retry_after=retry_after(response),
        )
    error = (
        ConflictError if status in conflict else NotFoundError if status == 404 else ProviderError
    )
    raise error(message, vendor=vendor, operation=operation, status=status, request_id=request_id)


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


CERTIFICATE_FIX = (
    "if a proxy or an internal CA signs the vendor's certificate, point SSL_CERT_FILE at a"
    " bundle that holds its CA; otherwise check base_url"
)


def untrusted_certificate(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """Return the certificate failure behind `exc`, if that is what it is.

    A certificate that does not verify will not verify on the next attempt either: it is
    permanent, not a dropped connection, and retrying it only makes the user wait.
    """
    seen: BaseException | None = exc
    for _ in range(10):  # httpx -> httpcore -> ssl; a cycle cannot hold us
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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
        if (failure := untrusted_certificate(exc)) is not None:
            reason = failure.verify_message or failure.reason or "certificate verify failed"
            raise ProviderError(
                f"the vendor's TLS certificate is not trusted ({reason}); {CERTIFICATE_FIX}",
                vendor=vendor,
                operation=operation,
            ) from exc
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

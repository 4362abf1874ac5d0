"""Arize's errors as RFC 9457 problem+json (arize.md §2.3), and the checks that raise them."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Container, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

ERRORS_URL = "https://arize.com/docs/ax/rest-reference/errors#"
PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "invalid-request"),
    401: ("Authentication required", "authentication-required"),
    403: ("Access forbidden", "access-forbidden"),
    404: ("Resource not found", "resource-not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    409: ("Resource conflict", "resource-conflict"),
    422: ("Unprocessable entity", "unprocessable-entity"),
    429: ("Too many requests", "rate-limit-exceeded"),
    500: ("Internal server error", "service-unavailable"),
    502: ("Bad gateway", "service-unavailable"),
    503: ("Service unavailable", "service-unavailable"),
    504: ("Gateway timeout", "service-unavailable"),
}
DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
)
GLOBAL_ID = re.compile(r"^([A-Za-z]+):(\d+):([A-Za-z0-9]+)$")


class Problem(Exception):
    """An error to answer as RFC 9457 problem+json; `handle` adds the instance path."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def problem(status: int, detail: str, instance: str) -> dict[str, Any]:
    """Return the Problem body Arize answers with `status` (arize.md §2.3)."""
    title, fragment = PROBLEMS[status]
    return {
        "status": status,
        "title": title,
        "type": ERRORS_URL + fragment,
        "detail": detail,
        "instance": instance,
    }


def instant_ms(ms: int) -> str:
    """Return epoch milliseconds as an ISO 8601 UTC instant with milliseconds."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime) -> int:
    """Return an aware datetime as epoch milliseconds."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def parse_instant(name: str, value: object) -> int:
    """Parse an RFC 3339 date-time with a zone into epoch milliseconds, else 400 (§12.4)."""
    if not isinstance(value, str) or not DATE_TIME.match(value):
        raise Problem(400, f"{name} must be an RFC 3339 date-time with a time zone")
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise Problem(400, f"{name} is not a valid date-time") from None
    return epoch_ms(moment)


def check_id(value: str, kind: str, what: str) -> None:
    """400 unless `value` is a well-formed global id; 404 when it is one of another kind."""
    try:
        decoded = base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Problem(400, f"Malformed {what} id '{value}'") from None
    match = GLOBAL_ID.match(decoded)
    if match is None:
        raise Problem(400, f"Malformed {what} id '{value}'")
    if match.group(1) != kind:
        raise Problem(404, f"The requested {what} with ID '{value}' was not found.")


def check_filter(
    query: Mapping[str, str], name: str, kind: str, what: str, known: Container[str]
) -> str | None:
    """Read an id filter (`space_id=...`): 400 when malformed, 404 when no such one exists."""
    value = query.get(name)
    if value is not None:
        check_id(value, kind, what)
        if value not in known:
            raise not_found(what, value)
    return value


def not_found(what: str, value: str) -> Problem:
    """Return Arize's 404 for `what` with id `value`."""
    return Problem(404, f"The requested {what} with ID '{value}' was not found.")


def is_int(value: object) -> bool:
    """Say whether `value` is a JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def strings(name: str, value: object) -> list[str]:
    """Return `value` as a list of non-empty strings, or 400."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Problem(400, f"{name} must be an array of non-empty strings")
    return list(value)

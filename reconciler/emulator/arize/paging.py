"""Arize's list parameters and cursor paging, newest first (arize.md §9.10-12)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.emulator.arize.problems import Problem
from reconciler.emulator.http import Response

MAX_FILTER_CHARS = 255


def encode_cursor(scope: str, created: float, ident: str) -> str:
    """Return the opaque cursor of the item (created, ident) in the list `scope`."""
    raw = json.dumps([scope, created, ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str, scope: str) -> tuple[float, str]:
    """Return the (created, id) a cursor points after; 400 if it is not one of this list's."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Problem(400, "Invalid cursor") from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != 3
        or decoded[0] != scope
        or not isinstance(decoded[1], int | float)
        or not isinstance(decoded[2], str)
    ):
        raise Problem(400, "Invalid cursor: it does not belong to this list and filters")
    return float(decoded[1]), decoded[2]


def limit_of(query: Mapping[str, str]) -> int:
    """The `limit` query parameter: default 50; not an integer 400; outside 1-100 422 (§9.12)."""
    text = query.get("limit", "50")
    try:
        limit = int(text)
    except ValueError:
        raise Problem(400, "limit must be an integer") from None
    if not 1 <= limit <= 100:
        raise Problem(422, "limit must be between 1 and 100")
    return limit


def substring_filter(query: Mapping[str, str], name: str) -> str | None:
    """Return a case-insensitive substring filter, lower-cased, or 422 when too long."""
    value = query.get(name)
    if value is not None and len(value) > MAX_FILTER_CHARS:
        raise Problem(422, f"{name} must be at most {MAX_FILTER_CHARS} characters")
    return value.lower() if value is not None else None


def page_of(
    items: Iterable[tuple[float, str, dict[str, Any]]],
    query: Mapping[str, str],
    scope: str,
    field_name: str,
) -> Response:
    """Page (created, id, item) triples, newest first, ties by id descending (§9.10, §9.11)."""
    limit = limit_of(query)
    ordered = sorted(items, key=lambda t: (t[0], t[1]), reverse=True)
    cursor = query.get("cursor")
    if cursor is not None:
        anchor = decode_cursor(cursor, scope)
        ordered = [t for t in ordered if (t[0], t[1]) < anchor]
    chosen = ordered[:limit]
    pagination: dict[str, Any] = {"has_more": len(ordered) > limit}
    if pagination["has_more"]:
        pagination["next_cursor"] = encode_cursor(scope, chosen[-1][0], chosen[-1][1])
    return Response(200, {field_name: [t[2] for t in chosen], "pagination": pagination})

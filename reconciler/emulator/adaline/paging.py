"""Adaline's list parameters and keyset paging with opaque cursors (adaline.md §10.17-19)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from reconciler.emulator.adaline.envelope import error, invalid

LIMIT_DEFAULT, LIMIT_MAX = 50, 200
SORTS = ("createdAt:asc", "createdAt:desc")
RESULT_SORTS = (*SORTS, "score:asc", "score:desc")


class Pager:
    """Keyset paging with opaque cursors bound to what was asked (§10.19)."""

    def __init__(
        self,
        query: Mapping[str, str],
        scope: Sequence[object],
        sorts: Sequence[str],
        default: str = "createdAt:desc",
    ) -> None:
        self.limit = limit_of(query)
        self.sort = query.get("sort", default)
        if self.sort not in sorts:
            raise invalid("sort", f"must be one of {', '.join(sorts)}")
        self.descending = self.sort.endswith(":desc")
        material = json.dumps([*scope, self.sort, self.limit], separators=(",", ":"))
        self.scope = hashlib.sha256(material.encode()).hexdigest()[:16]
        self.anchor: list[Any] | None = None
        cursor = query.get("cursor")
        if cursor is not None:
            if not cursor:
                raise invalid("cursor", "must be at least 1 character long")
            self.anchor = self._decode(cursor)

    def _decode(self, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
        except (ValueError, binascii.Error):
            data = None
        if (
            not isinstance(data, dict)
            or data.get("s") != self.scope
            or not isinstance(data.get("a"), list)
            or len(data["a"]) != 2
        ):
            raise error(400, "INVALID_CURSOR", "The cursor is invalid for this request")
        anchor: list[Any] = data["a"]
        return anchor

    def page(
        self, items: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[Any, str]]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Return one page of `items` (in any order) and its pagination object."""
        ordered = sorted(items, key=key, reverse=self.descending)
        if self.anchor is not None:
            anchor = (self.anchor[0], self.anchor[1])
            if self.descending:
                ordered = [i for i in ordered if key(i) < anchor]
            else:
                ordered = [i for i in ordered if key(i) > anchor]
        page = ordered[: self.limit]
        more = len(ordered) > self.limit
        cursor = None
        if more:
            raw = json.dumps({"s": self.scope, "a": list(key(page[-1]))}, separators=(",", ":"))
            cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        pagination = {
            "limit": self.limit,
            "returned": len(page),
            "hasMore": more,
            "nextCursor": cursor,
        }
        return page, pagination


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, "must be an integer") from None
    if number < 0:
        raise invalid(name, "must be at least 0")
    return number


def limit_of(query: Mapping[str, str]) -> int:
    """Return the `limit` parameter: default 50, 1-200."""
    value = query.get("limit")
    if value is None:
        return LIMIT_DEFAULT
    try:
        limit = int(value)
    except ValueError:
        raise invalid("limit", "must be an integer") from None
    if not 1 <= limit <= LIMIT_MAX:
        raise invalid("limit", f"must be between 1 and {LIMIT_MAX}")
    return limit


def created_range(query: Mapping[str, str]) -> tuple[int | None, int | None]:
    """Return the createdAfter and createdBefore parameters (epoch ms)."""
    return _int_param(query, "createdAfter"), _int_param(query, "createdBefore")


def in_range(value: int, after: int | None, before: int | None) -> bool:
    """createdAfter is inclusive, createdBefore exclusive (§10.17)."""
    return (after is None or value >= after) and (before is None or value < before)

"""Canonical forms every layer agrees on: JSON values and text, digests, UTC instants.

The bottom of the pure core (below `vendors` and `model`): identity is computed from these,
so there is exactly one definition of each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeAlias

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
JSONObject: TypeAlias = dict[str, JSON]


def canonical_json(value: JSON | Mapping[str, JSON]) -> str:
    """Serialise `value` canonically: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(text: str) -> str:
    """Return the SHA-256 hex digest of `text` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_instant(moment: datetime) -> str:
    """Format an aware datetime as a UTC RFC 3339 instant with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime; raise ValueError if it isn't."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return value.astimezone(UTC)

"""How the vendors write times and ids, shared by the vendor packages."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime


def instant(epoch: float) -> str:
    """Return `epoch` as an ISO 8601 UTC instant with milliseconds (`...T12:00:00.000Z`)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def uuid_of(text: str) -> str:
    """Return a version-4-shaped UUID drawn from `text` (the same text, the same id)."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    return (
        f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{'89ab'[int(digest[16], 16) % 4]}"
        f"{digest[17:20]}-{digest[20:32]}"
    )

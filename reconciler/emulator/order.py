"""The order list endpoints answer in: none of the vendors documents one (see docs/emulator.md).

`newest` is what each vendor page ASSUMES (created descending, ties by id); `oldest` is the
reverse (Bland's own list example); `shuffled` is a fixed pseudo-random order drawn from the
seed, stable from page to page, as an unsorted index would give.
"""

from __future__ import annotations

import hashlib

LIST_ORDERS = ("newest", "oldest", "shuffled")


def check_order(order: str) -> str:
    """Return `order`, or raise ValueError naming the orders there are."""
    if order not in LIST_ORDERS:
        raise ValueError(f"list order must be one of {', '.join(LIST_ORDERS)}, not {order!r}")
    return order


def position(order: str, seed: int, created: float, ident: str) -> tuple[float | str, str]:
    """Return an item's place in a list read front to back, for `oldest` and `shuffled`."""
    if order == "shuffled":
        return hashlib.sha256(f"{seed}:{ident}".encode()).hexdigest(), ident
    return created, ident

"""One vendor's live runs, sorted into what the planner's rules read. Pure.

The planner builds one `VendorRuns` per vendor from the live state (`plan._index`); the rules,
the mass-cancel guard and the notes read it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from reconciler.model import IdentityMode, LiveRun, NaturalKey, Ownership, Vendor


@dataclass(slots=True)
class VendorRuns:
    """One vendor's live runs, sorted into what the rules need."""

    vendor: Vendor
    mode: IdentityMode
    live: int = 0
    matched: int = 0  # unmanaged runs whose natural key a resource declares
    owned: dict[Ownership, int] = field(default_factory=lambda: dict.fromkeys(Ownership, 0))
    # managed runs by address, then by their spec-hash label (None when it is missing)
    by_address: dict[str, dict[str | None, list[LiveRun]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    by_key: dict[NaturalKey, list[LiveRun]] = field(default_factory=lambda: defaultdict(list))
    by_adopt_key: dict[str, list[LiveRun]] = field(default_factory=lambda: defaultdict(list))
    managed_ids: set[str] = field(default_factory=set)
    managed_active: int = 0

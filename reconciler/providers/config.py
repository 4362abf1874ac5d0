"""How to reach one vendor: a `ProviderConfig`, with every default in this one place.

reconciler.yaml's `providers.<vendor>` block becomes one through `from_block`; a provider
takes it whole. The per-vendor default pace is the vendor module's `REQUESTS_PER_SECOND`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model import Vendor
from reconciler.secret import Secret
from reconciler.vendors.registry import vendor_module

TIMEOUT_S = 30.0  # the whole request, retries' waits excluded (docs/apply.md)
MAX_RETRIES = 5
MAX_CONCURRENCY = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderConfig:
    """How to reach one vendor (`providers.<vendor>` in reconciler.yaml).

    Built directly (tests), `requests_per_second` defaults to no cap; `from_block` applies
    the vendor's default pace when the block does not say.
    """

    vendor: Vendor
    api_key: Secret | None = None
    base_url: str | None = None  # None: the vendor's public API; "emulator": the embedded one
    max_concurrency: int = MAX_CONCURRENCY
    requests_per_second: float | None = None
    timeout_s: float = TIMEOUT_S
    max_retries: int = MAX_RETRIES
    owner_user_id: str | None = None  # Arize: the user whose runs this workspace owns
    task_ids: tuple[str, ...] = ()  # Arize: tasks to list for prune
    space_id: str | None = None  # Arize: list every task of this space for prune

    @classmethod
    def from_block(cls, vendor: Vendor, block: Mapping[str, Any]) -> ProviderConfig:
        """Build the settings of `vendor` from its validated reconciler.yaml block."""
        key = block.get("api_key")
        return cls(
            vendor=vendor,
            api_key=Secret(key) if key else None,
            base_url=block.get("base_url"),
            max_concurrency=block.get("max_concurrency", MAX_CONCURRENCY),
            # Absent: the vendor's default pace; an explicit null: no cap at all.
            requests_per_second=block.get(
                "requests_per_second", vendor_module(vendor).REQUESTS_PER_SECOND
            ),
            timeout_s=float(block.get("timeout_s", TIMEOUT_S)),
            max_retries=block.get("max_retries", MAX_RETRIES),
            owner_user_id=block.get("owner_user_id"),
            task_ids=tuple(block.get("task_ids") or ()),
            space_id=block.get("space_id"),
        )

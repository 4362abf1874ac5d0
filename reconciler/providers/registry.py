"""One place that maps a vendor to the module that talks to it."""

from __future__ import annotations

from typing import Any, assert_never

import httpx

from reconciler.model import Vendor
from reconciler.providers.base import Provider
from reconciler.secret import Secret


def make_provider(
    vendor: Vendor,
    *,
    base_url: str | None,
    api_key: Secret,
    timeout_s: float = 30.0,
    max_retries: int = 5,
    max_concurrency: int = 8,
    requests_per_second: float | None = None,
    owner_user_id: str | None = None,
    task_ids: tuple[str, ...] = (),
    space_id: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Provider:
    """Return the provider of `vendor`, configured from reconciler.yaml's block."""
    common: dict[str, Any] = {
        "api_key": api_key,
        "base_url": base_url,
        "timeout_s": timeout_s,
        "max_retries": max_retries,
        "max_concurrency": max_concurrency,
        "requests_per_second": requests_per_second,
        "transport": transport,
    }
    match vendor:
        case Vendor.BLAND:
            from reconciler.providers.bland import BlandProvider

            return BlandProvider(**common)
        case Vendor.ADALINE:
            from reconciler.providers.adaline import AdalineProvider

            return AdalineProvider(**common)
        case Vendor.ARIZE:
            from reconciler.providers.arize import ArizeProvider

            return ArizeProvider(
                **common, owner_user_id=owner_user_id, task_ids=task_ids, space_id=space_id
            )
        case _:
            assert_never(vendor)


def emulator_base_url(vendor: Vendor, root: str) -> str:
    """Return where the emulator at `root` serves `vendor`'s API (Adaline's base ends in /v2)."""
    suffix = {Vendor.BLAND: "", Vendor.ADALINE: "/v2", Vendor.ARIZE: ""}[vendor]
    return root.rstrip("/") + suffix

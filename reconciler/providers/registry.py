"""One place that maps a vendor to the module that talks to it."""

from __future__ import annotations

import httpx

from reconciler.errors import ConfigError
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
    del owner_user_id, task_ids, space_id  # Arize settings (issue 4)
    match vendor:
        case Vendor.BLAND:
            from reconciler.providers.bland import BlandProvider

            return BlandProvider(
                api_key=api_key,
                base_url=base_url,
                timeout_s=timeout_s,
                max_retries=max_retries,
                max_concurrency=max_concurrency,
                requests_per_second=requests_per_second,
                transport=transport,
            )
        case Vendor.ADALINE | Vendor.ARIZE:
            raise ConfigError(
                f"providers.{vendor.value}: {vendor.display_name} is not supported yet; "
                "only Bland runs can be planned and applied in this version"
            )

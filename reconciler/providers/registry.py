"""The one map from a vendor to the factory of the provider that talks to it.

A factory takes the vendor's `ProviderConfig` whole and, for tests, a transport in place of
the network. Adding a vendor is one line in `FACTORIES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import httpx

from reconciler.model import Vendor
from reconciler.providers.adaline import AdalineProvider
from reconciler.providers.arize import ArizeProvider
from reconciler.providers.base import Provider
from reconciler.providers.bland import BlandProvider
from reconciler.providers.config import ProviderConfig
from reconciler.vendors.registry import vendor_module

Factory = Callable[[ProviderConfig, httpx.BaseTransport | None], Provider]

FACTORIES: Mapping[Vendor, Factory] = MappingProxyType(
    {
        Vendor.BLAND: lambda config, transport: BlandProvider(config, transport=transport),
        Vendor.ADALINE: lambda config, transport: AdalineProvider(config, transport=transport),
        Vendor.ARIZE: lambda config, transport: ArizeProvider(config, transport=transport),
    }
)


def make_provider(
    config: ProviderConfig, *, transport: httpx.BaseTransport | None = None
) -> Provider:
    """Return the provider of `config.vendor`, configured from reconciler.yaml's block."""
    return FACTORIES[config.vendor](config, transport)


def emulator_base_url(vendor: Vendor, root: str) -> str:
    """Return where the emulator at `root` serves `vendor`'s API (Adaline's base ends in /v2)."""
    return root.rstrip("/") + vendor_module(vendor).EMULATOR_SUFFIX

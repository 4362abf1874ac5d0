"""The one registry of vendors: a vendor's module is found here and nowhere else.

Adding a vendor is one line below (and its module, docs/architecture.md "Adding a vendor").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from reconciler.vendors import adaline, arize, bland
from reconciler.vendors.base import Kind, Vendor, VendorModule

VENDORS: Mapping[Vendor, VendorModule] = MappingProxyType(
    {
        Vendor.BLAND: bland,
        Vendor.ADALINE: adaline,
        Vendor.ARIZE: arize,
    }
)
BY_KIND: Mapping[Kind, VendorModule] = MappingProxyType({m.KIND: m for m in VENDORS.values()})


def vendor_module(vendor: Vendor) -> VendorModule:
    """Return the module that knows `vendor`."""
    return VENDORS[vendor]


def kind_module(kind: Kind) -> VendorModule:
    """Return the module of the vendor that runs resources of `kind`."""
    return BY_KIND[kind]

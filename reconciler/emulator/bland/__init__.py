"""Bland AI in the emulator: `/v1/evals` (catalogue, routes, store and lifecycle modules)."""

from __future__ import annotations

from reconciler.emulator.base import Vendor
from reconciler.emulator.bland.routes import PREFIX, BlandApi, org_of

VENDOR = Vendor(name="bland", mounts=(PREFIX,), build=BlandApi)

__all__ = ["PREFIX", "VENDOR", "BlandApi", "org_of"]

"""Adaline in the emulator: `/v2/prompts` and `/v2/datasets` (catalogue, routes, store...)."""

from __future__ import annotations

from reconciler.emulator.adaline.routes import DATASETS, PROMPTS, AdalineApi, workspace_of
from reconciler.emulator.base import Vendor

# Adaline shares /v2 with Arize: it owns only these two prefixes (the vendors' own clients
# are pointed at the emulator's root URL, Adaline's under /v2).
VENDOR = Vendor(name="adaline", mounts=(PROMPTS, DATASETS), build=AdalineApi)

__all__ = ["VENDOR", "AdalineApi", "workspace_of"]

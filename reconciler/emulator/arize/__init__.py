"""Arize AX in the emulator: `/v2/tasks`, `/v2/task-runs`, `/v2/experiments`.

Catalogue, routes, store, trigger and lifecycle are separate modules.
"""

from __future__ import annotations

from reconciler.emulator.arize.catalogue import CATALOGUE_TAG, global_id, user_id_of
from reconciler.emulator.arize.problems import problem
from reconciler.emulator.arize.routes import PREFIXES, ArizeApi
from reconciler.emulator.base import Vendor

VENDOR = Vendor(name="arize", mounts=PREFIXES, build=ArizeApi)

__all__ = ["CATALOGUE_TAG", "PREFIXES", "VENDOR", "ArizeApi", "global_id", "problem", "user_id_of"]

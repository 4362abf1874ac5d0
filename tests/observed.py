"""Runs as a provider reads them: a vendor's run object to `LiveRun` through its module.

The metrics and fields come from the vendor's own module (`reconciler/vendors/`), the same
functions the providers call at the border, so a test of gates or renderers sees exactly
what `status` and `plan` see.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.model import LiveRun, RunFields, RunPhase, Vendor
from reconciler.vendors.registry import vendor_module

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def observed(vendor: Vendor, obj: dict, **fields: Any) -> LiveRun:
    """Return `obj` (a vendor's run object) as the LiveRun its provider would return."""
    status = fields.pop("status", "COMPLETE")
    metrics = vendor_module(vendor).metrics(obj)
    values: dict[str, Any] = {
        "vendor": vendor,
        "run_id": "run-1",
        "status": status,
        "phase": RunPhase.from_status(status),
        "created_at": NOW,
        "cost_usd": metrics.cost_usd,
        "metrics": metrics,
        "fields": RunFields.of(obj),
    }
    return LiveRun(**(values | fields))

"""The one way reconciler writes an amount of US dollars, in every output.

Whole cents and above: two decimals with thousands separators (`$1,234.50`). Below one cent,
two significant digits, never rounded to `$0.00` and never in scientific notation (`$0.0042`,
`$0.000012`), since a plan of many cheap runs must not read as free. An estimate carries a
leading `~`; an amount nobody can tell is `cost unknown`, never `$0`. Plan text, the plan
comment, the status table, the status comment and JUnit all call these functions, so the same
amount reads the same everywhere (docs/status.md).
"""

from __future__ import annotations

import math

UNKNOWN = "cost unknown"


def usd(amount: float) -> str:
    """Format a known amount: `$0.42`, `$1,234.50`, `$0.0042`, `$0.00` only for zero."""
    sign = "-" if amount < 0 else ""
    size = abs(amount)
    if size == 0 or size >= 0.01 or not math.isfinite(size):
        return f"{sign}${size:,.2f}"
    decimals = 1 - math.floor(math.log10(size))  # two significant digits
    digits = f"{size:.{decimals}f}".rstrip("0")
    return f"{sign}${digits}"


def estimate(amount: float | None) -> str:
    """Format an estimate: `~$0.42`, or `cost unknown` when nobody can tell."""
    return UNKNOWN if amount is None else f"~{usd(amount)}"

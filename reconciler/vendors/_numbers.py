"""Reading numbers out of vendor run objects, the same way for every vendor module."""

from __future__ import annotations

import math
from collections.abc import Mapping

# The whole numbers 0..1000 as one float object each. Most metrics of most runs are counts
# and 0 % or 100 % rates: shared, they cost nothing per run instead of 24 bytes per value
# (100,000 live runs hold several each; docs/performance.md, memory).
_WHOLE = tuple(float(n) for n in range(1001))


def shared(value: float) -> float:
    """Return `value`, as the one shared float object when it is a whole number 0..1000."""
    if 0.0 <= value <= 1000.0 and value.is_integer() and math.copysign(1.0, value) > 0:
        return _WHOLE[int(value)]
    return value


def number(value: object) -> float | None:
    """Return a JSON number as a float; None for null, booleans and anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return shared(float(value))


def ratio(part: object, whole: object) -> float | None:
    """Return `part` as a percentage of `whole`; None when either is missing or whole <= 0."""
    p, w = number(part), number(whole)
    if p is None or w is None or w <= 0:
        return None
    return shared(100.0 * p / w)


def mapping(raw: Mapping[str, object], key: str) -> Mapping[str, object]:
    """Return the object at `key`, or an empty one when it is missing or not an object."""
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}

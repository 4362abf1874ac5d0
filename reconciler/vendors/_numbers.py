"""Reading numbers out of vendor run objects, the same way for every vendor module."""

from __future__ import annotations

from collections.abc import Mapping


def number(value: object) -> float | None:
    """Return a JSON number as a float; None for null, booleans and anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def ratio(part: object, whole: object) -> float | None:
    """Return `part` as a percentage of `whole`; None when either is missing or whole <= 0."""
    p, w = number(part), number(whole)
    if p is None or w is None or w <= 0:
        return None
    return 100.0 * p / w


def mapping(raw: Mapping[str, object], key: str) -> Mapping[str, object]:
    """Return the object at `key`, or an empty one when it is missing or not an object."""
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}

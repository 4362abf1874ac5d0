"""Score intervals for proportions: Wilson for one, Newcombe's hybrid for a difference of two.

Pure arithmetic on counts, no I/O and no dependency: the gates call it. Newcombe's hybrid score
interval is method 10 of Newcombe (1998), "Interval estimation for the difference between
independent proportions", Statistics in Medicine 17:873-890. It is built from the two Wilson
intervals, so it never leaves [-1, 1] and behaves at 0 and n.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def z_two_sided(confidence: float) -> float:
    """Return the normal quantile of a two-sided `confidence` interval (1.96 for 0.95)."""
    if not 0 < confidence < 1:
        raise ValueError("the confidence must lie between 0 and 1")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson(successes: float, n: float, z: float) -> tuple[float, float]:
    """Return the Wilson score interval of `successes` out of `n`, as proportions, for `z`."""
    if n <= 0:
        raise ValueError("the sample is empty")
    p = successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    low = (centre - spread) / denominator
    high = (centre + spread) / denominator
    return max(low, 0.0), min(high, 1.0)


def newcombe(x1: float, n1: float, x2: float, n2: float, confidence: float) -> tuple[float, float]:
    """Return the c-level hybrid score interval of p1 - p2 (x1/n1 minus x2/n2), as proportions.

    Method 10 of Newcombe (1998): with (l1, u1) and (l2, u2) the Wilson intervals of each
    proportion at the same level, the difference d = p1 - p2 lies between
    d - sqrt((p1 - l1)^2 + (u2 - p2)^2) and d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
    """
    z = z_two_sided(confidence)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high

"""Thresholds as gates: a run's normalised metrics against a manifest threshold, Wilson bounds.

Pure: a run (its metrics and fields, read once by its provider through the vendor's module)
and a threshold in, a verdict out. DESIGN.md "Thresholds" defines the metrics. A metric a
vendor cannot give, or a run that has not reported it yet, is "n/a": its gate is an error,
never a silent pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

from reconciler.exitcodes import ExitCode
from reconciler.model import LiveRun, Resource, Threshold
from reconciler.vendors.base import RATE_METRICS

# (The status result model lives here, below render/, so every renderer can draw it.)


class Verdict(StrEnum):
    """What one gate says."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the value is not available: n/a is never a pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """One threshold judged against one run."""

    threshold: Threshold
    verdict: Verdict
    value: float | str | bool | None  # what was measured (None: n/a)
    bound: float | None = None  # the Wilson bound compared instead of the value, if any
    sample_size: int | None = None
    detail: str = ""

    @property
    def name(self) -> str:
        """Return the gate's name as reports show it, e.g. `pass_rate_pct >= 80`."""
        t = self.threshold
        what = t.metric or t.path or "?"
        parts = []
        if t.min is not None:
            parts.append(f">= {t.min:g}")
        if t.max is not None:
            parts.append(f"<= {t.max:g}")
        if t.equals is not None or (t.min is None and t.max is None):
            parts.append(f"== {_show(t.equals)}")
        confidence = f" @ {t.confidence:g}" if t.confidence is not None else ""
        return f"{what} {' and '.join(parts)}{confidence}"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def wilson_bounds(successes: float, n: float, confidence: float) -> tuple[float, float]:
    """Return the Wilson score interval (in %) for `successes` out of `n`, one-sided `confidence`.

    Each bound alone holds with probability `confidence` (z = the normal quantile of it): the
    lower one for a `min` gate, the upper one for a `max` gate.
    """
    if n <= 0:
        raise ValueError("the sample is empty")
    z = NormalDist().inv_cdf(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - spread) / denominator, 100 * (centre + spread) / denominator


def evaluate(threshold: Threshold, run: LiveRun) -> GateResult:
    """Judge one threshold against one run, read by its provider (metrics and fields)."""
    if threshold.path is not None:
        value = run.fields.get(threshold.path)
        if value is None:
            return GateResult(
                threshold=threshold,
                verdict=Verdict.ERROR,
                value=None,
                detail=f"the run has no value at `{threshold.path}` (n/a)",
            )
        return _compare(threshold, value, None, None)
    metric = threshold.metric or ""
    try:
        value = run.metrics.value(metric)
    except KeyError:
        return GateResult(
            threshold=threshold,
            verdict=Verdict.ERROR,
            value=None,
            detail=f"unknown metric {metric}",
        )
    n = run.metrics.sample_size
    if value is None:
        return GateResult(
            threshold=threshold,
            verdict=Verdict.ERROR,
            value=None,
            detail=f"{run.vendor.display_name} cannot give {metric} for this run (n/a)",
        )
    if threshold.confidence is not None and metric in RATE_METRICS:
        if not n:
            return GateResult(
                threshold=threshold,
                verdict=Verdict.ERROR,
                value=value,
                detail="no sample to bound (n/a)",
            )
        low, high = wilson_bounds(value / 100 * n, n, threshold.confidence)
        return _compare(threshold, value, (low, high), int(n))
    return _compare(threshold, value, None, int(n) if n else None)


def _compare(
    threshold: Threshold,
    value: float | str | bool,
    bounds: tuple[float, float] | None,
    n: int | None,
) -> GateResult:
    failures: list[str] = []
    bound: float | None = None
    if threshold.equals is not None and value != threshold.equals:
        failures.append(f"{_show(value)} is not {_show(threshold.equals)}")
    number = _number(value)
    if threshold.min is not None:
        bound = bounds[0] if bounds else None
        measured = bound if bound is not None else number
        if measured is None or measured < threshold.min:
            failures.append(f"{_measure(value, bound)} is below {threshold.min:g}")
    if threshold.max is not None:
        upper = bounds[1] if bounds else None
        bound = upper if upper is not None else bound
        measured = upper if upper is not None else number
        if measured is None or measured > threshold.max:
            failures.append(f"{_measure(value, upper)} is above {threshold.max:g}")
    return GateResult(
        threshold=threshold,
        verdict=Verdict.FAILED if failures else Verdict.PASSED,
        value=value,
        bound=bound,
        sample_size=n,
        detail="; ".join(failures),
    )


def _measure(value: object, bound: float | None) -> str:
    if bound is None:
        return _show(value)
    return f"{_show(value)} (Wilson bound {bound:.2f})"


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Outcome(StrEnum):
    """Where one resource stands."""

    PASSED = "passed"  # finished well, every gate passed
    FAILED = "failed"  # a gate failed, or the run failed or was cancelled
    ERROR = "error"  # no run, or a gate could not be judged (n/a)
    RUNNING = "running"  # still active


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceStatus:
    """One resource, its current run, and each of its gates."""

    resource: Resource
    run: LiveRun | None
    outcome: Outcome
    gates: tuple[GateResult, ...] = ()
    detail: str = ""
    estimate_usd: float | None = None  # what a run of this spec is estimated to cost

    @property
    def cost_usd(self) -> float | None:
        """Return what the run has cost, when the vendor says."""
        return self.run.cost_usd if self.run is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusResult:
    """Every resource's status, sorted by address, and how long it took."""

    workspace: str
    resources: tuple[ResourceStatus, ...]
    elapsed_s: float = 0.0
    timed_out: bool = False

    def count(self, outcome: Outcome) -> int:
        """Count the resources with `outcome`."""
        return sum(1 for r in self.resources if r.outcome is outcome)

    @property
    def exit_code(self) -> ExitCode:
        """Return the exit code: error over timeout over failed gates over passed."""
        if self.count(Outcome.ERROR):
            return ExitCode.ERROR
        if self.count(Outcome.RUNNING):
            return ExitCode.TIMED_OUT
        if self.count(Outcome.FAILED):
            return ExitCode.GATE_FAILED
        return ExitCode.OK

    @property
    def summary(self) -> str:
        """Return the one-line summary."""
        parts = [f"{self.count(o)} {o.value}" for o in Outcome if self.count(o)]
        head = "Status" + (" (timed out)" if self.timed_out else "")
        return f"{head}: {len(self.resources)} resource(s): {', '.join(parts) or 'none'}."

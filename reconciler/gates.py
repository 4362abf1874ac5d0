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
from reconciler.stats import newcombe
from reconciler.vendors.base import DIRECTIONS, RATE_METRICS

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
    regression: Regression | None = None  # set for a gate with a baseline

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
        for key, word in _BOUND_WORDS:
            limit = getattr(t, key)
            if limit is not None:
                unit = "%" if key.endswith("_pct") else ""
                parts.append(f"{word} <= {limit:g}{unit} vs {t.baseline}")
        if t.equals is not None or (t.min is None and t.max is None and t.baseline is None):
            parts.append(f"== {_show(t.equals)}")
        confidence = f" @ {t.confidence:g}" if t.confidence is not None else ""
        return f"{what} {' and '.join(parts)}{confidence}"


_BOUND_WORDS = (
    ("max_drop", "drop"),
    ("max_drop_pct", "drop"),
    ("max_rise", "rise"),
    ("max_rise_pct", "rise"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Regression:
    """What a regression gate compared: the baseline run and value, the change, its interval."""

    baseline: str  # "previous" or the address named
    run_id: str | None = None  # None: the baseline has no run yet
    value: float | None = None
    change: float | None = None  # current minus baseline, in the metric's points
    interval: tuple[float, float] | None = None  # Newcombe interval of the change, in points
    confidence: float | None = None
    note: str = ""


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


def evaluate(threshold: Threshold, run: LiveRun, baseline: LiveRun | None = None) -> GateResult:
    """Judge one threshold against one run, read by its provider (metrics and fields).

    `baseline` is the run a regression gate compares with (None: it has none yet).
    """
    if threshold.baseline is not None:
        return _regression(threshold, run, baseline)
    return _absolute(threshold, run)


def _absolute(threshold: Threshold, run: LiveRun) -> GateResult:
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


def _regression(threshold: Threshold, run: LiveRun, baseline: LiveRun | None) -> GateResult:
    """Judge a regression gate (and any absolute bound beside it) against its baseline."""
    name = threshold.baseline or ""
    metric = threshold.metric or ""
    has_absolute = any(x is not None for x in (threshold.min, threshold.max, threshold.equals))
    absolute = _absolute(threshold, run) if has_absolute else None
    if absolute is not None and absolute.verdict is Verdict.ERROR:
        return absolute
    value = run.metrics.value(metric)
    if value is None:
        what = f"{run.vendor.display_name} cannot give {metric} for this run (n/a)"
        return GateResult(threshold=threshold, verdict=Verdict.ERROR, value=None, detail=what)
    failures = [absolute.detail] if absolute is not None and absolute.detail else []
    if baseline is None:
        fails = threshold.fail_on_missing_baseline
        note = f"no baseline yet ({name}): on_missing_baseline is {'fail' if fails else 'pass'}"
        if fails:
            failures.append(note)
        return GateResult(
            threshold=threshold,
            verdict=Verdict.FAILED if failures else Verdict.PASSED,
            value=value,
            detail="; ".join(failures),
            regression=Regression(baseline=name, note=note),
        )
    base = baseline.metrics.value(metric)
    if base is None:
        what = f"the baseline run {baseline.run_id} has no {metric} (n/a)"
        return GateResult(threshold=threshold, verdict=Verdict.ERROR, value=value, detail=what)
    direction = DIRECTIONS[metric]
    change = value - base
    interval: tuple[float, float] | None = None
    n = run.metrics.sample_size
    if threshold.confidence is not None and metric in RATE_METRICS:
        n0 = baseline.metrics.sample_size
        if not n or not n0:
            what = "no sample to bound the change (n/a)"
            return GateResult(threshold=threshold, verdict=Verdict.ERROR, value=value, detail=what)
        low, high = newcombe(value / 100 * n, n, base / 100 * n0, n0, threshold.confidence)
        interval = (100 * low, 100 * high)
    # The change in the bad direction, positive when worse: the interval's far end if any.
    if interval is not None:
        worse = -interval[0] if direction > 0 else interval[1]
    else:
        worse = -change if direction > 0 else change
    word = "drop" if direction > 0 else "rise"
    shown = "the interval's far end" if interval is not None else "the change"
    for key, _ in _BOUND_WORDS:
        limit: float | None = getattr(threshold, key)
        if limit is None:
            continue
        allowed = limit / 100 * abs(base) if key.endswith("_pct") else limit
        unit = f"{limit:g}% of {_show(base)}" if key.endswith("_pct") else f"{limit:g}"
        if worse > allowed + 1e-12:
            failures.append(f"a {word} of {worse:.4g} ({shown}) is more than {unit}")
    return GateResult(
        threshold=threshold,
        verdict=Verdict.FAILED if failures else Verdict.PASSED,
        value=value,
        sample_size=int(n) if n else None,
        detail="; ".join(failures),
        regression=Regression(
            baseline=name,
            run_id=baseline.run_id,
            value=base,
            change=change,
            interval=interval,
            confidence=threshold.confidence if interval is not None else None,
        ),
    )


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
    # The last finished runs of its history up to the current one, oldest first, for trends.
    trend: tuple[LiveRun, ...] = ()

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

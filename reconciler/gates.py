"""Thresholds as gates: normalised metrics from each vendor's run object, Wilson bounds.

Pure: a vendor's run object (as its API returns it) and a manifest threshold in, a verdict
out. DESIGN.md "Thresholds" defines the metrics. A metric a vendor cannot give, or a run
that has not reported it yet, is "n/a": its gate is an error, never a silent pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import Any

from reconciler.exitcodes import ExitCode
from reconciler.model import LiveRun, Resource, Threshold, Vendor

RATE_METRICS = ("pass_rate_pct", "error_rate_pct")

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


def _ratio(part: object, whole: object) -> float | None:
    p, w = _number(part), _number(whole)
    if p is None or w is None or w <= 0:
        return None
    return 100.0 * p / w


def _mapping(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


def _get(raw: Mapping[str, Any], dotted: str) -> Any:
    value: Any = raw
    for key in dotted.split("."):
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def metrics_of(vendor: Vendor, raw: Mapping[str, Any]) -> dict[str, float | None]:
    """Return the normalised metrics of one run object; None where it cannot say (yet)."""
    match vendor:
        case Vendor.BLAND:
            summary = _mapping(raw, "summary")
            if not summary:
                return dict.fromkeys(
                    (
                        "pass_rate_pct",
                        "score_mean",
                        "error_rate_pct",
                        "failed_count",
                        "sample_size",
                    ),
                    None,
                ) | {"cost_usd": _number(raw.get("billable_cost_usd"))}
            # Atoms scored: completed evaluations minus those that found too little evidence
            # and those of calls that failed (a failed call fails each of its judges' atoms).
            completed = _number(raw.get("completed_atom_count")) or 0.0
            agents = _number(raw.get("resolved_agent_count")) or 0.0
            failed_calls = _number(summary.get("failed_call_count")) or 0.0
            insufficient = _number(summary.get("insufficient_evidence_count")) or 0.0
            scored = max(completed - insufficient - failed_calls * agents, 0.0)
            return {
                "pass_rate_pct": _ratio(summary.get("target_match_count"), scored),
                "score_mean": _number(summary.get("overall_score_mean")),
                "error_rate_pct": _ratio(
                    summary.get("failed_call_count"), raw.get("resolved_call_count")
                ),
                "failed_count": _number(summary.get("failed_call_count")),
                "cost_usd": _number(raw.get("billable_cost_usd")),
                "sample_size": scored if scored else None,
            }
        case Vendor.ADALINE:
            metrics = _mapping(raw, "metrics")
            progress = _mapping(raw, "progress")
            counts = [_number(metrics.get(k)) for k in ("passRuns", "failRuns", "unknownRuns")]
            judged = sum(c or 0.0 for c in counts) if any(c is not None for c in counts) else None
            return {
                "pass_rate_pct": _ratio(metrics.get("passRuns"), judged),
                "score_mean": None,
                "error_rate_pct": _ratio(progress.get("failedRows"), progress.get("totalRows")),
                "failed_count": _number(progress.get("failedRows")),
                "cost_usd": _number(metrics.get("totalCost")),
                "sample_size": judged if judged else None,
            }
        case Vendor.ARIZE:
            successes, errors = _number(raw.get("num_successes")), _number(raw.get("num_errors"))
            total = (successes or 0.0) + (errors or 0.0)
            return {
                "pass_rate_pct": None,
                "score_mean": None,
                "error_rate_pct": _ratio(errors, total),
                "failed_count": errors,
                "cost_usd": None,
                "sample_size": total if total else None,
            }


def progress_of(vendor: Vendor, raw: Mapping[str, Any]) -> tuple[int, int | None]:
    """Return (items done, items in all or None): Bland atoms, Adaline rows, Arize items."""
    match vendor:
        case Vendor.BLAND:
            done = _number(raw.get("completed_atom_count"))
            total = _number(raw.get("resolved_atom_count"))
        case Vendor.ADALINE:
            progress = _mapping(raw, "progress")
            rows = [_number(progress.get(k)) for k in ("completedRows", "failedRows")]
            done = sum(r or 0.0 for r in rows)
            total = _number(progress.get("totalRows"))
        case Vendor.ARIZE:
            counts = [_number(raw.get(k)) for k in ("num_successes", "num_errors", "num_skipped")]
            done, total = sum(c or 0.0 for c in counts), None  # Arize gives no total up front
    return int(done or 0), int(total) if total is not None else None


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


def evaluate(threshold: Threshold, vendor: Vendor, raw: Mapping[str, Any]) -> GateResult:
    """Judge one threshold against one run object."""
    if threshold.path is not None:
        value = _get(raw, threshold.path)
        if value is None:
            return GateResult(
                threshold=threshold,
                verdict=Verdict.ERROR,
                value=None,
                detail=f"the run has no value at `{threshold.path}` (n/a)",
            )
        return _compare(threshold, value, None, None)
    metric = threshold.metric or ""
    metrics = metrics_of(vendor, raw)
    if metric not in metrics:
        return GateResult(
            threshold=threshold,
            verdict=Verdict.ERROR,
            value=None,
            detail=f"unknown metric {metric}",
        )
    value = metrics[metric]
    n = metrics["sample_size"]
    if value is None:
        return GateResult(
            threshold=threshold,
            verdict=Verdict.ERROR,
            value=None,
            detail=f"{vendor.display_name} cannot give {metric} for this run (n/a)",
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

"""Plain values with no dependency, re-exported by `reconciler.model` for every layer.

What a manifest document declares besides its spec (thresholds, stage gates, its place), and
whose a live run is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StageGate(StrEnum):
    """What a stage waits for in the resource before it (`lifecycle.after[].gates`)."""

    PASS = "pass"  # the run finished well and every threshold passed
    FINISH = "finish"  # the run finished well, whatever its thresholds say


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """One gate on a run's result; exactly one of metric or path is set."""

    metric: str | None = None
    path: str | None = None
    min: float | None = None
    max: float | None = None
    equals: str | int | float | bool | None = None
    confidence: float | None = None
    # A regression gate: the change against a baseline, bounded in the bad direction.
    baseline: str | None = None  # "previous", or the address of another declared resource
    max_drop: float | None = None  # points
    max_rise: float | None = None
    max_drop_pct: float | None = None  # percent of the baseline value
    max_rise_pct: float | None = None
    fail_on_missing_baseline: bool = False  # `on_missing_baseline: fail`

    @property
    def is_regression(self) -> bool:
        """Tell whether this threshold compares with a baseline."""
        return self.baseline is not None


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class SourceLocation:
    """Where a document starts: the manifest file and line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class Ownership(StrEnum):
    """Whose a live run is, as far as this workspace can prove (DESIGN.md rule 6)."""

    MANAGED = "managed"  # this workspace's: its labels, or its configured owner created it
    FOREIGN = "foreign"  # another workspace's labels, or another user created it
    UNMANAGED = "unmanaged"  # no reconciler ownership at all

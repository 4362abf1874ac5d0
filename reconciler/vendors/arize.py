"""Arize AX task runs: what reconciler knows about Arize without calling it.

A task run carries no labels; its natural key is the task and data window, or the task and
experiment name. A window is at most 30 days. See shared/providers/arize.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from reconciler.canonical import JSON, format_instant, parse_instant
from reconciler.vendors._numbers import number, ratio, shared
from reconciler.vendors.base import IdentityMode, Kind, NaturalKey, RuleProblem, RunMetrics, Vendor

VENDOR = Vendor.ARIZE
KIND = Kind.ARIZE_TASK_RUN
DISPLAY_NAME = "Arize"
IDENTITY = IdentityMode.NATURAL_KEY
HISTORY_BY_CONTAINER = True  # every window and experiment of the task
SCHEMA_FILE = "arize-task-run.schema.json"
# The default cap (its published limit; None: none published) and why (docs/apply.md;
# reconciler.yaml's schema says it too). Under it the pace adapts to 429s.
REQUESTS_PER_SECOND: float | None = None
PACE_NOTE = "Arize publishes no REST limit, so no cap: the pace adapts to its 429s and Retry-After"
EMULATOR_SUFFIX = ""
MAX_WINDOW = timedelta(days=30)


def window_key(*, task_id: str, start: datetime, end: datetime) -> NaturalKey:
    """Key an evaluation-task run: task and data window (UTC, milliseconds)."""
    return NaturalKey(
        KIND,
        (
            ("task_id", task_id),
            ("data_start_time", format_instant(start)),
            ("data_end_time", format_instant(end)),
        ),
    )


def experiment_key(*, task_id: str, experiment_name: str) -> NaturalKey:
    """Key a RUN_EXPERIMENT run: task and experiment name."""
    return NaturalKey(KIND, (("task_id", task_id), ("experiment_name", experiment_name)))


def natural_key(spec: Mapping[str, JSON]) -> NaturalKey | None:
    """Return the key a spec declares; raise ValueError when a part is missing or wrong."""
    task_id = _text(spec, "task_id")
    if "experiment_name" in spec:
        return experiment_key(task_id=task_id, experiment_name=_text(spec, "experiment_name"))
    return window_key(
        task_id=task_id,
        start=parse_instant(_text(spec, "data_start_time")),
        end=parse_instant(_text(spec, "data_end_time")),
    )


def adopt_key(spec: Mapping[str, JSON]) -> str | None:
    """Return None: the natural key already matches unlabelled runs."""
    del spec
    return None


def metrics(run: Mapping[str, object]) -> RunMetrics:
    """Read a task run's error rate and item counts; Arize gives no pass rate, cost or total."""
    successes, errors = number(run.get("num_successes")), number(run.get("num_errors"))
    total = (successes or 0.0) + (errors or 0.0)
    counts = [number(run.get(k)) for k in ("num_successes", "num_errors", "num_skipped")]
    return RunMetrics(
        error_rate_pct=ratio(errors, total),
        failed_count=errors,
        sample_size=shared(total) if total else None,
        items_done=int(sum(c or 0.0 for c in counts)),
    )


def manifest_rules(spec: Mapping[str, JSON]) -> list[RuleProblem]:
    """Check the data window: it ends after it starts and spans at most 30 days.

    A time that is not an RFC 3339 instant is the manifest's own problem (reported there).
    """
    start_text, end_text = spec.get("data_start_time"), spec.get("data_end_time")
    if not isinstance(start_text, str) or not isinstance(end_text, str):
        return []
    try:
        start, end = parse_instant(start_text), parse_instant(end_text)
    except (ValueError, OverflowError):
        return []
    path: tuple[str | int, ...] = ("spec", "data_end_time")
    if end <= start:
        return [
            RuleProblem(
                path=path,
                message="the window ends before it starts",
                fix="Make data_end_time later than data_start_time",
            )
        ]
    if end - start > MAX_WINDOW:
        return [
            RuleProblem(
                path=path,
                message="the window is longer than Arize's 30 days",
                fix="Split it into windows of at most 30 days",
            )
        ]
    return []


def _text(spec: Mapping[str, JSON], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str):
        raise ValueError(f"spec.{name} must be a string")
    return value

"""How an Arize task run lives: its fate drawn from the seed, and what it shows at a moment.

Like Bland's, a run's status, counts, timestamps and experiment are computed when read, from
the run's age (the emulator's clock times `time_scale`) and a random stream seeded by the
emulator seed and the run id: the same seed gives the same outcomes, and a run read twice at
the same moment reads the same.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATUSES = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
ACTIVE = ("PENDING", "RUNNING")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
USER_CANCEL_REASON = "Cancelled by user"
NOTHING_TO_LABEL_REASON = (
    "No new data to evaluate: every matching span already has labels from this task."
    " Trigger the task again with override_evaluations set to true to re-evaluate them."
)
EVALUATION_FAILURE_REASON = "Evaluator LLM call failed: provider returned HTTP 500 after 3 retries"
EXPERIMENT_FAILURE_REASON = "Experiment failed: the LLM generation step errored on every example"


@dataclass(frozen=True, slots=True)
class Timeline:
    """A run's fate, drawn once from the seed: phase lengths (emulated s), outcome, counts."""

    pending_s: float
    running_s: float
    outcome: str  # COMPLETED | FAILED | CANCELLED (the server's "nothing to label")
    stop_fraction: float  # share of RUNNING done when the outcome happens (FAILED: < 1)
    successes: int
    errors: int
    skipped: int
    failure_reason: str | None


def draw_timeline(seed: int, run_id: str, request: Mapping[str, Any]) -> Timeline:
    """Draw a run's fate from the seed and its id."""
    rng = random.Random(f"arize:{seed}:{run_id}")
    draw = rng.random()
    pending_s = rng.uniform(2, 8)
    if request["kind"] == "experiment":
        items = int(request["example_count"])
        if draw < 0.08:
            outcome, reason, fraction = "FAILED", EXPERIMENT_FAILURE_REASON, rng.uniform(0.1, 0.9)
        else:
            outcome, reason, fraction = "COMPLETED", None, 1.0
        errors = round(items * rng.uniform(0, 0.05))
        return Timeline(
            pending_s=pending_s,
            running_s=15 + items * rng.uniform(0.2, 0.5),
            outcome=outcome,
            stop_fraction=fraction,
            successes=items - errors,
            errors=errors,
            skipped=0,
            failure_reason=reason,
        )
    items = min(int(request["max_spans"]), rng.randint(40, 2500))
    if draw < 0.06:
        outcome, reason, fraction = "FAILED", EVALUATION_FAILURE_REASON, rng.uniform(0.1, 0.9)
    elif draw < 0.14 and not request["override_evaluations"]:
        return Timeline(
            pending_s, rng.uniform(1, 3), "CANCELLED", 1.0, 0, 0, 0, NOTHING_TO_LABEL_REASON
        )
    else:
        outcome, reason, fraction = "COMPLETED", None, 1.0
    errors = round(items * rng.uniform(0, 0.03))
    skipped = round(items * rng.uniform(0, 0.06))
    return Timeline(
        pending_s=pending_s,
        running_s=10 + items * rng.uniform(0.01, 0.03),
        outcome=outcome,
        stop_fraction=fraction,
        successes=items - errors - skipped,
        errors=errors,
        skipped=skipped,
        failure_reason=reason,
    )


class Lifecycle:
    """Computes runs' views at a moment, drawing (and keeping) each run's fate."""

    def __init__(self, *, seed: int, time_scale: float) -> None:
        self._seed = seed
        self._time_scale = time_scale
        self._timelines: dict[str, Timeline] = {}

    def view(self, row: sqlite3.Row, now: float) -> dict[str, Any]:
        """Compute a run's status, counts, times, reason and experiment at `now`."""
        request = json.loads(row["request"])
        timeline = self._timelines.get(row["id"])
        if timeline is None:
            timeline = self._timelines[row["id"]] = draw_timeline(self._seed, row["id"], request)
        created: float = row["created"]
        cancelled: float | None = row["cancelled"]
        scale = self._time_scale
        age = (now - created) * scale
        stop_age = (cancelled - created) * scale if cancelled is not None else None
        at = min(age, stop_age) if stop_age is not None else age
        run_start = timeline.pending_s
        end = run_start + timeline.running_s * timeline.stop_fraction
        if stop_age is not None and stop_age < end:
            status = "CANCELLED"
        elif at >= end:
            status = timeline.outcome
        elif at >= run_start:
            status = "RUNNING"
        else:
            status = "PENDING"
        share = 0.0
        if at >= run_start:
            share = min((min(at, end) - run_start) / timeline.running_s, 1.0)
        if status == "COMPLETED":
            share = 1.0
        counts = {
            "num_successes": int(timeline.successes * share),
            "num_errors": int(timeline.errors * share),
            "num_skipped": int(timeline.skipped * share),
        }
        started = created + run_start / scale if at >= run_start else None
        finished: float | None = None
        reason: str | None = None
        if status == "CANCELLED" and stop_age is not None and stop_age < end:
            finished, reason = cancelled, USER_CANCEL_REASON
        elif status in TERMINAL:
            finished, reason = created + end / scale, timeline.failure_reason
        return {
            "status": status,
            "started": started,
            "finished": finished,
            "failure_reason": reason,
            "experiment": request["kind"] == "experiment",
            **counts,
        }

"""How an Adaline run lives: its fate drawn from the seed, and its place on the schedule.

Runs are stored once, at creation (and stamped once more when cancelled). Their status,
progress, metrics and results are computed when read: each run's fate (dispatch delay, row
times, outcome, per-row grades) is drawn from a random stream seeded by the emulator seed and
the run id, and a workspace's runs share at most five running slots, handed out first come
first served by a schedule computed from the stored runs alone. So the same seed and the same
clock give the same runs, and a run read twice at the same moment reads the same.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.adaline.store import AdalineStore

MAX_RUNNING = 5  # running evaluations per workspace (adaline.md §6, §10.25)
FAIL_SHARE = 0.1  # share of runs (with rows) that end `failed`
ROW_FAIL_SHARE = 0.04  # share of rows that fail (`failedRows`, graded `unknown` in results)
USD_PER_TOKEN = 0.0000025


def ms(epoch: float) -> int:
    """Return epoch seconds as epoch milliseconds, as Adaline's timestamps are."""
    return math.floor(epoch * 1000)


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What happens to one dataset row in one run."""

    failed: bool
    grade: str
    score: float
    reason: str
    cost: float
    latency: int
    tokens: int


@dataclass(frozen=True, slots=True)
class Fate:
    """A run's fate, drawn once from the seed; times in emulated seconds."""

    dispatch_s: float  # from submission until it may take a slot
    setup_s: float  # from start until the first row begins
    row_s: float  # per row
    fail_after: int | None  # rows processed before the run fails; None: it completes
    rows: tuple[RowOutcome, ...]


_REASONS = {
    "pass": "The response matches the expected answer.",
    "fail": "The response contradicts the expected answer.",
    "unknown": "The judge could not decide from the response.",
}
FAILED_ROW_REASON = "The prompt call for this row failed; no grade was given."


def _fate(seed: int, run_id: str, total_rows: int) -> Fate:
    rng = random.Random(f"adaline:{seed}:{run_id}")
    dispatch_s = rng.uniform(1, 4)
    setup_s = rng.uniform(1, 3)
    row_s = rng.uniform(0.5, 2.0)
    fail_after = None
    if total_rows and rng.random() < FAIL_SHARE:
        fail_after = rng.randrange(total_rows)
    rows = []
    for _ in range(total_rows):
        if rng.random() < ROW_FAIL_SHARE:
            latency = rng.randint(1000, 5000)
            rows.append(RowOutcome(True, "unknown", 0.0, FAILED_ROW_REASON, 0.0, latency, 0))
            continue
        draw = rng.random()
        grade = "pass" if draw < 0.75 else "fail" if draw < 0.95 else "unknown"
        low, high = {"pass": (0.7, 1.0), "fail": (0.0, 0.5), "unknown": (0.4, 0.6)}[grade]
        tokens = rng.randint(300, 1500)
        rows.append(
            RowOutcome(
                failed=False,
                grade=grade,
                score=round(rng.uniform(low, high), 3),
                reason=_REASONS[grade],
                cost=round(tokens * USD_PER_TOKEN, 6),
                latency=rng.randint(400, 4000),
                tokens=tokens,
            )
        )
    return Fate(dispatch_s, setup_s, row_s, fail_after, tuple(rows))


@dataclass(frozen=True, slots=True)
class Slot:
    """Where the schedule put a run; times are clock seconds."""

    start: float | None  # None: cancelled while queued, never started
    rows_from: float  # when row 0 begins
    row_s: float  # seconds per row on the clock
    finish: float  # when it reaches its terminal status
    final: str  # completed | failed | cancelled
    processed: int  # rows processed (completed + failed) at the end
    cancelled: float | None

    def status(self, now: float) -> str:
        """Return the run's status at `now`."""
        if self.start is None:
            return "queued" if now < self.finish else self.final
        if now < self.start:
            return "queued"
        if now < self.finish:
            if self.cancelled is not None and now >= self.cancelled:
                return "cancelling"
            return "running"
        return self.final

    def processed_at(self, now: float) -> int:
        """Return how many rows are processed at `now`."""
        if self.start is None or now < self.rows_from:
            return 0
        if now >= self.finish:
            return self.processed
        if self.row_s <= 0:
            return self.processed
        return min(self.processed, math.floor((now - self.rows_from) / self.row_s))


def _slot(fate: Fate, start: float | None, cancelled: float | None, scale: float) -> Slot:
    """Place a run that starts at `start` (or never, when None) and may be cancelled."""
    row_s = fate.row_s / scale
    if start is None:
        assert cancelled is not None
        return Slot(None, 0.0, row_s, cancelled, "cancelled", 0, cancelled)
    rows_from = start + fate.setup_s / scale
    total = len(fate.rows)
    if fate.fail_after is None:
        limit, finish, final = total, rows_from + total * row_s, "completed"
    else:
        limit = fate.fail_after
        finish, final = rows_from + (limit + 0.5) * row_s, "failed"
    if cancelled is None or cancelled >= finish:
        return Slot(start, rows_from, row_s, finish, final, limit, None)
    # Cancelled while running: the row in flight finishes, no new row starts (§10.10).
    if cancelled < rows_from:
        return Slot(start, rows_from, row_s, cancelled, "cancelled", 0, cancelled)
    in_flight = math.floor((cancelled - rows_from) / row_s)
    if in_flight < limit:
        processed = in_flight + 1
        drain = max(rows_from + processed * row_s, cancelled)
    else:
        processed, drain = limit, cancelled
    return Slot(start, rows_from, row_s, drain, "cancelled", processed, cancelled)


class Schedule:
    """Each run's fate and each workspace's schedule, cached until the workspace's runs change."""

    def __init__(
        self, store: AdalineStore, lock: threading.Lock, *, seed: int, time_scale: float
    ) -> None:
        self._store = store
        self._lock = lock
        self._seed = seed
        self._time_scale = time_scale
        self._fates: dict[str, Fate] = {}
        self._schedules: dict[str, tuple[tuple[Any, ...], dict[str, Slot]]] = {}

    def fate(self, run_id: str, total_rows: int) -> Fate:
        """Return a run's fate, drawn once."""
        fate = self._fates.get(run_id)
        if fate is None:
            fate = self._fates[run_id] = _fate(self._seed, run_id, total_rows)
        return fate

    def slots(self, workspace: str) -> dict[str, Slot]:
        """Place every run of a workspace on its five slots, first come first served (§10.25)."""
        version, rows = self._store.schedule_rows(workspace, unless=self._cached_version(workspace))
        if rows is None:
            return self._schedules[workspace][1]
        free = [0.0] * MAX_RUNNING  # when each slot frees, as a heap
        slots: dict[str, Slot] = {}
        for row in rows:
            fate = self.fate(row["id"], row["total_rows"])
            cancelled = row["cancelled"]
            earliest = heapq.heappop(free)
            start = max(row["submitted"] + fate.dispatch_s / self._time_scale, earliest)
            if cancelled is not None and cancelled < start:  # cancelled while queued
                heapq.heappush(free, earliest)
                slots[row["id"]] = _slot(fate, None, cancelled, self._time_scale)
                continue
            slot = _slot(fate, start, cancelled, self._time_scale)
            heapq.heappush(free, slot.finish)
            slots[row["id"]] = slot
        with self._lock:
            self._schedules[workspace] = (version, slots)
        return slots

    def _cached_version(self, workspace: str) -> tuple[Any, ...] | None:
        cached = self._schedules.get(workspace)
        return cached[0] if cached is not None else None

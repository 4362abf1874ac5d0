"""Arize's task runs in the emulator's SQLite database: one row per run, written at trigger.

A trigger checks and inserts under one hold of the shared lock (the window's start reads the
task's last run; an experiment's name must be free), so the `*_locked` methods expect the
caller to hold `store.lock`; the others take it themselves.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS arize_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    task_id TEXT NOT NULL,
    created REAL NOT NULL,
    cancelled REAL,
    user_id TEXT,
    data_start_ms INTEGER,
    data_end_ms INTEGER,
    dataset_id TEXT,
    experiment_name TEXT,
    request TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS arize_runs_order ON arize_runs (task_id, created DESC, id DESC);
CREATE INDEX IF NOT EXISTS arize_runs_experiments ON arize_runs (dataset_id, experiment_name);
"""


class ArizeStore:
    """Reads and writes of `arize_runs`."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self.lock = lock
        with lock:
            db.executescript(SCHEMA)

    def insert_locked(
        self,
        *,
        make_id: Callable[[int], str],
        task_id: str,
        created: float,
        user_id: str | None,
        window_ms: tuple[int | None, int | None],
        experiment: tuple[str, str] | None,
        request: Mapping[str, Any],
        commit: bool = True,
    ) -> str:
        """Store one run; `make_id(seq)` names it and `experiment` is (dataset id, name)."""
        (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM arize_runs").fetchone()
        run_id = make_id(seq)
        dataset_id, name = experiment if experiment is not None else (None, None)
        self._db.execute(
            "INSERT INTO arize_runs (seq, id, task_id, created, user_id, data_start_ms,"
            " data_end_ms, dataset_id, experiment_name, request)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                run_id,
                task_id,
                created,
                user_id,
                *window_ms,
                dataset_id,
                name,
                json.dumps(request),
            ),
        )
        if commit:
            self._db.commit()
        return run_id

    def commit_locked(self) -> None:
        """Commit what the caller inserted."""
        self._db.commit()

    def next_seq_locked(self) -> int:
        """Return the sequence number the next run will get."""
        (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM arize_runs").fetchone()
        return int(seq)

    def last_created_locked(self, task_id: str) -> float | None:
        """Return when the task's last run was created, or None."""
        (last,) = self._db.execute(
            "SELECT MAX(created) FROM arize_runs WHERE task_id = ?", (task_id,)
        ).fetchone()
        return None if last is None else float(last)

    def experiment_taken_locked(self, dataset_id: str, name: str) -> bool:
        """Say whether a run already made experiment `name` in the dataset."""
        return (
            self._db.execute(
                "SELECT 1 FROM arize_runs WHERE dataset_id = ? AND experiment_name = ?",
                (dataset_id, name),
            ).fetchone()
            is not None
        )

    def row_locked(self, run_id: str) -> sqlite3.Row | None:
        """Return one run, or None."""
        found: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM arize_runs WHERE id = ?", (run_id,)
        ).fetchone()
        return found

    def row(self, run_id: str) -> sqlite3.Row | None:
        """Return one run, or None."""
        with self.lock:
            return self.row_locked(run_id)

    def cancel_locked(self, run_id: str, when: float) -> None:
        """Stamp a run cancelled at `when`, unless it already is."""
        self._db.execute(
            "UPDATE arize_runs SET cancelled = ? WHERE id = ? AND cancelled IS NULL",
            (when, run_id),
        )
        self._db.commit()

    def last_runs(self) -> dict[str, float]:
        """Return when each task's last run was created."""
        with self.lock:
            rows = self._db.execute(
                "SELECT task_id, MAX(created) AS last FROM arize_runs GROUP BY task_id"
            ).fetchall()
        return {row["task_id"]: row["last"] for row in rows}

    def page(
        self, task_id: str, *, anchor: tuple[float, str] | None, take: int | None
    ) -> list[sqlite3.Row]:
        """Return up to `take` runs of a task newest first, older than `anchor` (keyset)."""
        where = "task_id = ?"
        params: list[object] = [task_id]
        if anchor is not None:
            where += " AND (created, id) < (?, ?)"
            params += [anchor[0], anchor[1]]
        sql = f"SELECT * FROM arize_runs WHERE {where} ORDER BY created DESC, id DESC"
        with self.lock:
            rows = self._db.execute(sql, params)
            return rows.fetchmany(take) if take is not None else rows.fetchall()

    def oldest(
        self, task_id: str, *, anchor: tuple[float, str] | None, take: int | None
    ) -> list[sqlite3.Row]:
        """Return up to `take` runs of a task oldest first, newer than `anchor` (keyset)."""
        where = "task_id = ?"
        params: list[object] = [task_id]
        if anchor is not None:
            where += " AND (created, id) > (?, ?)"
            params += [anchor[0], anchor[1]]
        sql = f"SELECT * FROM arize_runs WHERE {where} ORDER BY created ASC, id ASC"
        with self.lock:
            rows = self._db.execute(sql, params)
            return rows.fetchmany(take) if take is not None else rows.fetchall()

    def every(self, task_id: str) -> list[sqlite3.Row]:
        """Return every run of a task, in no order."""
        with self.lock:
            return self._db.execute(
                "SELECT * FROM arize_runs WHERE task_id = ?", (task_id,)
            ).fetchall()

    def experiment_runs(self) -> list[sqlite3.Row]:
        """Return every run that makes an experiment."""
        with self.lock:
            return self._db.execute(
                "SELECT * FROM arize_runs WHERE experiment_name IS NOT NULL"
            ).fetchall()

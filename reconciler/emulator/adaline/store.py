"""Adaline's runs in the emulator's SQLite database, and the keyset reads of its lists."""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS adaline_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    prompt_id TEXT NOT NULL,
    evaluator_id TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    total_rows INTEGER NOT NULL,
    submitted REAL NOT NULL,
    submitted_ms INTEGER NOT NULL,
    cancelled REAL
);
CREATE INDEX IF NOT EXISTS adaline_runs_order
    ON adaline_runs (workspace, prompt_id, submitted_ms, id);
"""

# (workspace, id, prompt id, evaluator id, dataset id, total rows, submitted epoch s)
NewRun = tuple[str, str, str, str, str, int, float]


class AdalineStore:
    """Reads and writes of `adaline_runs`; every statement holds the shared lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock
        # Writes through this store, per workspace: with SQLite's data_version (which moves
        # when another connection to a shared state file commits) they tell the schedule
        # cache it is stale without counting the workspace's runs on every request.
        self._writes: dict[str, int] = {}
        with lock:
            db.executescript(SCHEMA)

    def insert(self, make: Callable[[int], Sequence[NewRun]]) -> None:
        """Insert the runs `make(last_seq)` returns, numbered after the last run stored."""
        with self._lock:
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM adaline_runs").fetchone()
            rows = make(int(seq))
            self._db.executemany(
                "INSERT INTO adaline_runs (workspace, id, prompt_id, evaluator_id, dataset_id,"
                " total_rows, submitted, submitted_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*row, math.floor(row[6] * 1000)) for row in rows],
            )
            self._db.commit()
            for workspace in {row[0] for row in rows}:
                self._writes[workspace] = self._writes.get(workspace, 0) + 1

    def row(self, workspace: str, prompt_id: str, run_id: str) -> sqlite3.Row | None:
        """Return one run of a workspace under a prompt, or None."""
        with self._lock:
            found: sqlite3.Row | None = self._db.execute(
                "SELECT * FROM adaline_runs WHERE workspace = ? AND prompt_id = ? AND id = ?",
                (workspace, prompt_id, run_id),
            ).fetchone()
        return found

    def cancel(self, workspace: str, run_id: str, when: float) -> None:
        """Stamp a run of `workspace` cancelled at `when`, unless it already is."""
        with self._lock:
            self._db.execute(
                "UPDATE adaline_runs SET cancelled = ? WHERE id = ? AND cancelled IS NULL",
                (when, run_id),
            )
            self._db.commit()
            self._writes[workspace] = self._writes.get(workspace, 0) + 1

    def schedule_rows(
        self, workspace: str, *, unless: tuple[Any, ...] | None
    ) -> tuple[tuple[Any, ...], list[sqlite3.Row] | None]:
        """Return the workspace's version and its runs in submission order.

        The runs are None when the version equals `unless` (the caller's cache is current).
        """
        with self._lock:
            (changed,) = self._db.execute("PRAGMA data_version").fetchone()
            version = (changed, self._writes.get(workspace, 0))
            if version == unless:
                return version, None
            rows = self._db.execute(
                "SELECT id, total_rows, submitted, cancelled FROM adaline_runs"
                " WHERE workspace = ? ORDER BY submitted, seq",
                (workspace,),
            ).fetchall()
        return version, rows

    def keys(self, where: str, params: Sequence[object]) -> list[sqlite3.Row]:
        """Return every run matching `where`, in no order."""
        with self._lock:
            return self._db.execute(f"SELECT * FROM adaline_runs WHERE {where}", params).fetchall()

    def keyset(
        self,
        where: str,
        params: Sequence[object],
        *,
        descending: bool,
        anchor: tuple[int, str] | None,
        take: int | None,
    ) -> list[sqlite3.Row]:
        """Return up to `take` runs matching `where` in (submitted_ms, id) order, past `anchor`.

        The index on (workspace, prompt_id, submitted_ms, id) serves it: a page costs the
        page, not every run of the prompt (`take` None reads them all, for a status filter).
        """
        order = "DESC" if descending else "ASC"
        sql, args = where, list(params)
        if anchor is not None:
            sql += " AND (submitted_ms, id) " + ("<" if descending else ">") + " (?, ?)"
            args += [anchor[0], anchor[1]]
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM adaline_runs WHERE {sql} ORDER BY submitted_ms {order}, id {order}",
                args,
            )
            return rows.fetchmany(take) if take is not None else rows.fetchall()

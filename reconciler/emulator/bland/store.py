"""Bland's runs in the emulator's SQLite database: one row per run, written at creation."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS bland_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    cancelled REAL,
    triggered_by TEXT NOT NULL,
    run_mode TEXT NOT NULL,
    setup_id TEXT,
    setup_version_id TEXT,
    agent_ids TEXT NOT NULL,
    request TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bland_runs_order ON bland_runs (org, created DESC, id DESC);
"""
_INSERT = (
    "INSERT INTO bland_runs (org, id, created, triggered_by, run_mode, setup_id,"
    " setup_version_id, agent_ids, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class Filter:
    """The SQL condition of a list: the organisation, and the filters the vendor applies."""

    def __init__(self, org: str) -> None:
        self.where: list[str] = ["org = ?"]
        self.params: list[object] = [org]

    def add(self, condition: str, *params: object) -> None:
        """Add one condition and its parameters."""
        self.where.append(condition)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        """Return the conditions joined by AND."""
        return " AND ".join(self.where)


class BlandStore:
    """Reads and writes of `bland_runs`; every statement holds the shared lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock
        with lock:
            db.executescript(SCHEMA)

    def insert(
        self, org: str, make_id: Callable[[int], str], created: float, request: Mapping[str, Any]
    ) -> str:
        """Store a run created now; `make_id(seq)` names it. Return its id."""
        agent_ids = ",".join(a["eval_agent_id"] for a in request["attached_agents"])
        with self._lock:
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM bland_runs").fetchone()
            run_id = make_id(seq)
            self._db.execute(
                _INSERT,
                (
                    org,
                    run_id,
                    created,
                    request["triggered_by"],
                    request["run_mode"],
                    request["workbench_setup_id"],
                    request["workbench_setup_version_id"],
                    f",{agent_ids},",
                    json.dumps(request),
                ),
            )
            self._db.commit()
        return run_id

    def insert_many(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Store many runs at once (seeding), in the column order of an insert."""
        with self._lock:
            self._db.executemany(_INSERT, rows)
            self._db.commit()

    def last_seq(self) -> int:
        """Return the highest sequence number used so far (0 when empty)."""
        with self._lock:
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM bland_runs").fetchone()
        return int(seq)

    def row(self, org: str, run_id: str) -> sqlite3.Row | None:
        """Return one run of `org`, or None."""
        with self._lock:
            found: sqlite3.Row | None = self._db.execute(
                "SELECT * FROM bland_runs WHERE org = ? AND id = ?", (org, run_id)
            ).fetchone()
        return found

    def cancel(self, run_id: str, when: float) -> None:
        """Stamp a run cancelled at `when`, unless it already is."""
        with self._lock:
            self._db.execute(
                "UPDATE bland_runs SET cancelled = ? WHERE id = ? AND cancelled IS NULL",
                (when, run_id),
            )
            self._db.commit()

    def page(
        self, where: Filter, *, anchor: tuple[float, str] | None, after: bool, take: int | None
    ) -> list[sqlite3.Row]:
        """Return runs newest first past `anchor` (older when `after`, else newer and ASC).

        `take` bounds the rows read (None: every row), so a page costs O(page) on the index.
        """
        order = "DESC"
        where_sql, params = where.sql, list(where.params)
        if anchor is not None:
            if after:
                where_sql += " AND (created, id) < (?, ?)"
            else:
                where_sql += " AND (created, id) > (?, ?)"
                order = "ASC"
            params += [anchor[0], anchor[1]]
        sql = f"SELECT * FROM bland_runs WHERE {where_sql} ORDER BY created {order}, id {order}"
        with self._lock:
            rows = self._db.execute(sql, params)
            return rows.fetchmany(take) if take is not None else rows.fetchall()

    def oldest(
        self, where: Filter, *, anchor: tuple[float, str] | None, newer: bool, take: int | None
    ) -> list[sqlite3.Row]:
        """Return runs oldest first newer than `anchor` (or, unless `newer`, older and DESC).

        The `oldest` list order on the same index as newest first: a page costs O(page).
        """
        order = "ASC" if newer else "DESC"
        where_sql, params = where.sql, list(where.params)
        if anchor is not None:
            where_sql += " AND (created, id) " + (">" if newer else "<") + " (?, ?)"
            params += [anchor[0], anchor[1]]
        sql = f"SELECT * FROM bland_runs WHERE {where_sql} ORDER BY created {order}, id {order}"
        with self._lock:
            rows = self._db.execute(sql, params)
            return rows.fetchmany(take) if take is not None else rows.fetchall()

    def every(self, where: Filter) -> list[sqlite3.Row]:
        """Return every run matching `where`, in no order."""
        with self._lock:
            return self._db.execute(
                f"SELECT * FROM bland_runs WHERE {where.sql}", where.params
            ).fetchall()

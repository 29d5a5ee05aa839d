"""What was shown and what came of it: `<workspace>/store/shown.sqlite`.

Two tables, apart from the events (whose columns stay as they are):

- `served`: one row per list the service answered (recommendations, search, similar items):
  its `request_id`, time, shopper, surface, the experiment and variant that answered (or none),
  the item ids in the order shown (positions 1..n) and, for an interleaved list, the team of each
  slot. Recorded by the service when it answers: a list answered is counted as shown (impressions
  are server-side; a client that shows fewer items than it asked for should ask for fewer).
- `outcomes`: the events that can be credited to a list: any event posted with a `request_id`
  (a click, view, add-to-cart, purchase...), with its `position`; and every add-to-cart and
  purchase posted without one, which the report credits to the shopper's latest click within the
  experiment's window (report.py). Its `revenue`: the item's price at that time times the
  quantity (`value`, default 1), for purchases.

SQLite in WAL mode with synchronous=NORMAL: a crash of the machine may lose the last
transactions (analytics, not the shop's data), and a write costs no fsync. A served list is not
written on the request's thread: `record_served` appends it to a queue (microseconds, no lock
shared with other processes) and a writer thread commits the queue every FLUSH_EVERY_S in one
transaction, so answers never wait on SQLite's write lock, which the service's workers share
(benchmarks/bench_shown.py measures both ways). Reads in the process flush first; another
process (the report) sees a list at most FLUSH_EVERY_S late; a process killed outright loses at
most that much of its queue. Past MAX_PENDING queued lists the request's thread writes them
itself (back-pressure, never a dropped list). Rows older than RETENTION_DAYS are deleted (each process prunes at most
hourly); erasing a shopper deletes theirs (`erase_user`, called by shoprec.data.erasure).
This module imports nothing of shoprec: the store's erasure uses it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FILE = "shown.sqlite"
RETENTION_DAYS = 90
PRUNE_EVERY_S = 3600.0
FLUSH_EVERY_S = 0.25
MAX_PENDING = 10_000
log = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS served (request_id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, user_id TEXT, "
    "surface TEXT NOT NULL, experiment TEXT, variant TEXT, items TEXT NOT NULL, teams TEXT)",
    "CREATE INDEX IF NOT EXISTS served_by_experiment ON served (experiment, ts_ms)",
    "CREATE INDEX IF NOT EXISTS served_by_user ON served (user_id)",
    "CREATE INDEX IF NOT EXISTS served_by_time ON served (ts_ms)",
    "CREATE TABLE IF NOT EXISTS outcomes (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, "
    "user_id TEXT NOT NULL, item_id TEXT NOT NULL, event_type TEXT NOT NULL, revenue REAL, request_id TEXT, position INTEGER, "
    "key TEXT UNIQUE)",
    "CREATE INDEX IF NOT EXISTS outcomes_by_user ON outcomes (user_id, ts_ms)",
    "CREATE INDEX IF NOT EXISTS outcomes_by_time ON outcomes (ts_ms)",
)


@dataclass(frozen=True)
class Served:
    """One list answered."""

    request_id: str
    ts_ms: int
    user_id: str | None
    surface: str
    experiment: str | None
    variant: str | None
    items: list[str]
    teams: list[str] | None = None


@dataclass(frozen=True)
class Outcome:
    """One event that may be credited to a list."""

    ts_ms: int
    user_id: str
    item_id: str
    event_type: str
    revenue: float | None = None
    request_id: str | None = None
    position: int | None = None
    key: str | None = None  # the same event posted again (a retry) has the same key and is stored once


def path_in(store_root: Path) -> Path:
    return Path(store_root) / FILE


class ShownLog:
    """The served lists and their outcomes (one connection, shared by a process's threads)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # the connection
        self._pending: list[tuple[object, ...]] = []
        self._pending_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._writer: threading.Thread | None = None
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA secure_delete=ON")  # an erased shopper's rows are overwritten
        for statement in _SCHEMA:
            self._conn.execute(statement)
        self._prune_due = time.monotonic()

    # ---- writes ------------------------------------------------------------------------------
    def record_served(self, served: Served) -> None:
        """Queue a list answered; the writer thread commits it within FLUSH_EVERY_S."""
        row = (served.request_id, served.ts_ms, served.user_id, served.surface, served.experiment, served.variant,
               json.dumps(served.items), None if served.teams is None else json.dumps(served.teams))
        with self._pending_lock:
            if self._closed:
                raise RuntimeError(f"{self.path} is closed")
            self._pending.append(row)
            backlog = len(self._pending)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="shown-writer", daemon=True)
                self._writer.start()
        if backlog >= MAX_PENDING:  # the writer falls behind: this thread writes
            self.flush()

    def flush(self) -> int:
        """Commit the queued lists now (one transaction); returns how many."""
        written = self._commit_queue()
        self._maybe_prune()
        return written

    def _commit_queue(self) -> int:
        with self._lock:  # taken first, so that two flushes commit in the order they took the queue
            with self._pending_lock:
                rows, self._pending = self._pending, []
            if rows:
                try:
                    with self._conn:
                        self._conn.execute("BEGIN IMMEDIATE")
                        self._conn.executemany("INSERT OR REPLACE INTO served VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                except Exception:
                    with self._pending_lock:  # back in front of what came since, to be tried again
                        self._pending[:0] = rows
                    raise
        return len(rows)

    def _write_loop(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_EVERY_S)
            try:
                self.flush()
            except sqlite3.ProgrammingError:  # closed under us
                return
            except Exception:  # a locked or full database: keep the rows queued, try again
                log.exception("could not write the served lists to %s", self.path)

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> int:
        """Record events that may be credited to a list; returns how many were new."""
        rows = [(o.ts_ms, o.user_id, o.item_id, o.event_type, o.revenue, o.request_id, o.position, o.key) for o in outcomes]
        if not rows:
            return 0
        with self._lock:
            before = self._conn.total_changes
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("INSERT OR IGNORE INTO outcomes (ts_ms, user_id, item_id, event_type, revenue, request_id, "
                                       "position, key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            return self._conn.total_changes - before

    # ---- reads -------------------------------------------------------------------------------
    def served_in(self, experiment: str) -> list[Served]:
        """The lists an experiment answered, oldest first."""
        self.flush()
        with self._lock:
            rows = self._conn.execute("SELECT * FROM served WHERE experiment = ? ORDER BY ts_ms", (experiment,)).fetchall()
        return [_served(r) for r in rows]

    def served(self, request_id: str) -> Served | None:
        self.flush()
        with self._lock:
            row = self._conn.execute("SELECT * FROM served WHERE request_id = ?", (request_id,)).fetchone()
        return None if row is None else _served(row)

    def outcomes_of(self, users: Sequence[str], since_ms: int, until_ms: int | None = None) -> list[Outcome]:
        """The outcomes of these shoppers from `since_ms` on (to `until_ms`), oldest first."""
        out: list[Outcome] = []
        until = until_ms if until_ms is not None else 2**62
        for start in range(0, len(users), 500):
            chunk = list(users[start:start + 500])
            marks = ", ".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    "SELECT ts_ms, user_id, item_id, event_type, revenue, request_id, position FROM outcomes "
                    f"WHERE user_id IN ({marks}) AND ts_ms >= ? AND ts_ms <= ? ORDER BY ts_ms, seq", [*chunk, since_ms, until]).fetchall()
            out += [Outcome(*r) for r in rows]
        out.sort(key=lambda o: o.ts_ms)
        return out

    def counts(self) -> dict[str, int]:
        self.flush()
        with self._lock:
            served = self._conn.execute("SELECT COUNT(*) FROM served").fetchone()[0]
            outcomes = self._conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]
        return {"served": int(served), "outcomes": int(outcomes)}

    # ---- retention and erasure ------------------------------------------------------------------
    def prune(self, now_ms: int | None = None, days: float = RETENTION_DAYS) -> int:
        """Delete rows older than `days`; returns how many."""
        cutoff = (int(time.time() * 1000) if now_ms is None else now_ms) - int(days * 86_400_000)
        self._commit_queue()
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            gone = self._conn.execute("DELETE FROM served WHERE ts_ms < ?", (cutoff,)).rowcount
            gone += self._conn.execute("DELETE FROM outcomes WHERE ts_ms < ?", (cutoff,)).rowcount
        return int(gone)

    def _maybe_prune(self) -> None:
        if time.monotonic() >= self._prune_due and not self._closed:
            self._prune_due = time.monotonic() + PRUNE_EVERY_S
            self.prune()

    def delete_user(self, user_id: str) -> int:
        """Delete every row of the shopper (lists shown to them, their outcomes, and those queued);
        returns how many."""
        with self._pending_lock:
            queued = len(self._pending)
            self._pending = [row for row in self._pending if row[2] != user_id]
            dropped = queued - len(self._pending)
        with self._lock:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                gone = self._conn.execute("DELETE FROM served WHERE user_id = ?", (user_id,)).rowcount
                gone += self._conn.execute("DELETE FROM outcomes WHERE user_id = ?", (user_id,)).rowcount
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no old copy of the pages left in the WAL
        return int(gone) + dropped

    def close(self) -> None:
        """Commit what is queued, stop the writer and close."""
        try:
            self.flush()
        except Exception:
            log.exception("could not write %d served lists to %s before closing", len(self._pending), self.path)
        with self._pending_lock:
            self._closed = True
        self._wake.set()
        if self._writer is not None:
            self._writer.join(timeout=5)
        with self._lock:
            self._conn.close()


def erase_user(store_root: Path, user_id: str) -> int:
    """Delete the shopper's served lists and outcomes from the store's log, if it has one."""
    path = path_in(store_root)
    if not path.exists():
        return 0
    log = ShownLog(path)
    try:
        return log.delete_user(user_id)
    finally:
        log.close()


def _served(row: tuple[object, ...]) -> Served:
    request_id, ts, user, surface, experiment, variant, items, teams = row
    return Served(str(request_id), int(ts), None if user is None else str(user), str(surface),  # type: ignore[call-overload]
                  None if experiment is None else str(experiment), None if variant is None else str(variant),
                  json.loads(str(items)), None if teams is None else json.loads(str(teams)))

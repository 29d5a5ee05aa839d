"""The erasure log: which shoppers were erased, in order, so that every process serving the store
forgets them too (each worker of `shoprec serve --workers N`, a second `serve` on the workspace).

`Store.delete_user` appends one entry (sequence, time, user id) after the erasure itself is done;
each service process follows the log (shoprec.service.deps.Services.follow_erasures) and drops
what it derived from the shopper's events (the search engine's query-click counts and the like).
A process starts following at the log's current end: it builds its caches after that, from a store
that no longer holds the erased events.

SQLite (`store/erasures.sqlite`) in WAL mode like the live log: many processes read beside one
writer, and the common question, "anything after sequence N?", is one read of a one-row table.

Retention: entries older than RETENTION_S (7 days) are deleted, at the next erasure and by each
serving process within the hour, so that the log does not become a lasting record of who was a
shopper. A serving process applies an entry within a second, and one started later reads a store
that no longer holds the data, so none needs an old entry; a process idle for longer than that
sees the gap (sequences are never reused) and forgets everyone.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

RETENTION_S = 7 * 24 * 3600
FILE = "erasures.sqlite"


class ErasureLog:
    """An append-only list of erased user ids, each with a sequence number that is never reused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one connection shared by the threads of a process (see live_log.py)
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA secure_delete=ON")  # pruned ids are overwritten, not left in free pages
        # AUTOINCREMENT: a sequence is never handed out twice, even after the entries before it were pruned.
        self._conn.execute("CREATE TABLE IF NOT EXISTS erasures (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                           "at_ms INTEGER NOT NULL, user_id TEXT NOT NULL)")

    def record(self, user_id: str, now: float | None = None) -> int:
        """Append an erasure of `user_id` (and prune expired entries); returns its sequence number."""
        now = time.time() if now is None else now
        with self._lock:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                seq = self._conn.execute("INSERT INTO erasures (at_ms, user_id) VALUES (?, ?)",
                                         (int(now * 1000), user_id)).lastrowid
                pruned = self._delete_before(now)
            if pruned:
                self._checkpoint()
        return int(seq or 0)

    def last(self) -> int:
        """The sequence number of the latest entry ever recorded (0 when none): pruning keeps it."""
        with self._lock:
            row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'erasures'").fetchone()
        return int(row[0]) if row else 0

    def after(self, seq: int) -> list[tuple[int, str]]:
        """Entries with a sequence number above `seq`, oldest first, as (seq, user id)."""
        with self._lock:
            rows = self._conn.execute("SELECT seq, user_id FROM erasures WHERE seq > ? ORDER BY seq", (seq,)).fetchall()
        return [(int(s), str(u)) for s, u in rows]

    def prune(self, now: float | None = None) -> int:
        """Delete entries older than RETENTION_S; returns how many. `record` does this too; call it
        where erasures are rare, so that an old entry does not wait for the next one."""
        now = time.time() if now is None else now
        with self._lock:
            oldest = self._conn.execute("SELECT at_ms FROM erasures ORDER BY seq LIMIT 1").fetchone()
            if oldest is None or oldest[0] >= _cutoff_ms(now):
                return 0  # a read only: no write lock taken when nothing expired
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                pruned = self._delete_before(now)
            self._checkpoint()
        return pruned

    def _delete_before(self, now: float) -> int:
        return self._conn.execute("DELETE FROM erasures WHERE at_ms < ?", (_cutoff_ms(now),)).rowcount

    def _checkpoint(self) -> None:
        # The write-ahead log holds the deleted rows' old pages until a checkpoint (as in live_log.py).
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _cutoff_ms(now: float) -> int:
    return int((now - RETENTION_S) * 1000)

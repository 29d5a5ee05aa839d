"""The live log: small, durable appends of events (from the API) before they are compacted.

SQLite in WAL mode with `synchronous=FULL`: a write that returned survives a kill -9 of the
process (and a power cut), many readers run beside one writer, and nothing needs a server.
Bulk ingestion does not come here; it writes columnar segments directly.

One connection is shared by the threads of a process (the HTTP service answers from a thread
pool), so every use of it holds a lock: sqlite3 serialises calls, not transactions.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shoprec.data import schema as S

_COLUMNS = (S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, "ts_ms", S.SESSION_ID, S.VALUE, S.QUERY, S.REVIEW_TEXT, S.EVENT_HASH)


class LiveLog:
    """An append-only event table with a sequence number per row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._empty: pd.DataFrame | None = None  # the frame `read` answers when no row matches
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        # Deleted rows (a shopper's erasure) are overwritten with zeros, not left in free pages.
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, "
            "item_id TEXT NOT NULL, event_type TEXT NOT NULL, ts_ms INTEGER NOT NULL, session_id TEXT, value REAL, "
            "query TEXT, review_text TEXT, event_hash INTEGER NOT NULL UNIQUE)"
        )
        # One user's events are read on every request: without this, each read scans the log.
        self._conn.execute("CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, seq)")

    def append(self, events: pd.DataFrame, hashes: np.ndarray) -> int:
        """Append canonical events in one transaction; exact repeats are ignored. Returns rows added."""
        ts = pd.to_datetime(events[S.TIMESTAMP], utc=True).dt.as_unit("ms").astype("int64")
        rows = []
        for i in range(len(events)):
            rows.append((
                events[S.USER_ID].iat[i], events[S.ITEM_ID].iat[i], events[S.EVENT_TYPE].iat[i], int(ts.iat[i]),
                _opt(events, S.SESSION_ID, i), _opt_float(events, S.VALUE, i), _opt(events, S.QUERY, i),
                _opt(events, S.REVIEW_TEXT, i), int(np.int64(hashes[i].view(np.int64))),
            ))
        with self._lock:
            before = self._conn.total_changes
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(f"INSERT OR IGNORE INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
            return self._conn.total_changes - before

    def read(self, after_seq: int = 0, user_id: str | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """Events with seq > after_seq (optionally one user's) as a canonical frame, and their seqs."""
        query = f"SELECT seq, {', '.join(_COLUMNS)} FROM events WHERE seq > ?"
        params: list[int | str] = [after_seq]
        if user_id is not None:
            query += " AND user_id = ?"
            params.append(user_id)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY seq", params).fetchall()
        if not rows and self._empty is not None:
            # Most shoppers have nothing in the live log: skip building a frame on every request.
            return self._empty.copy(), np.zeros(0, np.int64)
        # The frame pd.read_sql_query builds (it calls from_records the same way), without its
        # per-call overhead of several milliseconds: this runs on every request of the service.
        frame = pd.DataFrame.from_records(rows, columns=["seq", *_COLUMNS], coerce_float=True)
        seqs = frame.pop("seq").to_numpy(np.int64)
        frame[S.TIMESTAMP] = pd.to_datetime(frame.pop("ts_ms").astype("int64"), unit="ms", utc=True).dt.as_unit("ms")
        frame[S.EVENT_HASH] = frame[S.EVENT_HASH].astype("int64").to_numpy().view(np.uint64)
        if not rows:
            self._empty = frame.copy()
        return frame, seqs

    def delete_upto(self, seq: int) -> None:
        """Forget rows up to `seq` (after they were compacted into a segment)."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM events WHERE seq <= ?", (seq,))

    def delete_user(self, user_id: str) -> int:
        """Remove every row of one user; returns how many."""
        with self._lock:
            with self._conn:
                cursor = self._conn.execute("DELETE FROM events WHERE user_id = ?", (user_id,))
            # The WAL still holds the old pages until a checkpoint copies the new ones back and
            # truncates it: done now, so that the erased rows leave no copy on disk.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _opt(events: pd.DataFrame, column: str, i: int) -> str | None:
    if column not in events:
        return None
    value = events[column].iat[i]
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else str(value)


def _opt_float(events: pd.DataFrame, column: str, i: int) -> float | None:
    if column not in events:
        return None
    value: Any = events[column].iat[i]
    return None if value is None or pd.isna(value) else float(value)

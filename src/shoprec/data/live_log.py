"""The live log: small, durable appends of events (from the API) before they are compacted.

SQLite in WAL mode with `synchronous=FULL`: a write that returned survives a kill -9 of the
process (and a power cut), many readers run beside one writer, and nothing needs a server.
Bulk ingestion does not come here; it writes columnar segments directly.
"""

from __future__ import annotations

import sqlite3
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
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, "
            "item_id TEXT NOT NULL, event_type TEXT NOT NULL, ts_ms INTEGER NOT NULL, session_id TEXT, value REAL, "
            "query TEXT, review_text TEXT, event_hash INTEGER NOT NULL UNIQUE)"
        )

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
        frame = pd.read_sql_query(query + " ORDER BY seq", self._conn, params=params)
        seqs = frame.pop("seq").to_numpy(np.int64)
        frame[S.TIMESTAMP] = pd.to_datetime(frame.pop("ts_ms").astype("int64"), unit="ms", utc=True).dt.as_unit("ms")
        frame[S.EVENT_HASH] = frame[S.EVENT_HASH].astype("int64").to_numpy().view(np.uint64)
        return frame, seqs

    def delete_upto(self, seq: int) -> None:
        """Forget rows up to `seq` (after they were compacted into a segment)."""
        with self._conn:
            self._conn.execute("DELETE FROM events WHERE seq <= ?", (seq,))

    def delete_user(self, user_id: str) -> int:
        """Remove every row of one user; returns how many."""
        with self._conn:
            cursor = self._conn.execute("DELETE FROM events WHERE user_id = ?", (user_id,))
        return cursor.rowcount

    def close(self) -> None:
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

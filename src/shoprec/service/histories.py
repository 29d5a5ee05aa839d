"""Shoppers' histories at request time, fast: the service's store keeps the event segments grouped
by user in memory.

Reading one shopper's events from a Parquet segment scans the file's user column (about 200 ms
at a million events); the service needs it on every request. Segments are immutable (a new
file name for every rewrite), so each one is read once, sorted by user, and kept as a frame with
each user's row range; an index never goes stale. The live log (SQLite, indexed by user) is read
as it is at each request. When a segment leaves the store (compaction, erasure) its index is
dropped at the next read, and at once after `delete_user` (or, for another process's erasure,
when the service follows the store's erasure log), so erased events are not kept in memory either.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shoprec.data import schema as S
from shoprec.data.store import Store, UserErasure


class _UserRows:
    """One segment's events sorted by user (stably, so each user's rows keep their file order)."""

    def __init__(self, path: Path) -> None:
        table = pq.read_table(path, schema=S.STORED_EVENT_SCHEMA)
        table = table.take(pc.sort_indices(table, sort_keys=[(S.USER_ID, "ascending")]))
        users = table.column(S.USER_ID).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.zeros(0, np.int64)
        ends = np.r_[starts[1:], len(users)].astype(np.int64)
        self.ranges = {str(users[s]): (int(s), int(e)) for s, e in zip(starts, ends)}
        self.frame = table.to_pandas()  # converted once: a slice of it costs microseconds, a conversion milliseconds

    def __len__(self) -> int:
        return len(self.frame)

    def of_user(self, user_id: str) -> pd.DataFrame:
        start, end = self.ranges.get(user_id, (0, 0))
        return self.frame.iloc[start:end]


class IndexedStore(Store):
    """A Store whose one-user reads come from an in-memory index of each segment (see the module docstring).
    Every other read and write is the Store's."""

    def __init__(self, workspace: Path) -> None:
        super().__init__(workspace)
        self._index: dict[Path, _UserRows] = {}
        self._index_lock = threading.Lock()

    def read_events(self, user_id: str | None = None) -> pd.DataFrame:
        if user_id is None:
            return super().read_events()
        manifest = self.manifest()
        paths = self.event_segment_paths(manifest)
        self._forget_other_segments(paths)
        parts = [self._rows(path).of_user(user_id) for path in paths]
        if not parts:
            stored = S.STORED_EVENT_SCHEMA.empty_table().to_pandas()
        else:
            stored = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        return self.with_live(stored, manifest, user_id)

    def warm(self) -> int:
        """Index every current segment now (at startup, not in the first requests); returns events indexed."""
        paths = self.event_segment_paths()
        self._forget_other_segments(paths)
        return sum(len(self._rows(path)) for path in paths)

    def delete_user(self, user_id: str) -> UserErasure:
        erased = super().delete_user(user_id)
        self.drop_removed_segments()
        return erased

    def drop_removed_segments(self) -> None:
        """Drop the index of every segment no longer in the store now (after an erasure another
        process made), rather than at the next one-user read."""
        self._forget_other_segments(self.event_segment_paths())

    def _rows(self, path: Path) -> _UserRows:
        rows = self._index.get(path)
        if rows is None:
            with self._index_lock:
                rows = self._index.get(path)
                if rows is None:
                    rows = self._index[path] = _UserRows(path)
        return rows

    def _forget_other_segments(self, current: list[Path]) -> None:
        keep = set(current)
        for path in [p for p in self._index if p not in keep]:
            self._index.pop(path, None)

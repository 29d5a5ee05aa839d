"""Erasing one shopper from the store: events in segments and the live log, the user row, quarantined
rows, the lists shown to them and their attributed events (shoprec.experiments.shown).

`Store.delete_user` calls `erase_user`; the service's store (shoprec.service.histories) drops its
in-memory copy of the shopper's events afterwards. Nothing of theirs is kept for readers "one
round": old files are removed at once, and running it again after a crash finishes the job.
"""

from __future__ import annotations

import csv
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shoprec.atomic import fsync_path, publish
from shoprec.data import schema as S
from shoprec.data.live_log import LiveLog
from shoprec.experiments.shown import erase_user as erase_shown


class ErasableStore(Protocol):
    """What erasure needs of a store (shoprec.data.store.Store, which imports this module)."""

    root: Path
    workspace: Path

    @property
    def live(self) -> LiveLog: ...

    def writing(self) -> AbstractContextManager[Any]: ...

    def write_table(self, manifest: Any, kind: str, frame: pd.DataFrame) -> None: ...

    def _read_table(self, name: str | None, schema: pa.Schema) -> pd.DataFrame: ...

    def _rewrite_segment(self, segment: dict[str, object], table: pa.Table) -> dict[str, object]: ...


def erase_user(store: ErasableStore, user_id: str) -> UserErasure:
    """Erase one shopper: their events (segments rewritten without them, live log rows deleted),
    their user row, and their rows in quarantine files. Nothing of theirs is kept for readers
    "one round": old files are removed at once. Running it again after a crash finishes the job.
    """
    erased = UserErasure(user_id)
    old_files: list[Path] = []
    with store.writing() as manifest:
        # Live rows first, under the writer lock, so that a compaction cannot move them into a
        # segment between the two steps.
        erased.live_events = store.live.delete_user(user_id)
        kept_segments = []
        for segment in manifest.event_segments:
            path = store.root / str(segment["file"])
            owner = pq.read_table(path, columns=[S.USER_ID]).column(0)
            mine = pc.fill_null(pc.equal(owner, user_id), False)
            hits = pc.sum(mine).as_py() or 0
            if not hits:
                kept_segments.append(segment)
                continue
            erased.segment_events += hits
            erased.segments_rewritten += 1
            old_files.append(path)
            rest = pq.read_table(path, schema=S.STORED_EVENT_SCHEMA).filter(pc.invert(mine))
            if rest.num_rows:
                kept_segments.append(store._rewrite_segment(segment, rest))
        manifest.event_segments = kept_segments
        users = store._read_table(manifest.users, S.USER_SCHEMA)
        theirs = (users[S.USER_ID] == user_id).to_numpy(bool)
        if theirs.any():
            erased.user_rows = int(theirs.sum())
            old_files.append(store.root / str(manifest.users))
            store.write_table(manifest, "users", users[~theirs])
        # Every writer writes its .tmp files under this lock, so any found now were left by a
        # crash; they may hold the shopper's rows.
        old_files += [*store.root.glob("*.tmp"), *(store.root / "events").glob("*.tmp")]
    for path in old_files:
        path.unlink(missing_ok=True)
    if old_files:
        fsync_path(store.root)
        fsync_path(store.root / "events")
    erased.quarantine_rows = _scrub_quarantine(store.workspace / "quarantine", user_id)
    erased.shown_rows = erase_shown(store.root, user_id)  # lists shown to them, their clicks (experiments)
    return erased


@dataclass
class UserErasure:
    """What `Store.delete_user` removed."""

    user_id: str
    segment_events: int = 0
    live_events: int = 0
    segments_rewritten: int = 0
    user_rows: int = 0
    quarantine_rows: int = 0
    shown_rows: int = 0  # lists shown to them and their attributed events (shoprec.experiments.shown)
    log_seq: int = 0  # the erasure log entry that announced it (erasure_log.py); not part of the answer

    @property
    def events(self) -> int:
        """Events removed, from segments and the live log together."""
        return self.segment_events + self.live_events

    def to_json(self) -> dict[str, object]:
        return {**{k: v for k, v in self.__dict__.items() if k != "log_seq"}, "events": self.events}


def _scrub_quarantine(folder: Path, user_id: str) -> int:
    """Drop quarantined rows that name the user (any field of the raw row equal to the id).

    The raw row is kept as the source's fields joined by commas, without knowing which field
    held the user id, so a row is dropped when any field matches: rejected rows of others that
    happen to hold the same value go too, which costs nothing that was usable.
    """
    removed = 0
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            continue
        header, body = rows[0], rows[1:]
        raw_at = header.index("raw") if "raw" in header else None
        keep = [r for r in body if user_id not in r and (raw_at is None or raw_at >= len(r) or user_id not in r[raw_at].split(","))]
        if len(keep) == len(body):
            continue
        removed += len(body) - len(keep)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *keep])
        publish(tmp, path)
    return removed

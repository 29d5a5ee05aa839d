"""The store: a workspace folder holding the catalogue, users and events. No server to start.

Layout under `<workspace>/store/`:
- `events/seg-NNNNNN.parquet`: immutable event segments (Parquet, readable by Spark/DuckDB);
- `items-NNNNNN.parquet`, `users-NNNNNN.parquet`: the current catalogue and users, rewritten whole;
- `live.sqlite`: the live log of small appends (see live_log.py);
- `erasures.sqlite`: which shoppers were erased lately, for other processes to follow (erasure_log.py);
- `manifest.json`: which files make up the current state. It is replaced atomically (write,
  fsync, rename), so a reader always sees a whole state and a crash leaves the old one.
Writers (ingest, compaction) take an exclusive file lock; readers take none.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shoprec.atomic import publish, write_atomic
from shoprec.config import WeightConfig
from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.data.erasure import UserErasure, erase_user
from shoprec.data.erasure_log import FILE as ERASURE_LOG
from shoprec.data.erasure_log import ErasureLog
from shoprec.data.event_hash import event_hashes
from shoprec.data.live_log import LiveLog
from shoprec.data.segment_writer import write_segment
from shoprec.errors import DataError, ShoprecError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    """The files that make up the store's current state."""

    version: int = 0
    event_segments: list[dict[str, object]] = field(default_factory=list)
    items: str | None = None
    users: str | None = None
    judgments: str | None = None
    live_compacted_upto: int = 0

    def to_json(self) -> dict[str, object]:
        return {"format": FORMAT_VERSION, **self.__dict__}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Manifest:
        raw = dict(raw)
        raw.pop("format", None)
        if isinstance(raw.get("event_segments"), list):  # copies: a caller may edit its manifest
            raw["event_segments"] = [dict(s) for s in raw["event_segments"]]  # type: ignore[attr-defined]
        return cls(**raw)  # type: ignore[arg-type]


class Store:
    """The embedded store of one workspace."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace)
        self.root = self.workspace / "store"
        (self.root / "events").mkdir(parents=True, exist_ok=True)
        self._live: LiveLog | None = None
        self._erasures: ErasureLog | None = None
        self._manifest_read: tuple[tuple[int, int, int], dict[str, object]] | None = None

    # ---- state ---------------------------------------------------------------------------
    def manifest(self) -> Manifest:
        """The current manifest (an empty one for a new workspace).

        The file is re-read only when it changed (another inode, mtime or size: every publish
        replaces it atomically): the service asks on every request.
        """
        path = self.root / MANIFEST
        try:
            stat = path.stat()
        except FileNotFoundError:
            return Manifest()
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        try:
            if self._manifest_read is None or self._manifest_read[0] != key:
                self._manifest_read = (key, json.loads(path.read_text(encoding="utf-8")))
            return Manifest.from_json(self._manifest_read[1])
        except (json.JSONDecodeError, TypeError) as exc:
            self._manifest_read = None
            raise DataError(f"store manifest is unreadable: {exc}", file=str(path)) from exc

    def _publish(self, manifest: Manifest) -> None:
        manifest.version += 1
        write_atomic(self.root / MANIFEST, json.dumps(manifest.to_json(), indent=2))

    @contextmanager
    def writing(self) -> Iterator[Manifest]:
        """Hold the writer lock; yields the current manifest, publishes it if it changed."""
        lock_path = self.root / ".lock"
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                manifest = self.manifest()
                before = json.dumps(manifest.to_json(), sort_keys=True)
                yield manifest
                if json.dumps(manifest.to_json(), sort_keys=True) != before:
                    self._publish(manifest)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def new_path(self, prefix: str) -> Path:
        """A fresh, unused file name under the store for a table about to be written."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        n = 0
        while True:
            path = self.root / f"{prefix}-{stamp}-{os.getpid()}-{n:04d}.parquet"
            if not path.exists() and not path.with_suffix(".tmp").exists():
                return path
            n += 1

    # ---- events ----------------------------------------------------------------------------
    def event_segment_paths(self, manifest: Manifest | None = None) -> list[Path]:
        manifest = manifest or self.manifest()
        return [self.root / str(seg["file"]) for seg in manifest.event_segments]

    def stored_hashes(self, manifest: Manifest | None = None) -> np.ndarray:
        """Sorted hashes of all events in segments (for merging exact repeats)."""
        parts = [pq.read_table(p, columns=[S.EVENT_HASH]).column(0).to_numpy() for p in self.event_segment_paths(manifest)]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)

    def add_segment(self, manifest: Manifest, tmp_path: Path, rows: int, source: str) -> None:
        """Make a written segment part of the store (call inside `writing()`)."""
        final = self.root / "events" / tmp_path.name.replace(".tmp", ".parquet")
        publish(tmp_path, final)
        manifest.event_segments.append({"file": f"events/{final.name}", "rows": rows, "source": source, "added": _now_iso()})

    @property
    def live(self) -> LiveLog:
        if self._live is None:
            self._live = LiveLog(self.root / "live.sqlite")
        return self._live

    @property
    def erasures(self) -> ErasureLog:
        """The log of erasures that every process serving this store follows (erasure_log.py)."""
        if self._erasures is None:
            self._erasures = ErasureLog(self.root / ERASURE_LOG)
        return self._erasures

    def append_events(self, events: pd.DataFrame) -> int:
        """Durably append validated canonical events (the real-time path). Returns rows added."""
        return self.live.append(events, event_hashes(events))

    def read_events(self, user_id: str | None = None) -> pd.DataFrame:
        """All events (or one user's): segments plus the live log, exact repeats merged."""
        manifest = self.manifest()
        filters = [(S.USER_ID, "=", user_id)] if user_id is not None else None
        tables = [pq.read_table(p, filters=filters, schema=S.STORED_EVENT_SCHEMA) for p in self.event_segment_paths(manifest)]
        stored = pa.concat_tables(tables).to_pandas() if tables else S.STORED_EVENT_SCHEMA.empty_table().to_pandas()
        return self.with_live(stored, manifest, user_id)

    def with_live(self, stored: pd.DataFrame, manifest: Manifest, user_id: str | None = None) -> pd.DataFrame:
        """`stored` (events read from the manifest's segments) followed by the live log's rows not yet
        compacted into them, exact repeats merged. The second half of `read_events`, for a store that
        reads its segments another way (the service's, from memory)."""
        live, _ = self.live.read(manifest.live_compacted_upto, user_id)
        if len(live):
            live = live[~np.isin(live[S.EVENT_HASH].to_numpy(), stored[S.EVENT_HASH].to_numpy())]
            stored = pd.concat([stored, live[list(S.STORED_EVENT_SCHEMA.names)]], ignore_index=True)
        return stored

    def compact(self) -> int:
        """Move the live log into a segment; returns how many events moved."""
        with self.writing() as manifest:
            live, seqs = self.live.read(manifest.live_compacted_upto)
            if not len(live):
                return 0
            live = live[~np.isin(live[S.EVENT_HASH].to_numpy(), self.stored_hashes(manifest))]
            if len(live):
                tmp = self.new_path("events/seg").with_suffix(".tmp")
                write_segment(tmp, pa.Table.from_pandas(live, schema=S.STORED_EVENT_SCHEMA, preserve_index=False))
                self.add_segment(manifest, tmp, len(live), "live log")
            manifest.live_compacted_upto = int(seqs.max())
        self.live.delete_upto(int(seqs.max()))
        return len(live)

    # ---- items and users --------------------------------------------------------------------
    def items(self) -> pd.DataFrame:
        """The catalogue, one row per item (columns of schema.ITEM_COLUMNS)."""
        return self._read_table(self.manifest().items, S.ITEM_SCHEMA)

    def users(self) -> pd.DataFrame:
        """Known users and their attributes (columns of schema.USER_COLUMNS)."""
        return self._read_table(self.manifest().users, S.USER_SCHEMA)

    def judgments(self) -> pd.DataFrame:
        """Search relevance judgments (query, item_id, relevance), if any were ingested."""
        return self._read_table(self.manifest().judgments, JUDGMENT_SCHEMA)

    def write_table(self, manifest: Manifest, kind: str, frame: pd.DataFrame) -> None:
        """Replace the items, users or judgments table (call inside `writing()`)."""
        schema = {"items": S.ITEM_SCHEMA, "users": S.USER_SCHEMA, "judgments": JUDGMENT_SCHEMA}[kind]
        path = self.new_path(kind)
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False), tmp)
        publish(tmp, path)
        old = getattr(manifest, kind)
        setattr(manifest, kind, path.name)
        if old:
            # Keep the previous version one round for readers that opened it just before the swap.
            self._remove_older(kind, keep={path.name, old})

    def _remove_older(self, kind: str, keep: set[str]) -> None:
        for candidate in self.root.glob(f"{kind}-*.parquet"):
            if candidate.name not in keep:
                candidate.unlink(missing_ok=True)

    def _read_table(self, name: str | None, schema: pa.Schema) -> pd.DataFrame:
        if not name:
            return schema.empty_table().to_pandas()
        return pq.read_table(self.root / name, schema=schema).to_pandas()

    # ---- catalogue changes and erasure (the service's writes) ---------------------------------
    def upsert_items(self, frame: pd.DataFrame) -> tuple[int, int]:
        """Insert or wholly replace catalogue rows (validated, schema.ITEM_COLUMNS); a replaced item
        keeps its place. Returns (added, replaced)."""
        if frame[S.ITEM_ID].isna().any() or frame[S.ITEM_ID].duplicated().any():
            raise DataError("each row needs a distinct, non-empty id", field=S.ITEM_ID)
        new = frame.reindex(columns=list(S.ITEM_COLUMNS)).astype(object)
        with self.writing() as manifest:
            current = self._read_table(manifest.items, S.ITEM_SCHEMA).astype(object)
            positions = pd.Index(current[S.ITEM_ID]).get_indexer(new[S.ITEM_ID])
            existing = positions >= 0
            current.iloc[positions[existing]] = new[existing].to_numpy()
            merged = pd.concat([current, new[~existing]], ignore_index=True)
            self.write_table(manifest, "items", merged)
        return int((~existing).sum()), int(existing.sum())

    def delete_items(self, item_ids: list[str]) -> int:
        """Remove items from the catalogue (their past events stay). Returns how many were removed."""
        with self.writing() as manifest:
            current = self._read_table(manifest.items, S.ITEM_SCHEMA)
            gone = current[S.ITEM_ID].isin(item_ids).to_numpy(bool)
            if gone.any():
                self.write_table(manifest, "items", current[~gone])
        return int(gone.sum())

    def delete_user(self, user_id: str) -> UserErasure:
        """Erase one shopper everywhere in the store (shoprec.data.erasure), then add the erasure to
        the erasure log, where other processes learn of it (its sequence number: `log_seq`)."""
        erased = erase_user(self, user_id)
        # Recorded even when nothing was found: a run that completes one a crash cut short finds
        # nothing, and the processes that served the shopper must still hear of it.
        erased.log_seq = self.erasures.record(user_id)
        return erased

    def _rewrite_segment(self, segment: dict[str, object], table: pa.Table) -> dict[str, object]:
        tmp = self.new_path("events/seg").with_suffix(".tmp")
        write_segment(tmp, table)  # sorted runs again: a one-user read still skips by row group
        final = self.root / "events" / tmp.name.replace(".tmp", ".parquet")
        publish(tmp, final)
        return {**segment, "file": f"events/{final.name}", "rows": table.num_rows, "rewritten": _now_iso()}

    # ---- snapshots ----------------------------------------------------------------------------
    def dataset(self, weights: WeightConfig | None = None) -> Dataset:
        """A Dataset snapshot of everything stored now."""
        events = self.read_events()
        return Dataset.from_frames(events, self.items(), self.users(), weights or WeightConfig.for_workspace(self.workspace))

    def counts(self) -> dict[str, int]:
        """How many events (segments and live), items and users the store holds."""
        manifest = self.manifest()
        live, _ = self.live.read(manifest.live_compacted_upto)
        return {
            "events": sum(int(s["rows"]) for s in manifest.event_segments) + len(live),  # type: ignore[call-overload]
            "items": len(self.items()),
            "users": len(self.users()),
            "segments": len(manifest.event_segments),
        }

    def close(self) -> None:
        if self._live is not None:
            self._live.close()
            self._live = None
        if self._erasures is not None:
            self._erasures.close()
            self._erasures = None


def load_events_dataset(workspace: Path) -> tuple[Dataset, int]:
    """A Dataset snapshot of a workspace and the store manifest version it was read at.

    Raises a ShoprecError when the store holds no events (nothing to train or evaluate on).
    """
    store = Store(workspace)
    try:
        dataset = store.dataset()
        version = store.manifest().version
    finally:
        store.close()
    if dataset.n_events == 0:
        raise ShoprecError(f"the store in {workspace} holds no events: run 'shoprec ingest' or 'shoprec generate' first")
    return dataset, version


JUDGMENT_SCHEMA = pa.schema(
    [pa.field(S.QUERY, pa.string(), nullable=False), pa.field(S.ITEM_ID, pa.string(), nullable=False), pa.field("relevance", pa.float64())]
)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

"""Recommendations for many shoppers at once, written to a file: `shoprec recommend --all-users`.

Each shopper's list is what `shoprec recommend --user` answers at the same moment: the histories are
read from the store as `history_of` reads one (segments and live log, in the bundle's item indices),
and the engine's `lists` answers a batch of users at once with the same personal stage, rules,
filters, diversity and fallback chain as its one-user `recommend` (tests/test_recommending_batch.py
holds the two equal). One difference: the personal stage scores every item exactly, where a bundle
with ANN indexes answers one request from its index.

Memory is bounded by a chunk of users, whatever the number of users or events: histories are read
from the store a chunk of users at a time (about READ_EVENTS events; each segment is sorted by user in
runs, so a chunk's id range decodes only its row groups), answered in batches of users, and each
batch's rows are written before the next, Parquet one row group a batch, CSV and JSON Lines
appended, to a file beside `out` that is renamed over it at the end (shoprec.atomic), so a run cut
short leaves no half file under the final name.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shoprec import progress
from shoprec.atomic import write_with
from shoprec.bundle import Bundle
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.idmap import IdMap
from shoprec.data.store import Store
from shoprec.data.timestamps import TimeBounds, clamp_times
from shoprec.errors import ConfigError
from shoprec.models.ranked import RankedList
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.filters import ItemFilters

# Output format by file suffix; `--format` overrides.
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
DEFAULT_BATCH_USERS = 10_000
# Events read from the store at a time: users are read in chunks holding about this many events.
READ_EVENTS = 250_000
# A batch's users x items score block is capped at this many cells (about 80 MB of float32), as in
# the evaluation's batches (evaluation/runner.py): a large catalogue gets smaller batches.
MAX_BATCH_CELLS = 20_000_000
ROW_SCHEMA = pa.schema([pa.field(S.USER_ID, pa.string(), nullable=False), pa.field("rank", pa.int32(), nullable=False),
                        pa.field(S.ITEM_ID, pa.string(), nullable=False), pa.field("score", pa.float64(), nullable=False)])


@dataclass(frozen=True)
class BatchSummary:
    """What a run wrote: how many users and rows, where, from which model and bundle, how fast."""

    users: int
    rows: int
    seconds: float
    path: str
    format: str
    model: str
    bundle: str
    k: int

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "users_per_second": round(self.users_per_second, 1)}


def output_format(path: Path, explicit: str | None = None) -> str:
    """"parquet", "csv" or "jsonl": `explicit` when given, else read from the suffix of `path`."""
    if explicit:
        if explicit not in FORMATS.values():
            raise ConfigError(f"--format must be one of parquet, csv, jsonl, got {explicit!r}")
        return explicit
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ConfigError(f"--out {path}: name it .parquet, .csv or .jsonl, or give --format")
    return fmt


def read_user_ids(path: Path) -> np.ndarray:
    """The user ids of a file: one a line, or a CSV whose header names a user_id column. Blank lines
    are skipped and repeats dropped (the first kept), so each user is answered once."""
    path = Path(path)
    with path.open(encoding="utf-8-sig") as handle:
        first = handle.readline().strip()
    header = [name.strip().strip('"') for name in first.split(",")]
    if S.USER_ID in header:
        ids = pd.read_csv(path, usecols=[S.USER_ID], dtype=str, keep_default_na=False, encoding="utf-8-sig")[S.USER_ID]
    elif "," in first:
        raise ConfigError(f"--users {path}: a CSV needs a {S.USER_ID} column (its header has {', '.join(header)})")
    else:
        ids = pd.Series(path.read_text(encoding="utf-8-sig").splitlines(), dtype=object)
    ids = ids.astype(str).str.strip()
    return pd.unique(ids[ids != ""].to_numpy(dtype=object))


class StoredHistories:
    """The stored shoppers and their histories in a bundle's item indices, read a chunk of users at a
    time: for each user what `shoprec.recommending.history_of` reads (segments and live log, exact
    repeats of a stored event in the live log merged, events of items the bundle does not know
    dropped, times clamped as there). The store is read as it was when this was made."""

    def __init__(self, store: Store, bundle: Bundle) -> None:
        self.bundle = bundle
        manifest = store.manifest()
        self._segments = store.event_segment_paths(manifest)
        self._live = store.with_live(S.STORED_EVENT_SCHEMA.empty_table().to_pandas(), manifest)  # small: compacted away
        # The ids alone (the users table's column, each segment's distinct ids), never every event at once.
        tables = [store.root / manifest.users] if manifest.users else []
        ids = [self._live[S.USER_ID].astype(str).to_numpy(dtype=object)]
        for path in [*tables, *self._segments]:
            ids.append(pc.unique(pq.read_table(path, columns=[S.USER_ID]).column(S.USER_ID)).to_numpy(zero_copy_only=False))
        self.user_ids = IdMap.from_values(np.concatenate(ids))
        self.n_events = sum(int(seg["rows"]) for seg in manifest.event_segments) + len(self._live)  # type: ignore[call-overload]

    def __len__(self) -> int:
        return len(self.user_ids)

    def chunk_users(self, events: int = READ_EVENTS) -> int:
        """How many users hold about `events` events, on average: the users one `read` should take."""
        return max(1, int(events * max(len(self.user_ids), 1) / max(self.n_events, 1)))

    def read(self, user_ids: np.ndarray) -> Histories:
        """The histories of the given distinct external ids, in their order; an id the store does not
        know has none. Reads only the row groups of the segments that hold their id range."""
        user_ids = np.asarray(user_ids, dtype=object)
        events = self._events_of(user_ids)
        users = pd.Index(user_ids).get_indexer(events[S.USER_ID].astype(str).to_numpy(dtype=object))
        items = self.bundle.item_ids.index_of(events[S.ITEM_ID].to_numpy(dtype=object))
        known = items >= 0
        stamps = events[S.TIMESTAMP]
        if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
            stamps = pd.to_datetime(stamps, utc=True)
        ts = stamps.array.as_unit("ms").asi8[known]
        codes = pd.Index(S.EVENT_TYPES).get_indexer(events[S.EVENT_TYPE].astype(str)).astype(np.int8)[known]
        values = events[S.VALUE]
        if not pd.api.types.is_float_dtype(values.dtype):
            values = pd.to_numeric(values, errors="coerce")
        values = values.to_numpy(np.float32, na_value=np.nan)[known]
        users, items = users[known], items[known].astype(np.int32)
        by_user = np.argsort(users, kind="stable")  # each user's events in the order the store read them
        users, items, ts, codes, values = users[by_user], items[by_user], ts[by_user], codes[by_user], values[by_user]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(users, minlength=len(user_ids)))]).astype(np.int64)
        ts = _clamp_per_user(ts, users, indptr)
        order = np.lexsort((ts, users))  # oldest first within each user; stable, as history_of's sort
        return Histories(indptr=indptr, items=items[order], event_types=codes[order], timestamps=ts[order],
                         values=values[order])

    def _events_of(self, user_ids: np.ndarray) -> pd.DataFrame:
        """`Store.read_events` for these users: their events in the segments, then their live-log
        events not already stored."""
        if not len(user_ids):
            return S.STORED_EVENT_SCHEMA.empty_table().to_pandas()
        ordered = np.sort(user_ids)
        filters = [(S.USER_ID, ">=", ordered[0]), (S.USER_ID, "<=", ordered[-1]), (S.USER_ID, "in", list(user_ids))]
        tables = [pq.read_table(p, filters=filters, schema=S.STORED_EVENT_SCHEMA) for p in self._segments]
        stored = pa.concat_tables(tables).to_pandas() if tables else S.STORED_EVENT_SCHEMA.empty_table().to_pandas()
        live = self._live[self._live[S.USER_ID].isin(user_ids)]
        if len(live):
            live = live[~np.isin(live[S.EVENT_HASH].to_numpy(), stored[S.EVENT_HASH].to_numpy())]
            stored = pd.concat([stored, live[list(S.STORED_EVENT_SCHEMA.names)]], ignore_index=True)
        return stored


def _clamp_per_user(ts: np.ndarray, users: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """`clamp_times` applied to each user's times on their own, as `history_of` does (only users with a
    time past the allowed future are touched: a store written before times were checked)."""
    cap = int(TimeBounds().latest().value // 1_000_000)
    if not len(ts) or ts.max() <= cap:
        return ts
    ts = ts.copy()
    for u in np.unique(users[ts > cap]):
        ts[indptr[u]:indptr[u + 1]] = clamp_times(ts[indptr[u]:indptr[u + 1]])
    return ts


def request_times(histories: Histories, now_ms: int | None = None) -> np.ndarray:
    """Each user's request time as the engine's one-user `recommend` takes it: `now_ms` when given,
    else the wall clock, never before the user's latest event."""
    if now_ms is not None:
        return np.full(len(histories), int(now_ms), dtype=np.int64)
    clock = int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
    now = np.full(len(histories), clock, dtype=np.int64)
    np.maximum.at(now, histories.row_of_each_event(), histories.timestamps)
    return now


def rows_table(user_ids: np.ndarray, lists: list[RankedList], item_ids: IdMap) -> pa.Table:
    """One row per (user, rank): user_id, rank (1..), item_id, score (rounded as `recommend` rounds it)."""
    lengths = np.array([len(ranked) for ranked in lists], dtype=np.int64)
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    items = np.concatenate([ranked.items for ranked in lists]) if total else np.zeros(0, np.int64)
    scores = np.concatenate([ranked.scores.astype(np.float64) for ranked in lists]) if total else np.zeros(0)
    return pa.table({
        S.USER_ID: pa.array(np.repeat(np.asarray(user_ids, dtype=object), lengths), type=pa.string()),
        "rank": pa.array((np.arange(total) - starts + 1).astype(np.int32)),
        S.ITEM_ID: pa.array(item_ids.id_of(items), type=pa.string()),
        "score": pa.array(np.round(scores, 6)),
    }, schema=ROW_SCHEMA)


def write_recommendations(engine: RecommendationEngine, histories: StoredHistories, user_ids: np.ndarray, k: int,
                          out: Path, *, fmt: str | None = None, model: str | None = None,
                          filters: ItemFilters | None = None, batch_users: int = DEFAULT_BATCH_USERS,
                          read_users: int | None = None, now_ms: int | None = None) -> BatchSummary:
    """The engine's top `k` for each of the distinct `user_ids` (in that order), written to `out` as
    Parquet, CSV or JSON Lines (`fmt`, default by suffix) in batches of at most `batch_users` users,
    with progress. Histories are read `read_users` users at a time (default: about READ_EVENTS events)."""
    fmt = output_format(out, fmt)
    user_ids = pd.unique(np.asarray(user_ids, dtype=object))
    if batch_users < 1:
        raise ConfigError(f"the batch size must be at least 1 user, got {batch_users}")
    name = model or engine.bundle.default_model
    engine.lists(Histories.empty(0), k, model=name)  # an unknown model or a bad k fails before any file is made
    step = max(1, min(batch_users, MAX_BATCH_CELLS // max(len(engine.catalogue), 1)))
    chunk = max(step, read_users or histories.chunk_users())
    metadata = {"shoprec.model": name, "shoprec.bundle": str(engine.bundle.version), "shoprec.k": str(k)}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started, written = time.perf_counter(), 0

    def produce(staged: Path) -> None:
        nonlocal written
        rows = _open_writer(fmt, staged, metadata)
        try:
            with progress.task(f"recommend ({name}) -> {out.name}", total=len(user_ids), unit="users") as bar:
                for first in range(0, len(user_ids), chunk):
                    ids = user_ids[first:first + chunk]
                    read = histories.read(ids)
                    for start in range(0, len(ids), step):
                        batch = read.select(np.arange(start, min(start + step, len(ids))))
                        lists = engine.lists(batch, k, model=name, now_ms=request_times(batch, now_ms), filters=filters)
                        table = rows_table(ids[start:start + step], lists, engine.catalogue.item_ids)
                        rows.write(table)
                        written += table.num_rows
                        bar.advance(len(lists))
        finally:
            rows.close()

    write_with(out, produce)
    return BatchSummary(users=len(user_ids), rows=written, seconds=round(time.perf_counter() - started, 3),
                        path=str(out), format=fmt, model=name, bundle=str(engine.bundle.version), k=k)


class _Rows:
    """Where a run's rows go, a batch at a time."""

    def write(self, table: pa.Table) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _ParquetRows(_Rows):
    def __init__(self, path: Path, metadata: dict[str, str]) -> None:
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(path, ROW_SCHEMA.with_metadata(metadata))

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


class _CsvRows(_Rows):
    def __init__(self, path: Path, metadata: dict[str, str]) -> None:
        from pyarrow import csv

        self._writer = csv.CSVWriter(str(path), ROW_SCHEMA)

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


class _JsonlRows(_Rows):
    def __init__(self, path: Path, metadata: dict[str, str]) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            text = table.to_pandas().to_json(orient="records", lines=True, force_ascii=False)
            self._file.write(text if text.endswith("\n") else text + "\n")

    def close(self) -> None:
        self._file.close()


def _open_writer(fmt: str, path: Path, metadata: dict[str, str]) -> _Rows:
    return {"parquet": _ParquetRows, "csv": _CsvRows, "jsonl": _JsonlRows}[fmt](path, metadata)

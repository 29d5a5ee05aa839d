"""Ingestion: sources -> validated canonical rows -> the store, with a quarantine and a summary.

Events are streamed chunk by chunk into one new segment per ingest, written in sorted runs
(shoprec.data.segment_writer), so memory stays bounded by a chunk and a run (plus 8 bytes per
stored event for the repeat check). Exact repeats of an event
already stored, or seen earlier in the same ingest, are merged (counted as duplicates).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from shoprec.data import schema as S
from shoprec.data.event_hash import event_hashes
from shoprec.data.kinds import KINDS
from shoprec.data.mapping import ColumnMapping, detect_category_separator
from shoprec.data.profile import Profile
from shoprec.data.profile import save as save_profile
from shoprec.data.quarantine import QuarantineWriter
from shoprec.data.readers import RawChunk
from shoprec.data.segment_writer import SegmentWriter
from shoprec.data.store import Manifest, Store
from shoprec.data.validate import VALIDATORS
from shoprec.errors import DataError
from shoprec.progress import task


@dataclass
class Source:
    """One table to ingest: its kind, its raw chunks, and how to map them.

    `prepare` lets an adapter reshape a raw chunk (split a category code, strip a price prefix)
    before the common validation runs. `rows` (when known in advance) and `progress_label` are for
    the progress lines: without `rows`, the total is estimated from the share of the file read.
    """

    kind: str
    label: str
    chunks: Callable[[], Iterator[RawChunk]]
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    prepare: Callable[[RawChunk], RawChunk] | None = None
    rows: int | None = None
    progress_label: str | None = None
    detected_category_sep: str | None = None  # set by the ingest when the mapping left it to detection

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"unknown table kind '{self.kind}', expected one of {', '.join(KINDS)}")

    @classmethod
    def from_frames(cls, kind: str, label: str, frames: Callable[[], Iterable[pd.DataFrame]],
                    mapping: ColumnMapping | None = None, *, rows: int | None = None,
                    progress_label: str | None = None) -> Source:
        """A source of frames made in memory (the synthetic shop, an adapter's joined table)."""

        def chunks() -> Iterator[RawChunk]:
            start = 1
            for frame in frames():
                frame = frame.reset_index(drop=True)
                yield RawChunk(label, frame, np.arange(start, start + len(frame), dtype=np.int64))
                start += len(frame)

        return cls(kind, label, chunks, mapping or ColumnMapping(), rows=rows, progress_label=progress_label)


@dataclass
class IngestSummary:
    """What an ingest did: the JSON printed by `shoprec ingest --json`."""

    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    quarantine: str | None = None
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    unknown_items: int = 0
    events_with_unknown_items: int = 0
    sources: list[str] = field(default_factory=list)
    committed: bool = True
    seconds: float = 0.0
    category_separators: dict[str, str] = field(default_factory=dict)  # source -> the separator detected, and why
    warnings: list[dict[str, object]] = field(default_factory=list)  # the data profile's (data/profile.py)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def count(self, kind: str, key: str, n: int) -> None:
        self.by_kind.setdefault(kind, {"accepted": 0, "duplicates": 0, "rejected": 0})
        self.by_kind[kind][key] = self.by_kind[kind].get(key, 0) + n

    def to_json(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": self.rejected_total,
            "quarantine": self.quarantine,
            "by_kind": self.by_kind,
            "unknown_items": self.unknown_items,
            "events_with_unknown_items": self.events_with_unknown_items,
            "sources": self.sources,
            "committed": self.committed,
            "seconds": round(self.seconds, 3),
            "category_separators": self.category_separators,
            "warnings": self.warnings,
        }


def ingest(store: Store, sources: Iterable[Source], *, strict: bool = False) -> IngestSummary:
    """Ingest the sources in order under the store's writer lock.

    Catalogue and user tables are merged (a new non-empty value replaces the old one); events
    are appended. With `strict`, nothing is committed when any row is rejected.
    """
    started = time.perf_counter()
    summary = IngestSummary()
    quarantine_path = store.workspace / "quarantine" / f"ingest-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{time.time_ns() % 10**6:06d}.csv"
    sources = list(sources)
    with QuarantineWriter(quarantine_path) as quarantine, store.writing() as manifest:
        staged = _Staged(store, manifest)
        for source in sources:
            summary.sources.append(f"{source.kind}: {source.label}")
            if source.kind == "events":
                _ingest_events(staged, source, quarantine, summary)
            else:
                _ingest_table(staged, source, quarantine, summary)
            if source.detected_category_sep is not None:
                summary.category_separators[source.label] = source.detected_category_sep
        summary.rejected = Counter(quarantine.counts)
        if strict and quarantine.total:
            staged.discard()
            summary.committed = False
        else:
            staged.commit()
            summary.unknown_items, summary.events_with_unknown_items = staged.unknown_item_counts()
        summary.quarantine = str(quarantine_path) if quarantine.total else None
        # the data profile (data/profile.py): its warnings in the summary, the latest one in the workspace
        summary.warnings = staged.profile.finish(
            rejected=summary.rejected, events_accepted=summary.by_kind.get("events", {}).get("accepted", 0),
            events_with_unknown_items=summary.events_with_unknown_items, unknown_items=summary.unknown_items,
            catalogue=staged.tables.get("items"))
        save_profile(store.workspace, staged.profile, summary.warnings, sources=summary.sources, committed=summary.committed)
    summary.seconds = time.perf_counter() - started
    return summary


class _Staged:
    """Writes made during one ingest, published together at the end (or thrown away)."""

    def __init__(self, store: Store, manifest: Manifest) -> None:
        self.store, self.manifest = store, manifest
        self.segments: list[tuple[Path, int, str]] = []
        self.tables: dict[str, pd.DataFrame] = {}
        # events per item id of this ingest, to count those outside the catalogue at the end
        self.item_counts: pd.Series | None = None
        self._stored_hashes: np.ndarray | None = None
        self._new_hashes: list[np.ndarray] = []
        self.profile = Profile()  # fed every chunk (data/profile.py)

    def stored_hashes(self) -> np.ndarray:
        if self._stored_hashes is None:
            self._stored_hashes = self.store.stored_hashes(self.manifest)
        return self._stored_hashes

    def is_repeat(self, hashes: np.ndarray) -> np.ndarray:
        """True for hashes already stored, already seen in this ingest, or repeated within `hashes`."""
        repeat = _in_sorted(hashes, self.stored_hashes())
        for seen in self._new_hashes:
            repeat |= _in_sorted(hashes, seen)
        repeat |= pd.Series(hashes).duplicated().to_numpy()
        return repeat

    def remember(self, hashes: np.ndarray) -> None:
        self._new_hashes.append(np.sort(hashes))
        if len(self._new_hashes) > 16:
            self._new_hashes = [np.sort(np.concatenate(self._new_hashes))]

    def table(self, kind: str) -> pd.DataFrame:
        if kind not in self.tables:
            reader = {"items": self.store.items, "users": self.store.users, "judgments": self.store.judgments}[kind]
            self.tables[kind] = reader()
        return self.tables[kind]

    def merge(self, kind: str, frame: pd.DataFrame) -> None:
        key = {"items": S.ITEM_ID, "users": S.USER_ID}.get(kind)
        current = self.table(kind)
        if key is None:  # judgments: a repeated (query, item) keeps the newest relevance
            merged = pd.concat([current, frame], ignore_index=True).drop_duplicates([S.QUERY, S.ITEM_ID], keep="last")
        else:
            merged = _merge_by_key(current, frame, key)
        self.tables[kind] = merged.reset_index(drop=True)

    def commit(self) -> None:
        for tmp, rows, label in self.segments:
            self.store.add_segment(self.manifest, tmp, rows, label)
        for kind, frame in self.tables.items():
            self.store.write_table(self.manifest, kind, frame)

    def discard(self) -> None:
        for tmp, _, _ in self.segments:
            tmp.unlink(missing_ok=True)
        self.segments.clear()
        self.tables.clear()

    def count_items(self, item_ids: pd.Series) -> None:
        counts = item_ids.value_counts()
        self.item_counts = counts if self.item_counts is None else self.item_counts.add(counts, fill_value=0)

    def unknown_item_counts(self) -> tuple[int, int]:
        """Distinct items of this ingest's events missing from the catalogue, and their events."""
        if self.item_counts is None:
            return 0, 0
        catalog = pd.Index(self.table("items")[S.ITEM_ID].to_numpy(dtype=object))
        missing = self.item_counts[~self.item_counts.index.isin(catalog)]
        return len(missing), int(missing.sum())


def _ingest_events(staged: _Staged, source: Source, quarantine: QuarantineWriter, summary: IngestSummary) -> None:
    tmp = staged.store.new_path("events/seg").with_suffix(".tmp")
    writer = SegmentWriter(tmp)
    inline_items: list[pd.DataFrame] = []
    try:
        for chunk in _read(source):
            valid = VALIDATORS["events"](chunk, source.mapping)
            staged.profile.raw("events", chunk.frame, source.mapping.columns)
            quarantine.write(valid.rejects)
            summary.count("events", "rejected", len(valid.rejects))
            frame = valid.frame
            hashes = event_hashes(frame)
            repeat = staged.is_repeat(hashes)
            # the profile counts repeats within this ingest, not those of events stored before
            staged.profile.events(frame, int(repeat.sum()) - int(_in_sorted(hashes[repeat], staged.stored_hashes()).sum()))
            keep = ~repeat
            staged.remember(hashes[keep])
            summary.duplicates += int(repeat.sum())
            summary.count("events", "duplicates", int(repeat.sum()))
            kept = frame.loc[keep, list(S.EVENT_COLUMNS)].assign(**{S.EVENT_HASH: hashes[keep]})
            inline = _inline_items(frame)
            if inline is not None:
                inline_items.append(inline)
                staged.profile.catalogue_touched = True
            if len(kept):
                writer.write(pa.Table.from_pandas(kept, schema=S.STORED_EVENT_SCHEMA, preserve_index=False))
                staged.count_items(kept[S.ITEM_ID])
            summary.accepted += len(kept)
            summary.count("events", "accepted", len(kept))
    finally:
        writer.close()
    if writer.rows:
        staged.segments.append((tmp, writer.rows, source.label))
    if inline_items:
        latest = pd.concat(inline_items, ignore_index=True).sort_values(S.TIMESTAMP, kind="stable")
        staged.merge("items", _collapse_latest(latest.drop(columns=[S.TIMESTAMP]), S.ITEM_ID))


def _ingest_table(staged: _Staged, source: Source, quarantine: QuarantineWriter, summary: IngestSummary) -> None:
    frames = []
    for chunk in _read(source):
        valid = VALIDATORS[source.kind](chunk, source.mapping)
        staged.profile.raw(source.kind, chunk.frame, source.mapping.columns)
        staged.profile.table(source.kind, valid.frame)
        quarantine.write(valid.rejects)
        summary.count(source.kind, "rejected", len(valid.rejects))
        frames.append(valid.frame)
        summary.accepted += len(valid.frame)
        summary.count(source.kind, "accepted", len(valid.frame))
    if frames:
        frame = pd.concat(frames, ignore_index=True)
        if source.kind != "judgments":
            frame = _collapse_latest(frame, S.ITEM_ID if source.kind == "items" else S.USER_ID)
        staged.merge(source.kind, frame)


def _read(source: Source) -> Iterator[RawChunk]:
    """The source's chunks, prepared, counted on its progress line as the caller finishes each.

    Without `source.rows`, the total is estimated from the share of the file read so far (a
    reader's `read_share`) and is exact once the source is exhausted.
    """
    with task(source.progress_label or f"ingest {source.label}", total=source.rows, unit="rows") as bar:
        seen = 0
        for chunk in source.chunks():
            rows, share = len(chunk.frame) + len(chunk.rejects), chunk.read_share
            prepared = chunk if source.prepare is None else source.prepare(chunk)
            _settle_category_separator(source, prepared)
            yield prepared
            seen += rows
            if source.rows is None and share:
                bar.set_total(max(seen, round(seen / share)))
            bar.advance(rows)
        bar.set_total(seen)


def _settle_category_separator(source: Source, chunk: RawChunk) -> None:
    """Detect the category separator from the first chunk holding categories, once per source, when
    the mapping leaves it open (data/mapping.py); every chunk of the source then uses that one."""
    if source.mapping.category_sep is not None or source.kind not in ("events", "items"):
        return
    column = source.mapping.columns.get(S.CATEGORY, S.CATEGORY)
    if column not in chunk.frame.columns:
        return
    values = source.mapping.missing_as_none(chunk.frame[column])
    if not values.notna().any():
        return
    separator, why = detect_category_separator(values)
    source.mapping = replace(source.mapping, category_sep=separator)
    source.detected_category_sep = why


def _inline_items(frame: pd.DataFrame) -> pd.DataFrame | None:
    """Item fields an event log carries inline (REES46: brand, price, category per event)."""
    present = [c for c in S.ITEM_COLUMNS_IN_EVENTS if c in frame and frame[c].notna().any()]
    if not present:
        return None
    return frame[[S.ITEM_ID, S.TIMESTAMP, *present]]


def _collapse_latest(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per key: for each column the last non-empty value (rows are in time/file order)."""
    if frame[key].is_unique:
        return frame
    return frame.groupby(key, sort=False, as_index=False).last()


def _merge_by_key(current: pd.DataFrame, new: pd.DataFrame, key: str) -> pd.DataFrame:
    if current.empty:
        return new.reindex(columns=current.columns)
    cur = current.set_index(key)
    upd = new.set_index(key).reindex(columns=cur.columns)
    cur = cur.astype(object)
    upd = upd.astype(object)
    combined = upd.combine_first(cur.reindex(cur.index.union(upd.index)))
    return combined.reset_index().rename(columns={"index": key})[list(current.columns)]


def _in_sorted(values: np.ndarray, sorted_pool: np.ndarray) -> np.ndarray:
    if not len(sorted_pool):
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_pool, values)
    pos[pos == len(sorted_pool)] = 0
    return sorted_pool[pos] == values


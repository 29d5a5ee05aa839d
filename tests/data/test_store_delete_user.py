"""Store.delete_user: a shopper's events, user row and quarantined rows are erased, nobody else's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from shoprec.data import schema as S
from shoprec.data.ingest import Source, ingest
from shoprec.data.store import Store


def _events(user: str, items: list[str], day: int = 1) -> pd.DataFrame:
    return pd.DataFrame({S.USER_ID: [user] * len(items), S.ITEM_ID: items, S.EVENT_TYPE: ["view"] * len(items),
                         S.TIMESTAMP: [f"2024-01-{day:02d}T10:00:0{i}Z" for i in range(len(items))]})


def _stored_user_ids(store: Store) -> list[str]:
    """Every user id in every file the store holds, read straight from disk (not through read_events)."""
    found: list[str] = []
    for path in (store.root / "events").glob("*.parquet"):
        found += pq.read_table(path, columns=[S.USER_ID]).column(0).to_pylist()
    with sqlite3.connect(store.root / "live.sqlite") as conn:
        found += [row[0] for row in conn.execute("SELECT user_id FROM events")]
    for path in store.root.glob("users-*.parquet"):
        found += pq.read_table(path, columns=[S.USER_ID]).column(0).to_pylist()
    return found


def test_delete_user_erases_segments_live_log_user_row_and_quarantine(workspace: Path) -> None:
    store = Store(workspace)
    users = pd.DataFrame({S.USER_ID: ["alice", "bob"], S.AGE: [30, 40]})
    bad = pd.DataFrame({S.USER_ID: ["alice", "bob"], S.ITEM_ID: ["x", "y"], S.EVENT_TYPE: ["teleport", "teleport"],
                        S.TIMESTAMP: ["2024-01-01", "2024-01-01"]})
    ingest(store, [
        Source.from_frames("users", "users", lambda: [users]),
        Source.from_frames("events", "first", lambda: [pd.concat([_events("alice", ["a", "b"]), _events("bob", ["a"])])]),
        Source.from_frames("events", "only alice", lambda: [_events("alice", ["c"], day=2)]),
        Source.from_frames("events", "rejects", lambda: [bad]),
    ])
    store.append_events(pd.concat([_events("alice", ["d"], day=3), _events("bob", ["e"], day=3)]).assign(
        **{S.TIMESTAMP: lambda f: pd.to_datetime(f[S.TIMESTAMP], utc=True)}))
    assert _stored_user_ids(store).count("alice") == 5  # 3 in segments, 1 live, 1 user row
    quarantine = next((workspace / "quarantine").glob("*.csv"))
    assert "alice" in quarantine.read_text()
    crashed = store.root / "events" / "seg-crashed.tmp"  # a segment an ingest was writing when it crashed
    crashed.write_bytes(b"alice,i9,view")

    erased = store.delete_user("alice")

    assert (erased.segment_events, erased.live_events, erased.user_rows, erased.quarantine_rows) == (3, 1, 1, 1)
    assert erased.segments_rewritten == 2  # "first" rewritten without her, "only alice" dropped
    assert "alice" not in _stored_user_ids(store)
    assert not crashed.exists()
    assert "alice" not in quarantine.read_text() and "bob" in quarantine.read_text()
    assert store.read_events("alice").empty
    bob = store.read_events("bob")
    assert sorted(bob[S.ITEM_ID]) == ["a", "e"]
    assert list(store.users()[S.USER_ID]) == ["bob"]
    assert len(store.manifest().event_segments) == 1
    assert store.counts()["events"] == 2


def test_delete_user_twice_and_unknown_user_remove_nothing(workspace: Path) -> None:
    store = Store(workspace)
    ingest(store, [Source.from_frames("events", "e", lambda: [_events("bob", ["a", "b"])])])
    before = store.manifest().event_segments
    erased = store.delete_user("nobody")
    assert erased.events == 0 and erased.segments_rewritten == 0
    assert store.manifest().event_segments == before
    assert len(store.read_events()) == 2


def test_events_posted_after_erasure_are_kept(workspace: Path) -> None:
    store = Store(workspace)
    store.append_events(_events("carol", ["a"]).assign(**{S.TIMESTAMP: pd.Timestamp("2024-01-01", tz="UTC")}))
    assert store.delete_user("carol").live_events == 1
    store.append_events(_events("carol", ["b"]).assign(**{S.TIMESTAMP: pd.Timestamp("2024-02-01", tz="UTC")}))
    assert list(store.read_events("carol")[S.ITEM_ID]) == ["b"]

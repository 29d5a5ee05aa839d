"""IndexedStore: one shopper's events read from memory equal what the plain Store reads from disk,
through live appends, repeats, new segments, compaction and erasure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoprec.data import schema as S
from shoprec.data.ingest import Source, ingest
from shoprec.data.store import Store
from shoprec.data.synthetic import ShopSpec, generate_shop
from shoprec.service.histories import IndexedStore


def _same_for_everyone(indexed: IndexedStore, plain: Store, users: list[str]) -> None:
    for user in users:
        pd.testing.assert_frame_equal(indexed.read_events(user), plain.read_events(user), obj=f"events of {user}")


def _events(user: str, items: list[str], second: int) -> pd.DataFrame:
    return pd.DataFrame({S.USER_ID: [user] * len(items), S.ITEM_ID: items, S.EVENT_TYPE: ["view"] * len(items),
                         S.TIMESTAMP: pd.to_datetime([1_727_000_000 + second + i for i in range(len(items))], unit="s", utc=True)})


def test_indexed_reads_equal_plain_reads(workspace: Path) -> None:
    shop = generate_shop(ShopSpec(users=40, items=30, events=1500, seed=3, days=10))
    plain = Store(workspace)
    ingest(plain, [Source.from_frames("events", "first", lambda: list(shop.event_chunks()))])
    users = sorted(shop.users[S.USER_ID].astype(str))[:15] + ["nobody"]
    indexed = IndexedStore(workspace)
    assert indexed.warm() == 1500

    _same_for_everyone(indexed, plain, users)
    indexed.append_events(_events(users[0], ["i000001", "new-item"], 0))  # live rows
    first_stored = plain.read_events(users[1]).iloc[[0]][list(S.EVENT_COLUMNS)]
    indexed.append_events(first_stored)  # an exact repeat of a stored event: merged, not doubled
    _same_for_everyone(indexed, plain, users)
    assert len(indexed.read_events(users[1])) == len(plain.read_events(users[1]))

    ingest(plain, [Source.from_frames("events", "second", lambda: [_events(users[2], ["i000003"], 50)])])  # a new segment
    _same_for_everyone(indexed, plain, users)
    assert plain.compact() == 2  # the live rows move into a segment
    _same_for_everyone(indexed, plain, users)

    indexed.delete_user(users[3])
    assert indexed.read_events(users[3]).empty
    _same_for_everyone(indexed, plain, users)
    current = set(indexed.event_segment_paths())
    assert set(indexed._index) <= current  # no index of a removed segment (erased rows) is kept
    pd.testing.assert_frame_equal(indexed.read_events(), plain.read_events())

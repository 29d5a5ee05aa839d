"""The erasure log: Store.delete_user announces each erasure there, in order, for every process on the
store to follow; entries expire after RETENTION_S and leave no copy on disk."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from shoprec.data import schema as S
from shoprec.data.erasure_log import FILE, RETENTION_S, ErasureLog
from shoprec.data.store import Store


def _events(user: str) -> pd.DataFrame:
    return pd.DataFrame({S.USER_ID: [user], S.ITEM_ID: ["i1"], S.EVENT_TYPE: ["view"], S.TIMESTAMP: ["2024-01-01T10:00:00Z"]})


def test_an_erasure_through_one_store_is_read_in_order_through_another(workspace: Path) -> None:
    one, other = Store(workspace), Store(workspace)
    assert other.erasures.last() == 0 and other.erasures.after(0) == []
    one.append_events(_events("alice"))
    first = one.delete_user("alice")
    second = one.delete_user("bob")  # nothing stored: still announced (it may finish a crashed run)
    assert (first.log_seq, second.log_seq) == (1, 2)
    assert first.events == 1 and "log_seq" not in first.to_json()
    assert other.erasures.last() == 2
    assert other.erasures.after(0) == [(1, "alice"), (2, "bob")]
    assert other.erasures.after(1) == [(2, "bob")]
    assert other.erasures.after(2) == []
    one.close()
    other.close()


def test_expired_entries_are_pruned_and_leave_no_copy_on_disk(workspace: Path) -> None:
    store = Store(workspace)
    log = store.erasures
    now = time.time()
    log.record("long-gone-shopper", now=now - RETENTION_S - 60)
    log.record("recent-shopper", now=now - 60)
    assert log.prune(now=now) == 1
    assert log.prune(now=now) == 0
    assert log.after(0) == [(2, "recent-shopper")]
    assert log.last() == 2  # the sequence goes on: a follower that missed entry 1 sees the gap
    raw = b"".join(p.read_bytes() for p in store.root.glob(f"{FILE}*"))
    assert b"long-gone-shopper" not in raw and b"recent-shopper" in raw

    # recording prunes too, and a sequence is never handed out again, even with every entry gone
    assert log.record("latest", now=now + RETENTION_S + 1) == 3
    assert log.after(0) == [(3, "latest")]
    store.close()
    reopened = ErasureLog(store.root / FILE)
    reopened.prune(now=now + 3 * RETENTION_S)
    assert reopened.after(0) == [] and reopened.last() == 3
    assert reopened.record("next") == 4
    reopened.close()

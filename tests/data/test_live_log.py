"""LiveLog.read builds the frame pandas' own SQL reader builds, for every mix of present and missing fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.live_log import _COLUMNS
from shoprec.data.store import Store


def test_read_matches_pandas_read_sql_query(workspace: Path) -> None:
    store = Store(workspace)
    events = pd.DataFrame({
        S.USER_ID: ["a", "a", "b", "c"], S.ITEM_ID: ["i1", "i2", "i3", "i1"], S.EVENT_TYPE: ["view", "rating", "view", "search"],
        S.TIMESTAMP: pd.to_datetime([1_700_000_000_123, 1_700_000_001_000, 5, 1_700_000_002_000], unit="ms", utc=True),
        S.SESSION_ID: [None, "s1", None, "s2"], S.VALUE: [None, 4.5, None, None], S.QUERY: [None, None, None, "red lamp"],
        S.REVIEW_TEXT: [None, "fine", None, None],
    })
    store.append_events(events)
    conn = store.live._conn
    for after, user in ((0, None), (0, "a"), (1, "a"), (0, "nobody"), (2, None), (99, None)):
        query = f"SELECT seq, {', '.join(_COLUMNS)} FROM events WHERE seq > ?" + (" AND user_id = ?" if user else "")
        expected = pd.read_sql_query(query + " ORDER BY seq", conn, params=[after, *([user] if user else [])])
        seqs_expected = expected.pop("seq").to_numpy(np.int64)
        expected[S.TIMESTAMP] = pd.to_datetime(expected.pop("ts_ms").astype("int64"), unit="ms", utc=True).dt.as_unit("ms")
        expected[S.EVENT_HASH] = expected[S.EVENT_HASH].astype("int64").to_numpy().view(np.uint64)
        frame, seqs = store.live.read(after, user)
        pd.testing.assert_frame_equal(frame, expected)
        assert np.array_equal(seqs, seqs_expected)
    a, _ = store.live.read(0, "a")
    assert list(a[S.ITEM_ID]) == ["i1", "i2"] and a[S.VALUE].isna().tolist() == [True, False]

"""A shopper's history as it is now, in a bundle's item indices: what every request scores from.

`history_of` reads the store (segments and live log, so an event posted a moment ago counts);
`append_views` adds item ids given with the request (a shopper the store does not know). The
recommendation engine (`shoprec.ranking.engine`) and personalised search both start here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoprec.bundle import Bundle
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.store import Store
from shoprec.errors import ConfigError


def history_of(store: Store, bundle: Bundle, user_id: str) -> Histories:
    """The user's stored events (segments and live log), as a one-user batch in bundle indices."""
    events = store.read_events(user_id=user_id)
    items = bundle.item_ids.index_of(events[S.ITEM_ID].astype(str).to_numpy()) if len(events) else np.zeros(0, np.int64)
    known = items >= 0
    events = events[known]
    ts = pd.to_datetime(events[S.TIMESTAMP], utc=True).dt.as_unit("ms").astype("int64").to_numpy() if len(events) else np.zeros(0, np.int64)
    order = np.argsort(ts, kind="stable")
    return Histories(
        indptr=np.array([0, len(events)], dtype=np.int64),
        items=items[known][order].astype(np.int32),
        event_types=events[S.EVENT_TYPE].map(S.EVENT_TYPE_CODE).to_numpy(np.int8)[order],
        timestamps=ts[order],
        values=pd.to_numeric(events[S.VALUE], errors="coerce").to_numpy(np.float32)[order] if len(events) else np.zeros(0, np.float32),
    )


def history_from_items(bundle: Bundle, item_ids: list[str], now_ms: int) -> Histories:
    """A one-user batch of views of the given items (oldest first), for a shopper the store does not know."""
    items = bundle.item_ids.index_of(item_ids)
    unknown = [i for i, idx in zip(item_ids, items) if idx < 0]
    if unknown:
        raise ConfigError(f"--history: item {unknown[0]!r} is not in bundle {bundle.version}")
    n = len(items)
    return Histories(
        indptr=np.array([0, n], dtype=np.int64),
        items=items.astype(np.int32),
        event_types=np.full(n, S.EVENT_TYPE_CODE[S.EventType.VIEW.value], dtype=np.int8),
        timestamps=now_ms - np.arange(n, 0, -1, dtype=np.int64) * 1000,  # one second apart, in the given order
        values=np.full(n, np.nan, dtype=np.float32),
    )


def append_views(bundle: Bundle, history: Histories, item_ids: list[str]) -> Histories:
    """A one-user history with views of `item_ids` added after its latest event (a second apart)."""
    latest = int(history.timestamps.max()) if len(history.timestamps) else int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
    return _append(history, history_from_items(bundle, item_ids, latest + 1000 * (len(item_ids) + 1)))


def _append(first: Histories, second: Histories) -> Histories:
    """One user's events from two one-user batches, in order."""
    return Histories(
        indptr=np.array([0, len(first.items) + len(second.items)], dtype=np.int64),
        items=np.concatenate([first.items, second.items]),
        event_types=np.concatenate([first.event_types, second.event_types]),
        timestamps=np.concatenate([first.timestamps, second.timestamps]),
        values=np.concatenate([first.values, second.values]),
    )


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else str(value)

"""Answering one shopper from the current bundle and the store as it is now.

The same path the service will take: read the user's history at request time, map it to the
bundle's item indices, and call the model's `recommend`. A user with no history (or only items
the bundle does not know) still gets an answer: the models define scores for empty histories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoprec.bundle import Bundle
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.store import Store
from shoprec.errors import ConfigError
from shoprec.models.base import seen_items


@dataclass(frozen=True)
class Recommendation:
    """One recommended item, with its external id and the catalogue fields a person wants to see."""

    item_id: str
    score: float
    title: str | None
    category: str | None


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


def recommend_for_user(store: Store, bundle: Bundle, user_id: str, k: int = 10, model: str | None = None,
                       exclude_seen: bool = True, extra_items: list[str] | None = None) -> list[Recommendation]:
    """The top `k` items for `user_id` from `model` (the bundle's default when None).

    `extra_items` are views to add after the stored history (a shopper unknown to the store can
    be answered from a few item ids).
    """
    name = model or bundle.default_model
    if name not in bundle.models:
        raise ConfigError(f"model '{name}' is not in bundle {bundle.version}; it has {', '.join(bundle.models)}")
    if not 1 <= k <= 1000:
        raise ConfigError(f"k must be between 1 and 1000, got {k}")
    histories = history_of(store, bundle, user_id)
    if extra_items:
        histories = append_views(bundle, histories, extra_items)
    exclude = seen_items(histories) if exclude_seen else None
    ranked = bundle.models[name].recommend(histories, k, exclude=exclude)[0]
    catalogue = store.items().set_index(S.ITEM_ID)
    ids = bundle.item_ids.id_of(ranked.items)
    rows = catalogue.reindex(ids)
    return [
        Recommendation(str(item_id), float(score), _text(rows[S.TITLE].iloc[i]), _text(rows[S.CATEGORY].iloc[i]))
        for i, (item_id, score) in enumerate(zip(ids, ranked.scores))
    ]


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

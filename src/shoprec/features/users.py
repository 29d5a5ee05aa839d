"""User and user-item features, computed from each history as it is at request time.

User features describe the shopper (how active, how recent, what price level, how broad);
match features describe one candidate against the shopper's history (its category's share of
their events, whether they met its brand or exact category before); timing features place the
item's time on sale (its first and last event in the training data) against the span of the
shopper's own events: an item that first sold after the shopper's last visit, or stopped selling
before their first, is an unlikely pick for them.
"""

from __future__ import annotations

import numpy as np

from shoprec.data.history import MS_PER_DAY, Histories
from shoprec.features.items import NO_TIME, ItemFeatures

USER_FEATURES = ("user_log_events", "user_days_since_last", "user_log_price", "user_n_categories")
MATCH_FEATURES = ("category_share", "top_category_share", "brand_seen", "item_seen")
TIMING_FEATURES = ("item_first_after_user_last_days", "user_first_after_item_last_days")


def user_features(histories: Histories, items: ItemFeatures, now_ms: np.ndarray) -> dict[str, np.ndarray]:
    """One value per user (NaN where undefined, e.g. days since last event for an empty history)."""
    n = len(histories)
    rows = histories.row_of_each_event()
    known = _known(histories, items)
    counts = np.bincount(rows, minlength=n).astype(np.float64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, rows, histories.timestamps)
    since = np.where(counts > 0, (np.asarray(now_ms, np.int64) - last) / MS_PER_DAY, np.nan)
    price = np.where(known, items.log_price[np.where(known, histories.items, 0)], np.nan)
    has_price = ~np.isnan(price)
    price_sum = np.bincount(rows[has_price], weights=price[has_price], minlength=n)
    price_n = np.bincount(rows[has_price], minlength=n)
    categories = np.where(known, items.category[np.where(known, histories.items, 0)], -1)
    pairs = np.unique(rows[categories >= 0].astype(np.int64) * (len(items.category_names) + 1) + categories[categories >= 0])
    n_categories = np.bincount(pairs // (len(items.category_names) + 1), minlength=n).astype(np.float64)
    return {
        "user_log_events": np.log1p(counts),
        "user_days_since_last": since,
        "user_log_price": np.divide(price_sum, price_n, out=np.full(n, np.nan), where=price_n > 0),
        "user_n_categories": n_categories,
    }


def match_features(histories: Histories, items: ItemFeatures, users: np.ndarray, candidates: np.ndarray) -> dict[str, np.ndarray]:
    """One value per (user row `users[i]`, item `candidates[i]`) pair."""
    users = np.asarray(users, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    rows = histories.row_of_each_event().astype(np.int64)
    known = _known(histories, items)
    hist_items = np.where(known, histories.items, 0).astype(np.int64)
    counts = np.maximum(np.bincount(rows, minlength=len(histories)), 1).astype(np.float64)
    out: dict[str, np.ndarray] = {}
    for name, codes in (("category_share", items.category), ("top_category_share", items.top_category)):
        width = int(codes.max(initial=-1)) + 2
        event_keys = rows[known] * width + codes[hist_items[known]] + 1
        keys, key_counts = np.unique(event_keys, return_counts=True)
        wanted = users * width + codes[candidates] + 1
        found = _lookup(keys, key_counts, wanted)
        out[name] = np.where(codes[candidates] >= 0, found / counts[users], 0.0)
    width = int(items.brand.max(initial=-1)) + 2
    brand_keys = np.unique(rows[known] * width + items.brand[hist_items[known]] + 1)
    out["brand_seen"] = (np.isin(users * width + items.brand[candidates] + 1, brand_keys) & (items.brand[candidates] >= 0)).astype(np.float64)
    item_keys = np.unique(rows[known] * items.n_items + hist_items[known])
    out["item_seen"] = np.isin(users * items.n_items + candidates, item_keys).astype(np.float64)
    return out


def timing_features(histories: Histories, items: ItemFeatures, users: np.ndarray, candidates: np.ndarray) -> dict[str, np.ndarray]:
    """Per (user row `users[i]`, item `candidates[i]`): days from the shopper's last event to the
    item's first, and from the item's last event to the shopper's first (positive: no overlap;
    NaN for an empty history or an item without events)."""
    users = np.asarray(users, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    rows = histories.row_of_each_event()
    n = len(histories)
    user_first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    user_last = np.full(n, NO_TIME, dtype=np.int64)
    np.minimum.at(user_first, rows, histories.timestamps)
    np.maximum.at(user_last, rows, histories.timestamps)
    has_user = np.bincount(rows, minlength=n)[users] > 0
    item_first, item_last = items.first_event_ms[candidates], items.last_event_ms[candidates]
    has_item = item_first != NO_TIME
    both = has_user & has_item
    return {
        "item_first_after_user_last_days": np.where(both, (item_first - user_last[users]) / MS_PER_DAY, np.nan),
        "user_first_after_item_last_days": np.where(both, (user_first[users] - item_last) / MS_PER_DAY, np.nan),
    }


def _known(histories: Histories, items: ItemFeatures) -> np.ndarray:
    """Events on items the features know (items added after training are skipped)."""
    return (histories.items >= 0) & (histories.items < items.n_items)


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    position = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
    if not len(keys):
        return np.zeros(len(wanted))
    return np.where(keys[position] == wanted, values[position], 0).astype(np.float64)

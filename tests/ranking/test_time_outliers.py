"""One far-future event in stored data (from before times were checked) moves no time window:
popularity's "now" stays at the wall clock plus the allowed skew, and the event counts nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoprec.data.dataset import Dataset
from shoprec.models.popularity import PopularityRecommender
from shoprec.ranking.cold_start import ContextPopularity


def _shop(with_outlier: bool) -> Dataset:
    now = pd.Timestamp.now(tz="UTC").floor("h")
    rows = [(f"u{u}", f"i{u % 5}", "view", now - pd.Timedelta(hours=u)) for u in range(40)]  # i0..i4, recent
    if with_outlier:
        rows.append(("attacker", "i9", "purchase", pd.Timestamp("9999-12-31T23:59:59Z")))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(10)]})
    return Dataset.from_frames(events, items)


def test_context_popularity_ignores_a_far_future_event() -> None:
    clean = ContextPopularity().fit(_shop(False))
    poisoned = ContextPopularity().fit(_shop(True))
    i9 = _shop(True).item_ids.index("i9")
    assert np.count_nonzero(poisoned.last_week_) == np.count_nonzero(clean.last_week_) == 5
    assert poisoned.last_week_[i9] == 0 and poisoned.recent_[i9] == 0
    now = int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
    assert int(np.argmax(poisoned.scores_at(now))) != i9


def test_windowed_popularity_ignores_a_far_future_event() -> None:
    dataset = _shop(True)
    model = PopularityRecommender(window_days=7.0).fit(dataset)
    i9 = dataset.item_ids.index("i9")
    assert model.item_scores_[i9] == 0
    assert np.count_nonzero(model.item_scores_) == 5
    assert model.reference_time_ms_ <= int((pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)).value // 1_000_000)

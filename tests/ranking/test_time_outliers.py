"""One far-future event in stored data (from before times were checked) moves no time window and no
time-based feature: it is read as one ordinary event at the data's latest valid time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoprec.config import WeightConfig
from shoprec.data.dataset import Dataset
from shoprec.data.timestamps import clamp_times
from shoprec.features.items import ItemFeatures
from shoprec.features.users import user_features
from shoprec.models.popularity import PopularityRecommender
from shoprec.ranking.cold_start import ContextPopularity

_NOW = pd.Timestamp.now(tz="UTC").floor("h")  # one "now" for every shop a test builds
_FAR_FUTURE = pd.Timestamp("9999-12-31T23:59:59Z")


def _shop(with_outlier: bool, outlier_at: pd.Timestamp = _FAR_FUTURE) -> Dataset:
    rows = [(f"u{u}", f"i{u % 5}", "view", _NOW - pd.Timedelta(hours=u)) for u in range(40)]  # i0..i4, recent
    if with_outlier:
        rows.append(("attacker", "i9", "purchase", outlier_at))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(10)]})
    return Dataset.from_frames(events, items)


def test_context_popularity_counts_a_far_future_event_once_and_moves_nothing_else() -> None:
    clean = ContextPopularity().fit(_shop(False))
    poisoned = ContextPopularity().fit(_shop(True))
    i9 = _shop(True).item_ids.index("i9")
    others = np.arange(len(clean.last_week_)) != i9
    assert np.array_equal(poisoned.last_week_[others], clean.last_week_[others])  # the week did not move
    assert poisoned.last_week_[i9] == 1  # one event, like any other
    # The far-future purchase scores exactly as the same purchase at the data's latest valid time
    # would, in every part of the day and on weekdays and weekends alike (no wall-clock dependence).
    ordinary = ContextPopularity().fit(_shop(True, outlier_at=_NOW))
    start = _NOW.floor("D")
    for hours in range(0, 7 * 24, 6):
        at = int((start + pd.Timedelta(hours=hours)).value // 1_000_000)
        assert np.allclose(poisoned.scores_at(at), ordinary.scores_at(at))


def test_windowed_popularity_counts_a_far_future_event_once() -> None:
    clean_data, dataset = _shop(False), _shop(True)
    clean = PopularityRecommender(window_days=7.0).fit(clean_data)
    model = PopularityRecommender(window_days=7.0).fit(dataset)
    i9 = dataset.item_ids.index("i9")
    others = np.arange(len(model.item_scores_)) != i9
    assert np.array_equal(model.item_scores_[others], clean.item_scores_[others])
    assert 0 < model.item_scores_[i9] < model.item_scores_[others].max()
    assert model.reference_time_ms_ == int(clean_data.timestamps.max())


def test_a_far_future_time_becomes_one_ordinary_event_for_every_feature() -> None:
    clean, poisoned = _shop(False), _shop(True)
    latest_clean = int(clean.timestamps.max())
    assert int(poisoned.timestamps.max()) == latest_clean  # the outlier sits at the data's latest valid time
    i9 = poisoned.item_ids.index("i9")
    features = ItemFeatures.from_dataset(poisoned)
    assert features.last_event_ms[i9] == latest_clean
    now = int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
    users = user_features(poisoned.histories(), features, np.full(poisoned.n_users, now))
    assert np.nanmax(users["user_days_since_last"]) < 3 and np.nanmin(users["user_days_since_last"]) >= 0
    far = clamp_times(np.array([latest_clean - 1000, 9_000_000_000_000_000, latest_clean]))
    assert far.tolist() == [latest_clean - 1000, latest_clean, latest_clean]
    alone = clamp_times(np.array([9_000_000_000_000_000]))
    assert alone[0] <= now + 86_400_000 + 60_000  # nothing valid to sit beside: the limit itself


def test_decay_within_a_batch_is_not_moved_by_another_shoppers_outlier() -> None:
    weights = WeightConfig(half_life_days=7.0)
    clean, poisoned = _shop(False), _shop(True)
    honest = [poisoned.user_ids.index(f"u{u}") for u in range(40)]
    mixed = poisoned.histories(np.array(honest + [poisoned.user_ids.index("attacker")]))
    alone = clean.histories(np.array([clean.user_ids.index(f"u{u}") for u in range(40)]))
    with_attacker = mixed.event_weights(weights)[: len(alone.items)]
    assert np.allclose(with_attacker, alone.event_weights(weights))

"""User and match features against a hand-worked example."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shoprec.data.dataset import Dataset
from shoprec.data.history import MS_PER_DAY, Histories
from shoprec.features.items import ItemFeatures
from shoprec.features.users import match_features, timing_features, user_features


def dataset() -> Dataset:
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "category": ["X > P", "X > Q", "Y"], "brand": ["m", "m", "n"],
                          "price": [np.e - 1, np.e ** 2 - 1, None]})
    events = pd.DataFrame({"user_id": ["u", "u", "v"], "item_id": ["a", "b", "c"], "event_type": ["view"] * 3,
                           "timestamp": [0, MS_PER_DAY, 2 * MS_PER_DAY]})
    return Dataset.from_frames(events, items)


def test_item_features():
    f = ItemFeatures.from_dataset(dataset())
    np.testing.assert_allclose(f.log_price[:2], [1.0, 2.0])
    assert np.isnan(f.log_price[2])
    assert f.top_category[0] == f.top_category[1] != f.top_category[2]
    assert f.last_event_ms.tolist() == [0, MS_PER_DAY, 2 * MS_PER_DAY]


def test_user_and_match_features():
    ds = dataset()
    f = ItemFeatures.from_dataset(ds)
    a, b, c = (ds.item_ids.index(i) for i in "abc")
    history = Histories.from_lists([[(a, 0, 0), (a, 0, 10), (b, 0, MS_PER_DAY)], []])
    users = user_features(history, f, np.array([3 * MS_PER_DAY, 0]))
    np.testing.assert_allclose(users["user_log_events"], [np.log(4), 0.0])
    np.testing.assert_allclose(users["user_days_since_last"][0], 2.0)
    assert np.isnan(users["user_days_since_last"][1])
    np.testing.assert_allclose(users["user_log_price"][0], (1 + 1 + 2) / 3)
    assert users["user_n_categories"].tolist() == [2, 0]
    match = match_features(history, f, np.array([0, 0, 0, 1]), np.array([a, b, c, a]))
    np.testing.assert_allclose(match["category_share"], [2 / 3, 1 / 3, 0, 0])
    np.testing.assert_allclose(match["top_category_share"], [1, 1, 0, 0])
    assert match["brand_seen"].tolist() == [1, 1, 0, 0]
    assert match["item_seen"].tolist() == [1, 1, 0, 0]


def test_timing_features_place_the_item_against_the_users_span():
    ds = dataset()  # a at day 0, b at day 1, c at day 2 (first = last event of each item)
    f = ItemFeatures.from_dataset(ds)
    a, b, c = (ds.item_ids.index(i) for i in "abc")
    # user 0 shops on day 1 only; user 1 has no history
    history = Histories.from_lists([[(b, 0, MS_PER_DAY)], []])
    timing = timing_features(history, f, np.array([0, 0, 0, 1]), np.array([a, b, c, a]))
    # item first event minus the user's last: a -1 day (on sale before), b 0, c +1 (first sold after the visit)
    np.testing.assert_allclose(timing["item_first_after_user_last_days"][:3], [-1.0, 0.0, 1.0])
    # the user's first event minus the item's last: a stopped a day before the user came
    np.testing.assert_allclose(timing["user_first_after_item_last_days"][:3], [1.0, 0.0, -1.0])
    assert np.isnan(timing["item_first_after_user_last_days"][3]) and np.isnan(timing["user_first_after_item_last_days"][3])

"""Popularity scores against values worked out by hand on a seven-event shop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoprec.config import WeightConfig
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.popularity import PopularityRecommender

DAY = 86_400_000
A, B, C = 0, 1, 2  # item indices of "A", "B", "C" (ids are sorted)


def tiny(weights: WeightConfig | None = None) -> Dataset:
    """Events by day; the last training event is on day 10. Default weights: view 1, cart 3,
    purchase 5, search 0, remove_from_cart 0."""
    rows = [
        ("u1", "A", "view", 0),
        ("u1", "A", "purchase", 10),
        ("u2", "B", "add_to_cart", 8),
        ("u2", "B", "view", 9),
        ("u2", "B", "remove_from_cart", 10),
        ("u3", "C", "view", 10),
        ("u3", "C", "search", 10),
    ]
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    events["timestamp"] = events["timestamp"] * DAY
    return Dataset.from_frames(events, weights=weights)


def scores_of(model: PopularityRecommender, dataset: Dataset) -> np.ndarray:
    return model.fit(dataset).score(Histories.empty(1))[0]


def test_weighted_sums_type_weights() -> None:
    # A: view 1 + purchase 5 = 6; B: cart 3 + view 1 + removal 0 = 4; C: view 1 + search 0 = 1
    np.testing.assert_allclose(scores_of(PopularityRecommender(), tiny()), [6, 4, 1])


def test_unweighted_counts_events_of_positively_weighted_types() -> None:
    # A: 2 events; B: cart + view (the removal weighs 0, so it does not count) = 2; C: view = 1
    np.testing.assert_allclose(scores_of(PopularityRecommender(weighted=False), tiny()), [2, 2, 1])


def test_dataset_weight_config_is_used() -> None:
    weights = WeightConfig(event_weights={"view": 2.0, "purchase": 1.0})  # carts now weigh 0
    # A: 2 + 1 = 3; B: view 2 = 2; C: view 2 = 2
    np.testing.assert_allclose(scores_of(PopularityRecommender(), tiny(weights)), [3, 2, 2])


def test_half_life_decays_from_the_last_training_event() -> None:
    # Half-life 10 days, reference day 10.
    # A: view at age 10 -> 1 * 0.5 = 0.5, purchase at age 0 -> 5; total 5.5
    # B: cart at age 2 -> 3 * 0.5**0.2 = 3 * 0.8705506 = 2.6116517; view at age 1 -> 0.5**0.1 = 0.9330330;
    #    total 3.5446847
    # C: view at age 0 -> 1
    np.testing.assert_allclose(scores_of(PopularityRecommender(half_life_days=10), tiny()), [5.5, 3.5446847, 1], rtol=1e-6)


def test_window_keeps_only_recent_events() -> None:
    # 1.5 days back from day 10: A purchase (5), B view on day 9 (1), C view (1); older events drop.
    np.testing.assert_allclose(scores_of(PopularityRecommender(window_days=1.5), tiny()), [5, 1, 1])


def test_window_and_decay_combine() -> None:
    # Window 1.5 days and half-life 1 day: A 5, B 1 * 0.5**1 = 0.5, C 1.
    np.testing.assert_allclose(scores_of(PopularityRecommender(window_days=1.5, half_life_days=1), tiny()), [5, 0.5, 1])


def test_every_history_gets_the_same_ranking() -> None:
    model = PopularityRecommender().fit(tiny())
    histories = Histories.from_lists([[], [(A, 0, 0)], [(C, 4, 5), (B, 0, 6)]])
    lists = model.recommend(histories, 3)
    assert [ranked.items.tolist() for ranked in lists] == [[A, B, C]] * 3
    np.testing.assert_allclose(lists[0].scores, [6, 4, 1])
    assert model.reference_time_ms_ == 10 * DAY


def test_ties_go_to_the_lower_item_index() -> None:
    model = PopularityRecommender(weighted=False).fit(tiny())
    assert model.recommend(Histories.empty(1), 3)[0].items.tolist() == [A, B, C]  # A and B tie at 2


@pytest.mark.parametrize("params", [{"half_life_days": 0}, {"window_days": -1.0}])
def test_bad_hyperparameters_fail_at_fit(params: dict[str, float]) -> None:
    model = PopularityRecommender(**params)  # the constructor only stores
    with pytest.raises(ConfigError, match="must be > 0"):
        model.fit(tiny())
    assert not model.is_fitted


def test_empty_training_data_gives_zeros() -> None:
    dataset = tiny().subset(np.zeros(7, dtype=bool))
    np.testing.assert_array_equal(scores_of(PopularityRecommender(half_life_days=3), dataset), [0, 0, 0])


def test_fixed_scores_are_every_users_row_and_refitting_refreshes_the_ranking() -> None:
    model = PopularityRecommender().fit(tiny())
    row, order = model.fixed_ranking()  # type: ignore[misc]
    np.testing.assert_array_equal(row, model.score(Histories.empty(3))[2])
    np.testing.assert_array_equal(row, [6.0, 4.0, 1.0])  # A: view 1 + purchase 5; B: cart 3 + view 1; C: view 1
    assert order.tolist() == [A, B, C]
    unweighted = PopularityRecommender(weighted=False)
    unweighted.fit(tiny())
    first = unweighted.fixed_ranking()[0].copy()  # type: ignore[index]
    unweighted.fit(tiny(WeightConfig(event_weights={"view": 1, "purchase": 0, "add_to_cart": 0})))
    assert not np.array_equal(first, unweighted.fixed_ranking()[0])  # type: ignore[index]

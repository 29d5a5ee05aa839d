"""The item-to-item protocol: pairs from hand-made sessions, metrics from a model with fixed
scores, and buckets; every expected value below is worked out by hand from the events."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError, ShoprecError
from shoprec.evaluation.item_to_item import (
    ItemPairs,
    bucket_labels,
    bucket_of,
    build_pairs,
    evaluate_item_to_item,
    item_to_item_metrics,
    train_shoppers,
)
from shoprec.evaluation.splits import Split, make_split
from shoprec.models.base import Recommender

T0 = 1_700_000_000_000  # the temporal cutoff: train before, test from here
MIN = 60_000
CATALOGUE = pd.DataFrame({"item_id": list("abcde"),
                          "category": ["shoes > boots", "shoes > boots", "shoes > sandals", "tents", ""]})


def _events(rows: list[tuple]) -> pd.DataFrame:
    """(user, item, type, minutes from T0[, session])."""
    columns = ["user_id", "item_id", "event_type", "timestamp", "session_id"][: len(rows[0])]
    frame = pd.DataFrame(rows, columns=columns)
    frame["timestamp"] = T0 + frame["timestamp"] * MIN
    return frame


def _split(rows: list[tuple], train_rows: list[tuple] | None = None) -> Split:
    train_rows = train_rows or [("t", item, "view", -1000 - i) for i, item in enumerate("abcde")]
    dataset = Dataset.from_frames(_events(train_rows + rows), items=CATALOGUE)
    return make_split(dataset, "temporal", cutoff=T0)


def _named(split: Split, pairs: ItemPairs) -> list[tuple[str, str, str]]:
    users = split.test.user_ids.id_of(pairs.users)
    return list(zip(users, split.train.item_ids.id_of(pairs.current), split.train.item_ids.id_of(pairs.next)))


# --------------------------------------------------------------------- pairs
def test_pairs_follow_sessions_skip_repeats_and_count_each_pair_once() -> None:
    split = _split([
        # u1, first session: a twice (one step), b, a search (not an interest, but activity), c 18 min after b
        ("u1", "a", "view", 0), ("u1", "a", "view", 1), ("u1", "b", "view", 2), ("u1", "c", "search", 3),
        ("u1", "c", "view", 20),
        # u1, second session (2 h later): d, e in the cart, d removed (no interest), d, e again (a repeat pair)
        ("u1", "d", "view", 140), ("u1", "e", "add_to_cart", 141), ("u1", "d", "remove_from_cart", 142),
        ("u1", "d", "view", 143), ("u1", "e", "purchase", 144),
        # u2: b and c 45 min apart are two sessions; c twice is one item: no pair
        ("u2", "b", "view", 0), ("u2", "c", "view", 45), ("u2", "c", "click", 46),
        # u3: e then a; later b and c 50 min apart, kept in one session by a search between them
        ("u3", "e", "view", 0), ("u3", "a", "view", 10),
        ("u3", "b", "view", 100), ("u3", "a", "search", 125), ("u3", "c", "view", 150),
    ])
    pairs = build_pairs(split)
    assert _named(split, pairs) == [("u1", "a", "b"), ("u1", "b", "c"), ("u1", "d", "e"), ("u1", "e", "d"),
                                    ("u3", "e", "a"), ("u3", "b", "c")]
    assert pairs.times[0] == T0 + 1 * MIN  # the last view of a before the move to b
    assert pairs.counts["n_pairs"] == 6
    assert pairs.counts["n_duplicate_pairs"] == 1  # u1's second d -> e
    assert pairs.counts["n_sessions"] == 4  # u1: 2, u3: 2 (u2's sessions give no pair)
    assert pairs.counts["n_shoppers"] == 2


def test_a_shorter_gap_cuts_more_sessions() -> None:
    split = _split([("u1", "a", "view", 0), ("u1", "b", "view", 10), ("u1", "c", "view", 15)])
    assert _named(split, build_pairs(split)) == [("u1", "a", "b"), ("u1", "b", "c")]
    assert _named(split, build_pairs(split, gap_minutes=8)) == [("u1", "b", "c")]


def test_a_change_of_the_shops_session_id_cuts_too() -> None:
    split = _split([("u1", "a", "view", 0, "s1"), ("u1", "b", "view", 1, "s2"), ("u1", "b", "view", 2, "s2"),
                    ("u1", "c", "view", 3, "s2")],
                   [("t", item, "view", -1000 - i, "s0") for i, item in enumerate("abcde")])
    assert _named(split, build_pairs(split)) == [("u1", "b", "c")]


def test_pairs_with_an_item_the_train_side_does_not_index_are_dropped() -> None:
    train = Dataset.from_frames(_events([("t", item, "view", -1000) for item in "abc"]), items=CATALOGUE[:3])
    test = Dataset.from_frames(_events([
        ("u1", "a", "view", 0), ("u1", "x", "view", 1), ("u1", "b", "view", 2),  # a -> x, x -> b: both dropped
        ("u1", "c", "view", 100), ("u1", "b", "view", 101),
    ]))
    split = Split(train=train, test=test, info={"method": "hand-made"})
    pairs = build_pairs(split)
    assert _named(split, pairs) == [("u1", "c", "b")]
    assert (pairs.current[0], pairs.next[0]) == (train.item_ids.index("c"), train.item_ids.index("b"))
    assert pairs.counts["n_unknown_item_pairs"] == 2


def test_more_pairs_than_max_pairs_are_sampled_with_a_fixed_seed() -> None:
    rows = [(f"u{n}", item, "view", step) for n in range(10) for step, item in enumerate("abc")]
    split = _split(rows)
    full = set(_named(split, build_pairs(split)))
    assert len(full) == 20
    sampled = build_pairs(split, max_pairs=5, seed=3)
    assert len(sampled) == 5 and set(_named(split, sampled)) <= full
    assert sampled.counts["n_sampled_out_pairs"] == 15 and sampled.counts["n_candidate_pairs"] == 20
    assert _named(split, build_pairs(split, max_pairs=5, seed=3)) == _named(split, sampled)


def test_bad_options_are_refused() -> None:
    split = _split([("u1", "a", "view", 0), ("u1", "b", "view", 1)])
    with pytest.raises(ConfigError, match="gap_minutes"):
        build_pairs(split, gap_minutes=0)
    with pytest.raises(ConfigError, match="max_pairs"):
        build_pairs(split, max_pairs=0)


def test_a_split_without_a_two_item_session_is_a_clear_error() -> None:
    split = _split([("u1", "a", "view", 0), ("u1", "a", "view", 1), ("u2", "b", "view", 0), ("u2", "c", "view", 90)])
    with pytest.raises(ShoprecError, match="no test session holds two different items"):
        evaluate_item_to_item({}, split)


# --------------------------------------------------------------------- metrics
class FixedSimilarity(Recommender):
    """Scores the catalogue a b c d e by a fixed row per history item."""

    personalised = True
    TABLE = np.array([
        [9, 3, 1, 2, 0],  # a: b, d, c, e
        [0, 9, 0, 0, 0],
        [5, 4, 9, 1, 0],  # c: a, b, d, e
        [0, 0, 0, 9, 0],
        [2, 0, 1, 0, 9],  # e: a, c, then b and d tied at 0 (lower index first)
    ], dtype=np.float32)

    def __init__(self) -> None:
        pass

    def _fit(self, dataset: Dataset) -> None:
        self.table_ = self.TABLE.copy()

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        assert np.array_equal(np.diff(histories.indptr), np.ones(len(histories)))  # one event per history
        rows = self.table_[histories.items.astype(np.int64)]
        return rows if items is None else rows[:, items]


@pytest.fixture
def fixed_split() -> Split:
    """Test pairs a -> c, c -> b, e -> a; in train a has 5 shoppers, c 1 (the search does not count), e none."""
    train = [(f"t{n}", "a", "view", -500 + n) for n in range(5)] + [("t0", "a", "click", -10), ("t0", "c", "view", -9),
                                                                      ("t5", "c", "search", -8), ("t5", "b", "view", -7)]
    return _split([("u1", "a", "view", 0), ("u1", "c", "view", 1), ("u2", "c", "view", 0), ("u2", "b", "view", 1),
                   ("u3", "e", "view", 0), ("u3", "a", "view", 1)], train)


def test_metrics_of_fixed_scores_match_the_hand_computation(fixed_split: Split) -> None:
    result = evaluate_item_to_item({"fixed": FixedSimilarity()}, fixed_split, ks=(2, 3))
    got = result.results["fixed"]
    # a -> c: top [b, d, c] (c at rank 3); c -> b: top [a, b, d] (rank 2); e -> a: top [a, c, b] (rank 1).
    expected = {
        "hit_rate@2": 2 / 3, "ndcg@2": (1 / math.log2(3) + 1) / 3, "mrr@2": (1 / 2 + 1) / 3,
        "hit_rate@3": 1.0, "ndcg@3": (1 / 2 + 1 / math.log2(3) + 1) / 3, "mrr@3": (1 / 3 + 1 / 2 + 1) / 3,
        "coverage@2": 4 / 5, "coverage@3": 4 / 5,  # e is never recommended
        # a (boots): [b, d] has b, then [b, d, c] still only b; c (sandals): none; e has no category, left out
        "same_category@2": (1 / 2 + 0) / 2, "same_category@3": (1 / 3 + 0) / 2,
    }
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    assert result.split["n_pairs"] == 3


def test_results_are_split_by_the_current_items_train_shoppers(fixed_split: Split) -> None:
    result = evaluate_item_to_item({"fixed": FixedSimilarity()}, fixed_split, ks=(2,))
    assert result.bucket_pairs == {"0": 1, "1-4": 1, "5-19": 1, "20+": 0}
    buckets = result.buckets["fixed"]
    assert buckets["0"]["ndcg@2"] == pytest.approx(1.0)  # e -> a, a at rank 1
    assert buckets["1-4"]["ndcg@2"] == pytest.approx(1 / math.log2(3))  # c -> b at rank 2
    assert buckets["5-19"]["hit_rate@2"] == 0.0  # a -> c at rank 3
    assert math.isnan(buckets["20+"]["ndcg@2"])
    assert result.to_dict()["buckets"]["fixed"]["20+"]["ndcg@2"] is None  # JSON: null, not NaN


def test_item_to_item_metrics_pad_short_lists_as_misses() -> None:
    pairs = ItemPairs(users=np.array([0, 1]), current=np.array([0, 1]), next=np.array([2, 3]),
                      times=np.zeros(2, np.int64), counts={})
    items = np.array([[1, 2], [-1, -1]])  # the second list is empty
    got = item_to_item_metrics(items, pairs, (1, 2), n_items=10)
    assert got["hit_rate@1"] == 0.0 and got["hit_rate@2"] == 0.5
    assert got["ndcg@2"] == pytest.approx(0.5 / math.log2(3))
    assert got["coverage@2"] == pytest.approx(2 / 10)


# --------------------------------------------------------------------- buckets
def test_bucket_assignment() -> None:
    assert bucket_labels() == ["0", "1-4", "5-19", "20+"]
    assert bucket_of(np.array([0, 1, 4, 5, 19, 20, 1000])).tolist() == [0, 1, 1, 2, 2, 3, 3]
    assert bucket_labels((0, 3)) == ["0-2", "3+"]
    assert bucket_of(np.array([2, 3]), (0, 3)).tolist() == [0, 1]
    with pytest.raises(ConfigError, match="edges"):
        bucket_of(np.array([1]), (1, 5))


def test_train_shoppers_counts_distinct_shoppers_with_interest(fixed_split: Split) -> None:
    shoppers = train_shoppers(fixed_split.train)
    index = fixed_split.train.item_ids.index
    assert shoppers[index("a")] == 5  # t0 viewed and clicked: once
    assert shoppers[index("c")] == 1  # t5's search does not count
    assert shoppers[index("e")] == 0

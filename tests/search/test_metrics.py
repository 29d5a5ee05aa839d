"""Search metrics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from shoprec.search.metrics import dcg, ndcg_at_k, percentile_ms, recall_at_k

JUDGED = {"a": 3.0, "b": 2.0, "c": 1.0, "d": 2.33}


def test_dcg_uses_log2_of_rank_plus_one() -> None:
    assert dcg([2.0, 1.0, 0.0, 1.0]) == pytest.approx(2.0 / 1 + 1.0 / math.log2(3) + 0 + 1.0 / math.log2(5))


def test_ndcg_gain_is_relevance_minus_one_and_unjudged_items_gain_nothing() -> None:
    # ranked x (unjudged, gain 0), b (gain 1), a (gain 2); ideal a, d, b: gains 2, 1.33, 1.
    expected = (0 + 1 / math.log2(3) + 2 / math.log2(4)) / (2 + 1.33 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k(["x", "b", "a", "c"], JUDGED, k=3) == pytest.approx(expected)
    assert expected == pytest.approx(0.48843, abs=1e-5)


def test_ndcg_is_one_for_the_ideal_order_and_cut_at_k() -> None:
    assert ndcg_at_k(["a", "d", "b", "c"], JUDGED, k=10) == pytest.approx(1.0)
    # Only the first k count: a perfect top 1 is perfect at k=1 whatever follows.
    assert ndcg_at_k(["a", "c", "x"], JUDGED, k=1) == pytest.approx(1.0)


def test_a_query_whose_judged_items_are_all_irrelevant_has_no_ndcg() -> None:
    assert ndcg_at_k(["a"], {"a": 1.0, "b": 1.0}, k=10) is None


def test_recall_counts_items_judged_at_least_2_33() -> None:
    ranked = ["x", "b", "a", "c", "d"]
    assert recall_at_k(ranked, JUDGED, k=2) == 0.0  # relevant: a and d; neither in the first 2
    assert recall_at_k(ranked, JUDGED, k=3) == pytest.approx(0.5)
    assert recall_at_k(ranked, JUDGED, k=100) == pytest.approx(1.0)
    assert recall_at_k(ranked, {"b": 2.0}, k=100) is None


def test_percentiles_are_in_milliseconds() -> None:
    seconds = [0.001, 0.002, 0.003, 0.004, 0.100]
    assert percentile_ms(seconds, 50) == pytest.approx(3.0)
    # linear interpolation between the 4th and 5th of 5 values at 99%: 4 + 0.96 * 96 ms
    assert percentile_ms(seconds, 99) == pytest.approx(4.0 + 0.96 * 96.0)

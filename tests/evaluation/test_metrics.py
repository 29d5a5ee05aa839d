"""Every metric against numbers worked out by hand on tiny lists."""

from __future__ import annotations

from math import log2

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset
from shoprec.evaluation import metrics as M
from shoprec.models.ranked import RankedList

# The running example: ranked [1, 2, 3, 4, 5], relevant {2, 5, 9}: hits at ranks 2 and 5.
REC = np.array([1, 2, 3, 4, 5])
REL = {2, 5, 9}


def test_precision() -> None:
    assert M.precision_at_k(REC, REL, 5) == pytest.approx(2 / 5)
    assert M.precision_at_k(REC, REL, 2) == pytest.approx(1 / 2)
    assert M.precision_at_k(REC, REL, 1) == 0
    # A list shorter than k still divides by k: 1 hit in a 1-item list at k=3 is 1/3.
    assert M.precision_at_k([7], {7}, 3) == pytest.approx(1 / 3)


def test_recall() -> None:
    assert M.recall_at_k(REC, REL, 5) == pytest.approx(2 / 3)
    assert M.recall_at_k(REC, REL, 2) == pytest.approx(1 / 3)
    assert M.recall_at_k([7], {7}, 3) == 1


def test_average_precision() -> None:
    # k=5: precision at the hits is 1/2 (rank 2) and 2/5 (rank 5); (0.5 + 0.4) / min(5, 3) = 0.3
    assert M.average_precision_at_k(REC, REL, 5) == pytest.approx(0.3)
    # k=2: only the rank-2 hit: 0.5 / min(2, 3) = 0.25
    assert M.average_precision_at_k(REC, REL, 2) == pytest.approx(0.25)
    # One relevant item found at rank 1 of a short list: 1 / min(3, 1) = 1
    assert M.average_precision_at_k([7], {7}, 3) == 1
    # Relevant {3, 4} found at ranks 1 and 3 of [3, 8, 4]: (1/1 + 2/3) / 2 = 5/6
    assert M.average_precision_at_k([3, 8, 4], {3, 4}, 3) == pytest.approx(5 / 6)


def test_ndcg() -> None:
    # k=5: DCG = 1/log2(3) + 1/log2(6); ideal: 3 hits on top = 1/log2(2) + 1/log2(3) + 1/log2(4)
    expected = (1 / log2(3) + 1 / log2(6)) / (1 + 1 / log2(3) + 1 / 2)
    assert M.ndcg_at_k(REC, REL, 5) == pytest.approx(expected)  # about 0.4776
    # k=2: DCG = 1/log2(3); ideal over min(2, 3) = 2 ranks: 1 + 1/log2(3)
    assert M.ndcg_at_k(REC, REL, 2) == pytest.approx((1 / log2(3)) / (1 + 1 / log2(3)))
    # The only relevant item at rank 1: perfect.
    assert M.ndcg_at_k([7, 1], {7}, 2) == 1
    assert M.ndcg_at_k(REC, REL, 1) == 0


def test_reciprocal_rank_and_hit() -> None:
    assert M.reciprocal_rank_at_k(REC, REL, 5) == pytest.approx(1 / 2)
    assert M.reciprocal_rank_at_k(REC, REL, 1) == 0
    assert M.reciprocal_rank_at_k([8, 8, 9], {9}, 3) == pytest.approx(1 / 3)
    assert M.hit_at_k(REC, REL, 5) == 1
    assert M.hit_at_k(REC, REL, 1) == 0


def test_ranked_lists_are_accepted() -> None:
    ranked = RankedList(REC, np.linspace(1, 0, 5))
    assert M.recall_at_k(ranked, REL, 5) == pytest.approx(2 / 3)


def test_hit_matrix_pads_short_lists() -> None:
    hits = M.hit_matrix([[1, 2], [5]], [[2], [5, 6]], 3)
    assert hits.tolist() == [[False, True, False], [True, False, False]]


def test_averages_over_users() -> None:
    # User 1: the running example; user 2: [9, 1, 1...] style list [9, 3] with relevant {3}.
    # recall@2: user 1 1/3, user 2 1 -> mean 2/3; precision@2: 1/2 and 1/2 -> 1/2
    # MRR@2: 1/2 and 1/2 -> 1/2; MAP@2: 0.25 and (1/2)/1 = 0.5 -> 0.375
    out = M.evaluate_lists([REC, np.array([9, 3])], [REL, {3}], [2], n_items=10)
    assert out["recall@2"] == pytest.approx(2 / 3)
    assert out["precision@2"] == pytest.approx(1 / 2)
    assert out["mrr@2"] == pytest.approx(1 / 2)
    assert out["map@2"] == pytest.approx(0.375)
    assert out["hit_rate@2"] == 1
    # Coverage@2: items {1, 2, 9, 3} of 10
    assert out["coverage@2"] == pytest.approx(0.4)
    assert "novelty@2" not in out and "diversity@2" not in out


def test_empty_relevant_set_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one relevant"):
        M.recall_at_k([1], set(), 1)


def test_catalogue_coverage() -> None:
    items = np.array([[0, 1, 2], [1, 2, 3], [4, -1, -1]])
    # k=1: {0, 1, 4} of 10 = 0.3; k=3: {0, 1, 2, 3, 4} of 10 = 0.5 (padding -1 is no item)
    assert M.catalogue_coverage(items, 1, 10) == pytest.approx(0.3)
    assert M.catalogue_coverage(items, 3, 10) == pytest.approx(0.5)


def novelty_dataset() -> Dataset:
    """4 users: item a touched by all 4, b by 2 (u1 twice), c by 1, d by none (catalogue only)."""
    rows = [("u1", "a"), ("u2", "a"), ("u3", "a"), ("u4", "a"), ("u1", "b"), ("u1", "b"), ("u2", "b"), ("u3", "c")]
    events = pd.DataFrame(rows, columns=["user_id", "item_id"]).assign(event_type="view", timestamp=range(len(rows)))
    return Dataset.from_frames(events, items=pd.DataFrame({"item_id": ["a", "b", "c", "d"]}))


def test_item_self_information() -> None:
    # p: a 4/4 -> 0 bits, b 2/4 -> 1 bit, c 1/4 -> 2 bits, d unseen -> 1/4 -> 2 bits
    np.testing.assert_allclose(M.item_self_information(novelty_dataset()), [0, 1, 2, 2])


def test_novelty() -> None:
    info = np.array([0.0, 1.0, 2.0, 2.0])
    items = np.array([[0, 1], [2, 3], [-1, -1]])
    # user 1: (0 + 1) / 2 = 0.5; user 2: (2 + 2) / 2 = 2; user 3 has no list and is skipped -> 1.25
    assert M.novelty(items, 2, info) == pytest.approx(1.25)
    # k=1: user 1: 0, user 2: 2 -> 1
    assert M.novelty(items, 1, info) == pytest.approx(1.0)


def test_intra_list_diversity() -> None:
    categories = np.array([0, 0, 1, -1, 2, -1])  # items 3 and 5 have no category
    items = np.array([[0, 1, 2], [3, 4, -1], [4, -1, -1], [3, 5, -1]])
    # [0, 1, 2]: pairs (0,1) same, (0,2) differ, (1,2) differ -> 2/3
    # [3, 4]: none vs category 2 -> differ -> 1
    # [4]: under 2 items, skipped
    # [3, 5]: both without category count as the same -> 0
    assert M.intra_list_diversity(items, 3, categories) == pytest.approx((2 / 3 + 1 + 0) / 3)
    # k=2: [0, 1] -> 0; [3, 4] -> 1; [3, 5] -> 0
    assert M.intra_list_diversity(items, 2, categories) == pytest.approx(1 / 3)
    assert np.isnan(M.intra_list_diversity(items, 1, categories))


def test_item_categories_by_depth() -> None:
    items = pd.DataFrame({"item_id": ["a", "b", "c", "d"], "category": ["Home > Bath", "Home > Garden", "Toys", None]})
    events = pd.DataFrame({"user_id": ["u"], "item_id": ["a"], "event_type": ["view"], "timestamp": [0]})
    dataset = Dataset.from_frames(events, items)
    full = M.item_categories(dataset)
    assert full[3] == -1 and len(set(full[:3].tolist())) == 3
    top = M.item_categories(dataset, depth=1)
    assert top[0] == top[1] != top[2] and top[3] == -1

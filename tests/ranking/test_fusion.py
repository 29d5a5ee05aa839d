"""Fusion methods against hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.models.ranked import RankedList
from shoprec.ranking.fusion import FusionError, fuse, gather, normalise


def lists() -> dict[str, RankedList]:
    # a: 10 > 20 > 30; b: 30 > 40
    return {"a": RankedList([10, 20, 30], [3.0, 2.0, 1.0]), "b": RankedList([30, 40], [0.9, 0.1])}


def test_gather_builds_the_union_with_scores_and_ranks():
    c = gather(lists())
    assert c.items.tolist() == [10, 20, 30, 40]
    assert c.sources == ("a", "b")
    np.testing.assert_array_equal(c.ranks[:, 0], [1, 2, 3, np.nan])
    np.testing.assert_array_equal(c.ranks[:, 1], [np.nan, np.nan, 1, 2])
    np.testing.assert_allclose(c.scores[:, 1], [np.nan, np.nan, 0.9, 0.1], rtol=1e-6)
    assert c.lengths.tolist() == [3, 2]


def test_rrf_equals_the_formula():
    fused = fuse(gather(lists()), "rrf", rrf_k=60)
    expected = {10: 1 / 61, 20: 1 / 62, 30: 1 / 63 + 1 / 61, 40: 1 / 62}
    assert fused.items.tolist() == [30, 10, 20, 40]  # 20 and 40 tie: lower index first
    np.testing.assert_allclose(fused.scores, [expected[i] for i in fused.items.tolist()], rtol=1e-6)


def test_average_of_minmax_scores_with_absent_as_zero():
    fused = fuse(gather(lists()), "average")
    # a min-max: 10 -> 1, 20 -> .5, 30 -> 0; b: 30 -> 1, 40 -> 0
    expected = {10: 0.5, 20: 0.25, 30: 0.5, 40: 0.0}
    assert fused.items.tolist() == [10, 30, 20, 40]
    np.testing.assert_allclose(fused.scores, [expected[i] for i in fused.items.tolist()], rtol=1e-6)


def test_weighted_uses_the_weights_and_needs_them():
    fused = fuse(gather(lists()), "weighted", weights={"a": 0.0, "b": 1.0})
    assert fused.items[0] == 30
    with pytest.raises(FusionError, match="needs weights"):
        fuse(gather(lists()), "weighted")
    with pytest.raises(FusionError, match="not a source"):
        fuse(gather(lists()), "weighted", weights={"zzz": 1.0})
    with pytest.raises(FusionError, match=">= 0"):
        fuse(gather(lists()), "weighted", weights={"a": -1.0})


def test_borda_points():
    fused = fuse(gather(lists()), "borda")
    # a (3 items): 10 -> 3, 20 -> 2, 30 -> 1; b (2 items): 30 -> 2, 40 -> 1
    expected = {10: 3, 20: 2, 30: 3, 40: 1}
    assert fused.items.tolist() == [10, 30, 20, 40]
    np.testing.assert_allclose(fused.scores, [expected[i] for i in fused.items.tolist()])


def test_vote_counts_top_k_memberships_then_borda():
    fused = fuse(gather(lists()), "vote", vote_k=2)
    # in a's top 2: 10, 20; in b's top 2: 30, 40 -> one vote each; Borda breaks the tie
    assert fused.items.tolist() == [10, 20, 30, 40] or fused.items.tolist() == [10, 30, 20, 40]
    assert fused.items.tolist() == [10, 30, 20, 40]  # Borda: 10 -> 3, 30 -> 3 (10 lower id), 20 -> 2, 40 -> 1
    np.testing.assert_allclose(fused.scores, [1, 1, 1, 1])
    many = fuse(gather(lists()), "vote", vote_k=3)
    assert many.items[0] == 30 and many.scores[0] == 2


def test_disjoint_lists_keep_every_item():
    fused = fuse(gather({"a": RankedList([1, 2], [2.0, 1.0]), "b": RankedList([3, 4], [5.0, 4.0])}), "rrf")
    assert sorted(fused.items.tolist()) == [1, 2, 3, 4]
    assert fused.items.tolist() == [1, 3, 2, 4]  # equal ranks tie: lower item index first


def test_ties_go_to_the_lower_item_index_for_every_method():
    tied = {"a": RankedList([7, 3], [1.0, 1.0]), "b": RankedList([3, 7], [1.0, 1.0])}
    for method in ("average", "borda", "rrf", "vote"):
        assert fuse(gather(tied), method).items.tolist() == [3, 7], method


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_are_rejected_naming_the_source_and_item(bad):
    with pytest.raises(FusionError, match=r"source 'b' gave item 5 the score"):
        gather({"a": RankedList([1], [1.0]), "b": RankedList([4, 5], [1.0, bad])})


def test_repeated_item_is_rejected():
    with pytest.raises(FusionError, match="twice"):
        gather({"a": RankedList([1, 1], [2.0, 1.0])})


def test_unknown_method_and_empty_input():
    with pytest.raises(FusionError, match="fusion method"):
        fuse(gather(lists()), "median")
    with pytest.raises(FusionError, match="at least one"):
        gather({})
    assert len(fuse(gather({"a": RankedList.empty()}), "rrf")) == 0


def test_normalisations_by_hand():
    s = np.array([4.0, 2.0, np.nan, 0.0])
    np.testing.assert_allclose(normalise(s, "minmax"), [1.0, 0.5, np.nan, 0.0])
    np.testing.assert_allclose(normalise(s, "zscore"), [(4 - 2) / np.sqrt(8 / 3), 0.0, np.nan, -2 / np.sqrt(8 / 3)])
    np.testing.assert_allclose(normalise(s, "rank"), [1.0, 2 / 3, np.nan, 1 / 3])
    np.testing.assert_allclose(normalise(np.array([5.0, 5.0]), "minmax"), [1.0, 1.0])
    with pytest.raises(FusionError, match="normalisation"):
        normalise(s, "softmax")


def test_zscore_average_gives_absent_items_the_source_floor():
    fused = fuse(gather(lists()), "average", normalisation="zscore")
    # b's z-scores: 30 -> 1, 40 -> -1, so 10 and 20 get -1 from b; a's: 10 -> 1.2247, 20 -> 0, 30 -> -1.2247
    z = np.sqrt(1.5)
    expected = {10: (z - 1) / 2, 20: (0 - 1) / 2, 30: (-z + 1) / 2, 40: (-z - 1) / 2}
    np.testing.assert_allclose(fused.scores, [expected[i] for i in fused.items.tolist()], rtol=1e-5)

"""Hybrid fusion against hand computations, and the blend tuned on training queries only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shoprec.data import schema as S
from shoprec.errors import ConfigError
from shoprec.search.hybrid import HybridSettings, above_floor, fuse_lists, tune_blend
from shoprec.search.judgments import RELEVANCE

LISTS = {"lexical": [("a", 5.0), ("b", 3.0), ("c", 1.0)], "semantic": [("c", 0.9), ("d", 0.8), ("a", 0.1)]}


def test_rrf_equals_the_hand_computation() -> None:
    fused = fuse_lists(LISTS, HybridSettings(method="rrf", rrf_k=60))
    # a: ranks 1 and 3; c: ranks 3 and 1 (a tie, the smaller id first); b: rank 2 once; d: rank 2 once.
    expected = [("a", 1 / 61 + 1 / 63), ("c", 1 / 63 + 1 / 61), ("b", 1 / 62), ("d", 1 / 62)]
    assert [i for i, _ in fused] == [i for i, _ in expected]
    assert [s for _, s in fused] == pytest.approx([s for _, s in expected])


def test_blend_of_min_max_scores_equals_the_hand_computation() -> None:
    fused = fuse_lists(LISTS, HybridSettings(method="blend", blend_weight=0.25))
    # lexical min-max: a 1, b 0.5, c 0; semantic: c 1, d 0.7/0.8, a 0; an absent item scores 0.
    expected = {"a": 0.75 * 1, "b": 0.75 * 0.5, "c": 0.25 * 1, "d": 0.25 * 0.875}
    assert [i for i, _ in fused] == ["a", "b", "c", "d"]
    assert dict(fused) == pytest.approx(expected)


def test_one_empty_list_leaves_the_other_in_its_order() -> None:
    only = fuse_lists({"lexical": [], "semantic": [("x", 0.2), ("y", 0.9)][::-1]}, HybridSettings(method="blend"))
    assert [i for i, _ in only] == ["y", "x"]
    assert fuse_lists({"lexical": [], "semantic": []}, HybridSettings()) == []


def test_the_blend_is_tuned_on_the_queries_given_and_only_on_them() -> None:
    # Semantic is right on q1 and q2 (the relevant item first), lexical puts it last.
    lists = {q: {"lexical": [("x", 3.0), ("y", 2.0), (q + "-hit", 1.0)], "semantic": [(q + "-hit", 0.9), ("x", 0.5)]}
             for q in ("q1", "q2")}
    judged = pd.DataFrame({S.QUERY: ["q1", "q2", "q3"], S.ITEM_ID: ["q1-hit", "q2-hit", "x"], RELEVANCE: [3.0, 3.0, 3.0]})
    tuning = tune_blend(lists, judged, grid=(0.0, 0.5, 1.0), normalisations=("minmax",))
    assert tuning.settings.method == "blend" and tuning.settings.tuned_on == 2  # q3 has no lists: not used
    # w=0: the hit is 3rd (NDCG 1/log2(4) = 0.5); w=0.5: 0.5*0 + 0.5*1 = 0.5 vs x 0.5*1 + 0.5*0 = 0.5, a tie broken
    # by the smaller id ("q1-hit" < "x"): first; w=1: first. Ties go to the smaller weight: 0.5.
    table = tuning.table.set_index("blend_weight")["ndcg"]
    assert table[0.0] == pytest.approx(0.5) and table[0.5] == pytest.approx(1.0) and table[1.0] == pytest.approx(1.0)
    assert tuning.settings.blend_weight == 0.5


def test_settings_round_trip_and_validation(tmp_path: Path) -> None:
    settings = HybridSettings(method="blend", blend_weight=0.35, normalisation="zscore", tuned_on=12)
    settings.save(tmp_path)
    assert HybridSettings.load(tmp_path) == settings
    assert HybridSettings.load(tmp_path / "elsewhere") == HybridSettings()
    with pytest.raises(ConfigError, match="blend_weight"):
        HybridSettings(blend_weight=1.5)
    with pytest.raises(ConfigError, match="hybrid method"):
        HybridSettings(method="sum")


def test_the_semantic_floor_keeps_hits_within_its_share_of_the_best() -> None:
    hits = [("a", 0.8), ("b", 0.65), ("c", 0.605), ("d", 0.595), ("e", -0.1)]
    assert [i for i, _ in above_floor(hits, 0.75)] == ["a", "b", "c"]  # from 0.75 * 0.8 = 0.6
    assert above_floor(hits, 0.0) == hits and above_floor([], 0.75) == []
    assert [i for i, _ in above_floor(hits, 1.0)] == ["a"]
    # a negative best (a query like nothing in the shop) keeps those within 25% of its size below it
    assert [i for i, _ in above_floor([("x", -0.2), ("y", -0.24), ("z", -0.3)], 0.75)] == ["x", "y"]
    with pytest.raises(ConfigError):
        HybridSettings(semantic_floor=1.5)

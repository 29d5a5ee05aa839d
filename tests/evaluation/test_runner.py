"""The runner end to end on a six-user shop, checked against plain-Python arithmetic."""

from __future__ import annotations

import json
from collections import defaultdict
from math import log2
from pathlib import Path

import pandas as pd
import pytest

from shoprec.config import DEFAULT_EVENT_WEIGHTS
from shoprec.data.dataset import Dataset
from shoprec.evaluation.report import write_report
from shoprec.evaluation.runner import EvaluationResult, evaluate
from shoprec.evaluation.splits import Split, temporal_split
from shoprec.models.popularity import PopularityRecommender
from shoprec.models.random_baseline import RandomRecommender

CUTOFF = 100
TRAIN = [
    ("u1", "a", "view", 1), ("u1", "a", "purchase", 2), ("u1", "b", "view", 3),
    ("u2", "a", "view", 4), ("u2", "c", "add_to_cart", 5),
    ("u3", "b", "view", 6), ("u3", "d", "view", 7),
    ("u4", "e", "purchase", 8),
    ("u6", "d", "view", 9),
]
TEST = [
    ("u1", "c", "purchase", 101), ("u1", "a", "view", 102),  # a is already in u1's train history
    ("u2", "b", "view", 103), ("u2", "d", "search", 104),  # a search is not a target
    ("u3", "a", "view", 105),
    ("u4", "e", "remove_from_cart", 106),  # no target event: u4 is no test user
    ("u5", "e", "view", 107),  # u5 is new: a cold user
    ("u6", "d", "view", 108),  # only an item u6 had in train: skipped
]
CATEGORIES = {"a": "Home", "b": "Home", "c": "Toys", "d": "Garden", "e": "Toys"}


@pytest.fixture
def split() -> Split:
    events = pd.DataFrame(TRAIN + TEST, columns=["user_id", "item_id", "event_type", "timestamp"])
    items = pd.DataFrame({"item_id": list(CATEGORIES), "category": list(CATEGORIES.values())})
    return temporal_split(Dataset.from_frames(events, items), cutoff=CUTOFF)


def popularity_ndcg_by_hand(k: int) -> float:
    """Popularity's NDCG@k in plain Python: rank by summed type weights (ties by id), drop each
    user's train items, score against their test targets less their train items."""
    popularity: dict[str, float] = defaultdict(float)
    seen: dict[str, set[str]] = defaultdict(set)
    for user, item, kind, _ in TRAIN:
        popularity[item] += DEFAULT_EVENT_WEIGHTS[kind]
        seen[user].add(item)
    ranking = sorted(CATEGORIES, key=lambda item: (-popularity[item], item))
    targets: dict[str, set[str]] = defaultdict(set)
    for user, item, kind, _ in TEST:
        if kind not in ("remove_from_cart", "search"):
            targets[user].add(item)
    values = []
    for user, items in targets.items():
        relevant = items - seen[user]
        if not relevant:
            continue
        recommended = [item for item in ranking if item not in seen[user]][:k]
        dcg = sum(1 / log2(rank + 2) for rank, item in enumerate(recommended) if item in relevant)
        ideal = sum(1 / log2(rank + 2) for rank in range(min(k, len(relevant))))
        values.append(dcg / ideal)
    return sum(values) / len(values)


def test_popularity_ndcg_matches_plain_python(split: Split) -> None:
    result = evaluate({"popularity": PopularityRecommender()}, split, ks=(1, 2))
    scores = result.results["popularity"]
    # By hand: popularity a 7, e 5, c 3, b 2, d 1. Top 2 after exclusions: u1 [e, c] (hit c at 2),
    # u2 [e, b] (hit b at 2), u3 [a, e] (hit a at 1), u5 [a, e] (hit e at 2).
    assert scores["ndcg@2"] == pytest.approx(popularity_ndcg_by_hand(2))
    assert scores["ndcg@2"] == pytest.approx((3 / log2(3) + 1) / 4)
    assert scores["ndcg@1"] == pytest.approx(popularity_ndcg_by_hand(1)) == pytest.approx(0.25)
    assert scores["recall@2"] == 1 and scores["precision@2"] == pytest.approx(0.5)
    # Coverage@2: {a, b, c, e} of 5 items.
    assert scores["coverage@2"] == pytest.approx(0.8)
    assert scores["train_seconds"] >= 0 and scores["predict_seconds"] >= 0


def test_user_counts_in_split_info(split: Split) -> None:
    info = evaluate({"popularity": PopularityRecommender()}, split, ks=(2,)).split
    assert info["n_test_users"] == 5  # u1, u2, u3, u5, u6
    assert info["n_skipped_users"] == 1  # u6
    assert info["n_evaluated_users"] == 4
    assert info["n_cold_users"] == 1  # u5
    assert info["method"] == "temporal" and info["exclude_seen"] is True
    assert info["target_event_types"] == ["view", "click", "add_to_cart", "purchase", "rating", "review"]


def test_without_exclusion_seen_items_count(split: Split) -> None:
    result = evaluate({"popularity": PopularityRecommender()}, split, ks=(1,), exclude_seen=False)
    # Every test user is kept; top 1 is always a: u1's targets {c, a} and u3's {a} are hit,
    # u2 {b}, u5 {e}, u6 {d} are not: hit rate 2/5.
    assert result.split["n_evaluated_users"] == 5
    assert result.results["popularity"]["hit_rate@1"] == pytest.approx(2 / 5)


def test_target_event_types_choose_the_test_users(split: Split) -> None:
    result = evaluate({"popularity": PopularityRecommender()}, split, ks=(2,), target_event_types={"purchase"})
    assert result.split["n_test_users"] == 1  # only u1 purchased in test (c, at rank 2 for u1)
    assert result.results["popularity"]["mrr@2"] == pytest.approx(0.5)


def two_model_result(split: Split) -> EvaluationResult:
    return evaluate({"popularity": PopularityRecommender(), "random": RandomRecommender(seed=1)}, split, ks=(2, 3))


def test_json_shape(split: Split, tmp_path: Path) -> None:
    result = two_model_result(split)
    result.write_json(tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    assert set(data) == {"dataset", "split", "stage", "results"}
    assert data["dataset"]["users"] == 6 and data["dataset"]["items"] == 5 and data["dataset"]["events"] == 17
    assert data["dataset"]["train"]["events"] == 9 and data["dataset"]["test"]["events"] == 8
    assert data["split"]["method"] == "temporal" and data["split"]["ks"] == [2, 3]
    assert set(data["results"]) == {"popularity", "random"}
    for scores in data["results"].values():
        for metric in ("precision", "recall", "map", "ndcg", "mrr", "hit_rate", "coverage", "novelty", "diversity"):
            assert isinstance(scores[f"{metric}@2"], float) and isinstance(scores[f"{metric}@3"], float)
        assert "ndcg@1" not in scores  # the plot's extra K stay out of the results
        assert {"train_seconds", "predict_seconds"} <= set(scores)
    assert data == result.to_dict()


def test_report_is_one_self_contained_page(split: Split, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_report(two_model_result(split), path)
    html = path.read_text()
    assert html.count('<table class="metrics">') == 3  # K = 2, K = 3, timings
    assert html.count('<img alt="') == 2 and html.count("data:image/png;base64,") == 2
    assert "popularity" in html and "random" in html and "NDCG" in html and "temporal" in html
    assert "<th>Items</th><td>5</td>" in html and "<th>Users</th><td>6</td>" in html
    assert 'class="best"' in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from a network

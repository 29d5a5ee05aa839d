"""The learned search ranker: labels, a planted relevance rule learned, save and load (features: test_ranker_features.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.errors import ConfigError, NotFittedError, ShoprecError
from shoprec.search.metrics import ndcg_at_k
from shoprec.search.ranker import SearchRanker, SearchRankerSettings, relevance_labels
from shoprec.search.ranker_features import FEATURES

COL = {name: j for j, name in enumerate(FEATURES)}


def test_labels_are_thirds_of_relevance_above_one() -> None:
    assert relevance_labels(np.array([1.0, 1.33, 1.67, 2.0, 2.33, 2.67, 3.0, np.nan])).tolist() == [0, 1, 2, 3, 4, 5, 6, 0]


def planted_groups(n_queries: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Relevant (3) iff the title holds every query word AND the cosine is above 0.6; each input alone is noisy."""
    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(n_queries):
        n = 30
        x = rng.random((n, len(FEATURES)))
        all_words = rng.random(n) < 0.4
        x[:, COL["title_match_all"]] = all_words
        x[:, COL["lexical_score"]] = 2.0 * all_words + 3.0 * rng.random(n)
        relevance = np.where(all_words & (x[:, COL["semantic_cosine"]] > 0.6), 3.0, 1.0)
        groups.append((x, relevance))
    return groups


def mean_ndcg(groups: list[tuple[np.ndarray, np.ndarray]], score) -> float:  # type: ignore[no-untyped-def]
    values = []
    for x, relevance in groups:
        order = np.argsort(-score(x), kind="stable")
        judged = {str(i): float(r) for i, r in enumerate(relevance)}
        value = ndcg_at_k([str(i) for i in order], judged, 10)
        if value is not None:
            values.append(value)
    return float(np.mean(values))


def test_the_ranker_learns_a_planted_rule_and_beats_each_input(tmp_path: Path) -> None:
    train, test = planted_groups(60, seed=1), planted_groups(30, seed=2)
    ranker = SearchRanker(SearchRankerSettings(n_estimators=150, num_leaves=7, min_data_in_leaf=5)).fit(train)
    learned = mean_ndcg(test, ranker.predict)
    by_lexical = mean_ndcg(test, lambda x: x[:, COL["lexical_score"]])
    by_cosine = mean_ndcg(test, lambda x: x[:, COL["semantic_cosine"]])
    assert learned > 0.95 and learned > by_lexical + 0.1 and learned > by_cosine + 0.1
    top_two = list(ranker.feature_importances_)[:2]
    assert set(top_two) == {"title_match_all", "semantic_cosine"}
    ranker.save(tmp_path / "ranker")
    loaded = SearchRanker.load(tmp_path / "ranker")
    x = test[0][0]
    np.testing.assert_allclose(loaded.predict(x), ranker.predict(x))
    assert set(loaded.feature_importances_) == set(FEATURES)


def test_bad_use_is_explained(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        SearchRanker().predict(np.zeros((1, len(FEATURES))))
    with pytest.raises(ShoprecError, match="at least 2 judged queries"):
        SearchRanker().fit([(np.zeros((3, len(FEATURES))), np.ones(3))])
    ranker = SearchRanker(SearchRankerSettings(n_estimators=5)).fit(planted_groups(4, seed=3))
    with pytest.raises(ConfigError, match="features must be"):
        ranker.predict(np.zeros((2, 3)))
    with pytest.raises(ShoprecError, match="search-train"):
        SearchRanker.load(tmp_path / "nothing")

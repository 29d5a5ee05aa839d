"""ContentRecommender: new items are reachable by their words, scores are the cosine computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.base import seen_items
from shoprec.models.content import ContentRecommender

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]
T0 = 1_700_000_000_000


def shop(titles: list[str | None], categories: list[str | None], events: list[tuple[str, int]],
         brands: list[str | None] | None = None) -> Dataset:
    n = len(titles)
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(n)], "title": titles, "category": categories,
                          "brand": brands or [None] * n})
    rows = pd.DataFrame([(user, f"i{item}", "view", T0 + k) for k, (user, item) in enumerate(events)],
                        columns=["user_id", "item_id", "event_type", "timestamp"])
    return Dataset.from_frames(rows, items)


def test_an_item_nobody_touched_ranks_first_by_its_words() -> None:
    titles = ["espresso coffee grinder", "espresso coffee machine", "garden hose reel", "lawn mower blade",
              "garden rake", "espresso coffee beans"]  # item 5: in the catalogue, never interacted with
    events = [("a", 0), ("a", 1), ("b", 2), ("b", 3), ("c", 3), ("c", 4), ("d", 0), ("d", 2), ("e", 4)]
    data = shop(titles, [None] * 6, events)
    assert 5 not in data.event_items
    model = ContentRecommender().fit(data)
    history = Histories.from_lists([[(0, VIEW, T0), (1, PURCHASE, T0 + 1)]])
    ranked = model.recommend(history, 3, exclude=seen_items(history))[0]
    assert ranked.items[0] == 5
    assert ranked.scores[0] > 0.3
    assert ranked.scores[1] == 0.0  # the garden items share no word with the history


def tfidf(counts: dict[str, int], df: dict[str, int], n_docs: int) -> dict[str, float]:
    """scikit-learn's documented TF-IDF: sublinear tf 1 + ln(tf), smooth idf ln((1 + n) / (1 + df)) + 1, L2."""
    raw = {t: (1 + math.log(c)) * (math.log((1 + n_docs) / (1 + df[t])) + 1) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in raw.values()))
    return {t: v / norm for t, v in raw.items()}


def test_scores_are_the_cosine_computed_by_hand() -> None:
    # Text = title + category words, so item 0 reads "red apple Fruit Apple".
    titles = ["red apple", "red pear", "green pear"]
    categories = ["Fruit > Apple", "Fruit > Pear", "Fruit > Pear"]
    data = shop(titles, categories, [("u", 0), ("v", 1)])
    w = 2.0
    model = ContentRecommender(ngram_max=1, category_weight=w, brand_weight=0.0, price_weight=0.0).fit(data)

    counts = [{"red": 1, "apple": 2, "fruit": 1}, {"red": 1, "pear": 2, "fruit": 1}, {"green": 1, "pear": 2, "fruit": 1}]
    df = {"red": 2, "apple": 1, "pear": 2, "fruit": 3, "green": 1}
    terms = sorted(df)
    text = np.array([[tfidf(c, df, 3).get(t, 0.0) for t in terms] for c in counts])
    # Category levels by path: "Fruit", "Fruit > Apple", "Fruit > Pear"; two per item, each 1/sqrt(2).
    category = np.array([[1, 1, 0], [1, 0, 1], [1, 0, 1]]) / math.sqrt(2)
    vectors = np.hstack([text, w * category])
    # A view counts 1 and a purchase 5 (the default weight config).
    profile = vectors[0] + 5 * vectors[2]
    expected = vectors @ profile / np.linalg.norm(vectors, axis=1) / np.linalg.norm(profile)

    history = Histories.from_lists([[(0, VIEW, T0), (2, PURCHASE, T0 + 1)]])
    np.testing.assert_allclose(model.score(history)[0], expected, rtol=1e-6)
    np.testing.assert_allclose(model.score(history, np.array([2, 1]))[0], expected[[2, 1]], rtol=1e-6)


def test_items_without_text_are_reached_by_category_and_brand() -> None:
    titles = ["steel pan", None, None, None]
    categories = ["Kitchen", "Kitchen", "Garden", None]
    brands = ["chefco", "chefco", None, None]
    data = shop(titles, categories, [("u", 0), ("v", 2)], brands)
    scores = ContentRecommender().fit(data).score(Histories.from_lists([[(0, VIEW, T0)]]))[0]
    assert scores[1] > 0.3  # same category and brand, no words at all
    assert scores[2] == 0.0  # another category
    assert scores[3] == 0.0  # no feature of any kind


def test_empty_history_gets_popularity_from_fit() -> None:
    data = shop(["a1 x", "b1 y", "c1 z"], [None] * 3, [("u", 1), ("v", 1), ("w", 2)])
    scores = ContentRecommender().fit(data).score(Histories.from_lists([[], [(99, VIEW, T0)]]))
    # Item 1 has two views, item 2 one, item 0 none; an unknown item counts as no history.
    np.testing.assert_allclose(scores, [[0.0, 1.0, 0.5]] * 2)


def test_the_planted_groups_are_found_from_content(planted: Dataset) -> None:
    model = ContentRecommender().fit(planted)
    scores = model.score(Histories.from_lists([[(0, VIEW, T0)], [(5, VIEW, T0)]]))
    assert scores[0, 1:5].min() > scores[0, 5:].max()
    assert scores[1, 6:10].min() > np.r_[scores[1, :5], scores[1, 10:]].max()


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"max_features": 0}, "max_features"),
        ({"ngram_max": 1.5}, "ngram_max"),
        ({"category_weight": -1.0}, "category_weight"),
        ({"brand_weight": float("nan")}, "brand_weight"),
        ({"price_weight": "high"}, "price_weight"),
        ({"min_df": 0}, "min_df"),
        ({"min_df": 1.5}, "min_df"),
    ],
)
def test_invalid_hyperparameters_are_refused_at_fit(params: dict[str, object], name: str, planted: Dataset) -> None:
    model = ContentRecommender(**params)  # type: ignore[arg-type]  # the constructor only stores
    with pytest.raises(ConfigError, match=name):
        model.fit(planted)
    assert not model.is_fitted

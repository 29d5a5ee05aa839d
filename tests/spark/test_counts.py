"""Popularity, context popularity and item co-occurrence counted on Spark equal the local models'
(implicit's CosineRecommender and BM25Recommender are the item-kNN oracle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.store import Store
from shoprec.models.base import Recommender
from shoprec.models.registry import create
from shoprec.ranking.cold_start import ContextPopularity
from tests.spark.conftest import SKIP_REASON

pytest.importorskip("pyspark", reason=SKIP_REASON)

from shoprec.spark.counts import fit_context_popularity, fit_itemknn, fit_popularity  # noqa: E402
from shoprec.spark.prepare import SparkSnapshot, interactions, read_store, snapshot_of_dataset  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture(scope="module")
def both(spark: Any, shop_workspace: Path) -> tuple[SparkSnapshot, Dataset]:
    """The shop as Spark reads it and as the local engine reads it."""
    store = Store(shop_workspace)
    try:
        dataset = store.dataset()
    finally:
        store.close()
    return read_store(spark, shop_workspace)[0], dataset


def same_state(spark_side: Recommender, local: Recommender) -> None:
    """Both models hold the same learned attributes, of the same shapes."""
    assert sorted(spark_side._learned_state()) == sorted(local._learned_state())
    for name, value in local._learned_state().items():
        assert np.shape(getattr(spark_side, name)) == np.shape(value), name


@pytest.mark.parametrize("params", [{}, {"weighted": False, "window_days": 14.0}, {"half_life_days": 7.0}])
def test_popularity_equals_the_local_model(both: tuple[SparkSnapshot, Dataset], params: dict[str, Any]) -> None:
    snapshot, dataset = both
    spark_side = fit_popularity(snapshot, create("popularity", **params))
    local = create("popularity", **params).fit(dataset)
    same_state(spark_side, local)
    np.testing.assert_allclose(spark_side.item_scores_, local.item_scores_, rtol=1e-12, atol=1e-12)
    assert spark_side.reference_time_ms_ == local.reference_time_ms_


def test_context_popularity_equals_the_local_model(both: tuple[SparkSnapshot, Dataset]) -> None:
    snapshot, dataset = both
    spark_side = fit_context_popularity(snapshot, ContextPopularity(window_days=21.0))
    local = ContextPopularity(window_days=21.0).fit(dataset)
    same_state(spark_side, local)
    for name in ("recent_", "by_daypart_", "by_weekend_", "last_week_"):
        np.testing.assert_allclose(getattr(spark_side, name), getattr(local, name), rtol=1e-12, atol=1e-12, err_msg=name)
    monday_morning = int(pd.Timestamp("2024-11-04T08:00", tz="UTC").value // 1_000_000)
    np.testing.assert_allclose(spark_side.scores_at(monday_morning), local.scores_at(monday_morning), rtol=1e-12)


@pytest.mark.parametrize("name", ["itemknn", "itemknn_bm25"])
def test_every_neighbour_equals_implicits(both: tuple[SparkSnapshot, Dataset], name: str) -> None:
    snapshot, dataset = both
    params = {"neighbours": dataset.n_items}  # keep every co-occurring item: no ties to break
    spark_side = fit_itemknn(snapshot, interactions(snapshot), create(name, **params))
    local = create(name, **params).fit(dataset)
    same_state(spark_side, local)
    assert spark_side.similarity_.nnz == local.similarity_.nnz > 0
    scale = abs(local.similarity_).max()
    assert abs(spark_side.similarity_ - local.similarity_).max() <= 1e-5 * scale
    np.testing.assert_allclose(spark_side.popularity_, local.popularity_, rtol=1e-6)


def test_each_item_keeps_its_best_neighbours(both: tuple[SparkSnapshot, Dataset]) -> None:
    snapshot, dataset = both
    spark_side = fit_itemknn(snapshot, interactions(snapshot), create("itemknn", neighbours=5)).similarity_
    local = create("itemknn", neighbours=5).fit(dataset).similarity_
    assert np.array_equal(np.diff(spark_side.indptr), np.diff(local.indptr))
    assert spark_side.diagonal().max() == 0  # an item is not its own neighbour
    for i in range(dataset.n_items):  # the values kept, sorted: the same whichever of tied items was kept
        kept, expected = np.sort(spark_side[i].data), np.sort(local[i].data)
        np.testing.assert_allclose(kept, expected, rtol=1e-5)


def test_cosine_worked_by_hand(spark: Any) -> None:
    # u1: i0 view, i1 purchase; u2: i0 view, i2 view; u3: i1 view, i2 view (view 1, purchase 5)
    events = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2", "u3", "u3"],
                           "item_id": ["i0", "i1", "i0", "i2", "i1", "i2"],
                           "event_type": ["view", "purchase", "view", "view", "view", "view"],
                           "timestamp": np.arange(6) * 1000 + 1_700_000_000_000})
    snapshot = snapshot_of_dataset(spark, Dataset.from_frames(events))

    model = fit_itemknn(snapshot, interactions(snapshot), create("itemknn", neighbours=2))

    # Item columns (u1, u2, u3): i0 = (1, 1, 0), i1 = (5, 0, 1), i2 = (0, 1, 1).
    expected = np.array([[0, 5 / np.sqrt(2 * 26), 1 / 2],
                         [5 / np.sqrt(2 * 26), 0, 1 / np.sqrt(26 * 2)],
                         [1 / 2, 1 / np.sqrt(26 * 2), 0]])
    np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-6)
    one = fit_itemknn(snapshot, interactions(snapshot), create("itemknn", neighbours=1)).similarity_
    assert list(one.indices) == [1, 0, 0]  # i0 -> i1 (0.69), i1 -> i0 (0.69), i2 -> i0 (0.5)

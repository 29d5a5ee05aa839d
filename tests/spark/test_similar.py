"""Similar items fitted for a Spark bundle equal the local model's: the same co-occurrence
neighbours, content vectors, trust and popularity, so the same answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.store import Store
from shoprec.models.registry import create
from shoprec.models.similar_items import SimilarItemsRecommender
from tests.spark.conftest import SKIP_REASON

pytest.importorskip("pyspark", reason=SKIP_REASON)

from shoprec.spark.counts import fit_itemknn  # noqa: E402
from shoprec.spark.prepare import interactions, read_store  # noqa: E402
from shoprec.spark.similar import fit_similar_items  # noqa: E402

VIEW = S.EVENT_TYPE_CODE[S.EventType.VIEW.value]

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def test_similar_items_on_spark_equal_the_local_model(spark: Any, shop_workspace: Path) -> None:
    store = Store(shop_workspace)
    try:
        dataset, catalogue = store.dataset(), store.items()
    finally:
        store.close()
    snapshot = read_store(spark, shop_workspace)[0]
    params = {"neighbours": dataset.n_items, "shrink": 5.0}  # every co-occurring item: no ties to break
    # The catalogue in another order: rows are matched to items by id.
    spark_side = fit_similar_items(snapshot, interactions(snapshot), catalogue.iloc[::-1], SimilarItemsRecommender(**params))
    local = SimilarItemsRecommender(**params).fit(dataset)
    assert sorted(spark_side._learned_state()) == sorted(local._learned_state())
    assert snapshot.item_ids.ids.tolist() == dataset.item_ids.ids.tolist()
    scale = abs(local.cooccurrence_).max()
    assert spark_side.cooccurrence_.nnz == local.cooccurrence_.nnz > 0
    assert abs(spark_side.cooccurrence_ - local.cooccurrence_).max() <= 1e-5 * scale
    assert abs(spark_side.item_vectors_ - local.item_vectors_).max() <= 1e-12 and local.item_vectors_.nnz > 0
    np.testing.assert_allclose(spark_side.trust_, local.trust_, rtol=1e-12)
    assert 0 < local.trust_.max() < 0.7  # the formula at work: some items trusted, none fully
    np.testing.assert_allclose(spark_side.popularity_, local.popularity_, rtol=1e-6)
    # The same answers for one-item histories (what item pages ask).
    anchors = np.arange(0, dataset.n_items, max(1, dataset.n_items // 20))
    single = Histories.from_lists([[(int(a), VIEW, 0)] for a in anchors])
    np.testing.assert_allclose(spark_side.score(single), local.score(single), rtol=1e-4, atol=1e-6)


def test_a_fitted_item_knn_with_the_same_settings_lends_its_neighbours(spark: Any, shop_workspace: Path) -> None:
    store = Store(shop_workspace)
    try:
        catalogue = store.items()
    finally:
        store.close()
    snapshot = read_store(spark, shop_workspace)[0]
    table = interactions(snapshot)
    cosine = fit_itemknn(snapshot, table, create("itemknn"))
    bm25 = fit_itemknn(snapshot, table, create("itemknn_bm25"))
    borrowed = fit_similar_items(snapshot, table, catalogue, SimilarItemsRecommender(), [bm25, cosine])
    assert borrowed.cooccurrence_ is cosine.similarity_  # not counted again
    own = fit_similar_items(snapshot, table, catalogue, SimilarItemsRecommender(), [bm25])  # other weighting: counted
    assert own.cooccurrence_ is not bm25.similarity_ and abs(own.cooccurrence_ - cosine.similarity_).max() == 0

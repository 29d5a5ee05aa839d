"""`shoprec train --engine spark` end to end: the bundle it writes serves through the normal path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from shoprec.bundle import load_current
from shoprec.cli import cli
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.store import Store
from shoprec.models.ials import IALSRecommender
from shoprec.models.itemknn import ItemKNNRecommender
from shoprec.models.popularity import PopularityRecommender
from shoprec.models.similar_items import SimilarItemsRecommender
from shoprec.ranking.cold_start import ContextPopularity
from shoprec.ranking.engine import RecommendationEngine
from shoprec.recommending import history_of
from tests.spark.conftest import SKIP_REASON

pytest.importorskip("pyspark", reason=SKIP_REASON)

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def test_spark_bundle_serves_through_the_recommendation_engine(spark: Any, shop_workspace: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(shop_workspace, workspace)
    runner = CliRunner()

    trained = runner.invoke(cli, ["train", "--workspace", str(workspace), "--engine", "spark", "--master", "local[2]",
                                  "--models", "ials,popularity,itemknn", "--default-model", "ials", "--param", "ials.factors=16",
                                  "--param", "ials.iterations=5", "--json"])

    assert trained.exit_code == 0, trained.output
    assert "no fusion entries" in trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["engine"] == "spark" and summary["default_model"] == "ials"
    bundle = load_current(workspace)
    kinds = {name: type(model) for name, model in bundle.models.items()}
    assert kinds == {"ials": IALSRecommender, "popularity": PopularityRecommender, "itemknn": ItemKNNRecommender,
                     "similar_items": SimilarItemsRecommender, "context_popularity": ContextPopularity}
    store = Store(workspace)
    try:
        assert bundle.manifest["data"]["events"] == store.counts()["events"]
        user = str(store.read_events()["user_id"].iloc[0])
        history = history_of(store, bundle, user)
        recommendations = RecommendationEngine(store, bundle).recommend(user, 10)
    finally:
        store.close()
    # The personal stage scores with the bundle's ials: its fold-in of the stored history.
    scores = bundle.models["ials"].score(history)[0]
    assert len(recommendations) == 10 and all(r.source == "personal" for r in recommendations)
    chosen = bundle.item_ids.index_of([r.item_id for r in recommendations])
    np.testing.assert_allclose([r.score for r in recommendations], scores[chosen], rtol=1e-5)
    assert set(chosen).isdisjoint(history.items)  # seen items are excluded, as for any bundle

    answer = runner.invoke(cli, ["recommend", "--workspace", str(workspace), "--user", user, "--json"])
    assert answer.exit_code == 0, answer.output
    assert [r["item_id"] for r in json.loads(answer.stdout)["items"]] == [r.item_id for r in recommendations]

    # Item pages of a Spark shop answer "similar items" from the blend, as a local shop's do.
    store = Store(workspace)
    try:
        engine = RecommendationEngine(store, bundle)
        item = bundle.item_ids.id_of([0])[0]
        similar = engine.similar(str(item), 5)
    finally:
        store.close()
    assert engine.similarity_name == "similar_items" and len(similar) == 5
    view = S.EVENT_TYPE_CODE[S.EventType.VIEW.value]
    expected = bundle.models["similar_items"].score(Histories.from_lists([[(0, view, 0)]]))[0]
    shown = bundle.item_ids.index_of([r.item_id for r in similar])
    np.testing.assert_allclose([r.score for r in similar], expected[shown], rtol=1e-5)

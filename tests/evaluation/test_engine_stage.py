"""Evaluation through the recommendation engine: the model stage's numbers when no rule changes a list,
the engine's own when one does (here an item out of stock), worked out by hand."""

from __future__ import annotations

from math import log2

import numpy as np
import pandas as pd
import pytest

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.evaluation.runner import evaluate
from shoprec.evaluation.splits import Split, temporal_split
from shoprec.models.itemknn import ItemKNNRecommender
from shoprec.models.popularity import PopularityRecommender
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.rules import RuleSettings
from tests.evaluation.test_runner import CATEGORIES, CUTOFF, TEST, TRAIN

WARM_TEST = [row for row in TEST if row[0] != "u5"]  # every test user has a train history: no fallback needed


def _split(in_stock: dict[str, bool] | None = None, test: list[tuple] = WARM_TEST) -> Split:
    events = pd.DataFrame(TRAIN + test, columns=["user_id", "item_id", "event_type", "timestamp"])
    items = pd.DataFrame({"item_id": list(CATEGORIES), "category": list(CATEGORIES.values())})
    if in_stock is not None:
        items["in_stock"] = [in_stock.get(item, True) for item in CATEGORIES]
    return temporal_split(Dataset.from_frames(events, items), cutoff=CUTOFF)


def test_with_nothing_to_change_the_engine_measures_what_the_models_give() -> None:
    models = lambda: {"popularity": PopularityRecommender(), "itemknn": ItemKNNRecommender()}  # noqa: E731
    engine = evaluate(models(), _split(), ks=(1, 2), stage="engine")
    raw = evaluate(models(), _split(), ks=(1, 2), stage="model")
    assert engine.stage == "engine" and raw.stage == "model" and engine.split["stage"] == "engine"
    for name in ("popularity", "itemknn"):
        for key in ("ndcg@1", "ndcg@2", "recall@2", "precision@2", "map@2"):
            assert engine.results[name][key] == pytest.approx(raw.results[name][key]), (name, key)
            assert engine.model_stage[name][key] == pytest.approx(raw.results[name][key])
    assert engine.to_dict()["model_stage"]["popularity"]["ndcg@2"] == pytest.approx(raw.results["popularity"]["ndcg@2"])


def test_an_item_out_of_stock_changes_the_engines_numbers_not_the_models() -> None:
    # Popularity by summed weights: a 7, e 5, c 3, b 2, d 1. Seen in train: u1 {a, b}, u2 {a, c}, u3 {b, d}.
    # Targets: u1 c, u2 b, u3 a. Model stage top 2: u1 [e, c] (c at 2), u2 [e, b] (b at 2), u3 [a, e] (a at 1).
    # The engine may not show c (out of stock): u1 gets [e, d], no hit; the others are unchanged.
    split = _split(in_stock={"c": False})
    result = evaluate({"popularity": PopularityRecommender()}, split, ks=(2,), stage="engine")
    at_two = 1 / log2(3)
    assert result.model_stage["popularity"]["ndcg@2"] == pytest.approx((at_two + at_two + 1) / 3)
    assert result.results["popularity"]["ndcg@2"] == pytest.approx((0 + at_two + 1) / 3)
    # Letting the engine show out-of-stock items gives the model's numbers back.
    shown_anyway = evaluate({"popularity": PopularityRecommender()}, split, ks=(2,), stage="engine",
                            rules=RuleSettings(in_stock_only=False))
    assert shown_anyway.results["popularity"]["ndcg@2"] == pytest.approx(result.model_stage["popularity"]["ndcg@2"])


def test_a_shopper_with_no_history_is_answered_by_the_fallback_chain() -> None:
    split = _split(test=TEST)
    knn = ItemKNNRecommender().fit(split.train)
    engine = RecommendationEngine.offline({"itemknn": knn}, split.train)
    cold = Histories.empty(1)
    [answer] = engine.lists(cold, 3, now_ms=np.array([CUTOFF + 1]))
    # No history: nothing personal; the cold-start popularity (fitted for the engine) fills the list.
    popular = engine.popularity.scores_at(CUTOFF + 1)
    assert len(answer) == 3
    assert answer.items.tolist() == np.argsort(-popular, kind="stable")[:3].tolist()


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="stage must be one of engine, model"):
        evaluate({"popularity": PopularityRecommender()}, _split(), stage="bundle")


def test_the_report_names_the_stage_and_shows_both_where_they_differ(tmp_path) -> None:
    from shoprec.evaluation.report import write_report

    result = evaluate({"popularity": PopularityRecommender()}, _split(in_stock={"c": False}), ks=(2,), stage="engine")
    write_report(result, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "Measured stage: <strong>engine</strong>" in html
    assert "Engine against model stage at K = 2" in html
    same = evaluate({"popularity": PopularityRecommender()}, _split(), ks=(2,), stage="engine")
    write_report(same, tmp_path / "same.html")
    assert "no rule, filter or fallback changed them" in (tmp_path / "same.html").read_text()

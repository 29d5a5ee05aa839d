"""The LambdaMART ranker learns a planted signal, explains itself, and round-trips without pickle."""

from __future__ import annotations

import json

import numpy as np

from shoprec.ranking.ltr import LearnedRanker, RankerSettings
from shoprec.ranking.ltr_features import feature_names, group_of


def planted(n_groups: int = 120, size: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    names = feature_names(("a", "b"))
    x = rng.normal(size=(n_groups * size, len(names))).astype(np.float32)
    signal = names.index("b__score")
    labels = (x[:, signal] > 1.0).astype(np.int64) * 2  # relevant exactly when b's score is high
    return x, labels, np.full(n_groups, size), names, signal


def ndcg_by(scores: np.ndarray, labels: np.ndarray, size: int) -> float:
    values = []
    for g in range(len(labels) // size):
        s, y = scores[g * size:(g + 1) * size], labels[g * size:(g + 1) * size]
        if y.max() == 0:
            continue
        gains = (2.0 ** y[np.argsort(-s, kind="stable")][:10] - 1) / np.log2(np.arange(2, 12))
        ideal = (2.0 ** np.sort(y)[::-1][:10] - 1) / np.log2(np.arange(2, 12))
        values.append(gains.sum() / ideal.sum())
    return float(np.mean(values))


def test_the_ranker_learns_the_planted_feature_and_beats_a_noise_feature():
    x, labels, sizes, names, signal = planted()
    ranker = LearnedRanker.fit(x, labels, sizes, names, RankerSettings(n_estimators=60))
    test_x, test_labels, _, _, _ = planted(seed=1)
    learned = ndcg_by(ranker.predict(test_x), test_labels, 30)
    noise = ndcg_by(test_x[:, names.index("a__score")], test_labels, 30)
    assert learned > 0.9 > noise
    assert next(iter(ranker.importances())) == "b__score"


def test_contributions_are_grouped_by_model_and_sum_to_the_prediction(tmp_path):
    x, labels, sizes, names, _ = planted()
    ranker = LearnedRanker.fit(x, labels, sizes, names, RankerSettings(n_estimators=30, bags=2))
    assert len(ranker.models) == 2
    parts = ranker.contributions(x[:50], with_bias=True)
    assert {"a", "b", "item", "user", "context", "match", "timing", "bias"} == set(parts)
    np.testing.assert_allclose(sum(parts.values()), ranker.predict(x[:50]), rtol=1e-5, atol=1e-6)
    assert group_of("itemknn_bm25__rank") == "itemknn_bm25"

    ranker.save(tmp_path / "r")
    again = LearnedRanker.load(tmp_path / "r")
    np.testing.assert_allclose(again.predict(x[:100]), ranker.predict(x[:100]))
    assert again.feature_names == names


def test_a_ranker_saved_before_bagging_still_loads(tmp_path):
    x, labels, sizes, names, _ = planted()
    ranker = LearnedRanker.fit(x, labels, sizes, names, RankerSettings(n_estimators=20, bags=1))
    model = ranker.models[0]
    (tmp_path / "old").mkdir()
    model.save(tmp_path / "old" / "ranker.txt")
    (tmp_path / "old" / "ranker.json").write_text(json.dumps({"feature_names": names, "best_iteration": model.best_iteration_}))
    np.testing.assert_allclose(LearnedRanker.load(tmp_path / "old").predict(x[:20]), ranker.predict(x[:20]))


def test_boosting_from_a_base_starts_from_its_order(tmp_path):
    # Labels follow b's score. Boosting from a's score (noise) with trees that can barely move
    # (tiny learning rate), the order is a's; boosting from nothing, the same trees learn b.
    x, labels, sizes, names, signal = planted()
    noise = names.index("a__score")
    slow = {"n_estimators": 20, "learning_rate": 0.001, "bags": 1, "early_stopping_rounds": 100}
    based = LearnedRanker.fit(x, labels, sizes, names, RankerSettings(**slow, base_weight=5.0), base_feature="a__score")
    plain = LearnedRanker.fit(x, labels, sizes, names, RankerSettings(**slow))
    test_x, test_labels, _, _, _ = planted(seed=1)
    ranks = [np.argsort(np.argsort(v)) for v in (based.predict(test_x), test_x[:, noise])]
    assert np.corrcoef(*ranks)[0, 1] > 0.99  # a's order, up to near ties the trees nudge
    assert ndcg_by(plain.predict(test_x), test_labels, 30) > 0.9 > ndcg_by(based.predict(test_x), test_labels, 30)
    # the score is the base plus the trees, the base is credited to its model, and both survive a save
    trees = np.mean([model.booster_.predict(test_x[:40], num_iteration=model.best_iteration_) for model in based.models], axis=0)
    np.testing.assert_allclose(based.predict(test_x[:40]), trees + 5.0 * test_x[:40, noise], rtol=1e-5, atol=1e-5)
    parts = based.contributions(test_x[:40], with_bias=True)
    np.testing.assert_allclose(sum(parts.values()), based.predict(test_x[:40]), rtol=1e-5, atol=1e-5)
    based.save(tmp_path / "r")
    again = LearnedRanker.load(tmp_path / "r")
    assert (again.base_feature, again.base_weight) == ("a__score", 5.0)
    np.testing.assert_allclose(again.predict(test_x[:40]), based.predict(test_x[:40]))

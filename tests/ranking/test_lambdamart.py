"""The one LambdaMART estimator: settings checked once, a planted order learned, SHAP parts that add
up, early stopping on held-out groups, and a save that loads to the same scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.errors import ConfigError, NotFittedError
from shoprec.ranking.lambdamart import Groups, LambdaMART, LambdaMARTSettings

NAMES = ["signal", "noise", "kind"]


def _groups(seed: int, n_groups: int = 40, size: int = 20, signal: bool = True) -> Groups:
    rng = np.random.default_rng(seed)
    x = rng.random((n_groups * size, 3))
    x[:, 2] = rng.integers(0, 3, len(x))
    labels = (x[:, 0] > 0.8).astype(int) if signal else rng.integers(0, 2, len(x))
    return Groups(x, labels, np.full(n_groups, size))


def _ndcg_at_1(scores: np.ndarray, groups: Groups) -> float:
    bounds = np.concatenate([[0], np.cumsum(groups.sizes)])
    hits = [groups.labels[lo:hi][np.argmax(scores[lo:hi])] for lo, hi in zip(bounds[:-1], bounds[1:])]
    return float(np.mean(hits))


@pytest.mark.parametrize(("field", "value", "match"), [
    ("num_leaves", 1, "num_leaves"), ("learning_rate", 0.0, "learning_rate"), ("feature_fraction", 1.5, "feature_fraction"),
    ("min_data_in_leaf", 0, "min_data_in_leaf"), ("truncation_level", 0, "truncation_level"),
])
def test_bad_settings_are_refused_naming_the_field(field: str, value: float, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LambdaMARTSettings(**{field: value})


def test_a_planted_order_is_learned_and_its_parts_add_up(tmp_path: Path) -> None:
    model = LambdaMART(LambdaMARTSettings(n_estimators=40, min_data_in_leaf=5), NAMES, categorical=["kind"])
    model.fit(_groups(0), _groups(1, n_groups=10))
    fresh = _groups(2)
    scores = model.predict(fresh.features)
    assert _ndcg_at_1(scores, fresh) > 0.9
    parts = model.contributions(fresh.features[:30])
    assert parts.shape == (30, len(NAMES) + 1)
    np.testing.assert_allclose(parts.sum(axis=1), scores[:30], rtol=1e-6, atol=1e-6)
    gains = model.gains()
    assert int(np.argmax(gains)) == NAMES.index("signal")
    model.save(tmp_path / "m.txt")
    again = LambdaMART.load(tmp_path / "m.txt", feature_names=NAMES)
    np.testing.assert_array_equal(again.predict(fresh.features), scores)


def test_held_out_groups_stop_boosting_on_noise() -> None:
    settings = LambdaMARTSettings(n_estimators=200, early_stopping_rounds=5, min_data_in_leaf=5)
    stopped = LambdaMART(settings, NAMES).fit(_groups(3, signal=False), _groups(4, n_groups=15, signal=False))
    assert stopped.best_iteration_ < 200
    unstopped = LambdaMART(settings, NAMES).fit(_groups(3, signal=False))
    assert unstopped.best_iteration_ == 200


def test_start_scores_are_where_boosting_begins() -> None:
    # Boosting from a strong start made of noise, slow trees barely move it: the order stays the
    # noise's; from no start, the same trees find the signal.
    train, fresh = _groups(5), _groups(6)
    slow = LambdaMARTSettings(n_estimators=20, learning_rate=0.001, min_data_in_leaf=5)
    start = 10.0 * train.features[:, 1]
    based = LambdaMART(slow, NAMES).fit(Groups(train.features, train.labels, train.sizes, start))
    plain = LambdaMART(slow, NAMES).fit(train)
    trees = based.predict(train.features)  # the trees only, without the start
    assert np.abs(trees).max() < 0.05 * np.ptp(start)
    assert _ndcg_at_1(based.predict(fresh.features) + 10.0 * fresh.features[:, 1], fresh) < 0.5
    assert _ndcg_at_1(plain.predict(fresh.features), fresh) > 0.9


def test_an_unfitted_model_says_so() -> None:
    with pytest.raises(NotFittedError):
        LambdaMART(feature_names=NAMES).predict(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="categorical feature 'size'"):
        LambdaMART(feature_names=NAMES, categorical=["size"])

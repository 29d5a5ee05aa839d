"""The learned ranker is cross-fitted: measured out of fold, served as the average of its fold models."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.ranking.candidates import CandidateBatch
from shoprec.ranking.learn import cross_fitted_ranker
from shoprec.ranking.ltr import RankerSettings
from shoprec.ranking.weights import LabelledBatch, ndcg_of_scores

N_USERS, PER_USER = 240, 30
NAMES = ["a__score", "noise_1", "noise_2", "noise_3"]


def _validation(seed: int, signal: bool) -> tuple[LabelledBatch, np.ndarray, np.ndarray]:
    """Users with 30 candidates, 2 of them relevant; feature a__score tells them apart when `signal`."""
    rng = np.random.default_rng(seed)
    user_rows = np.repeat(np.arange(N_USERS), PER_USER)
    items = np.tile(np.arange(PER_USER), N_USERS)
    relevant_sets = [np.sort(rng.choice(PER_USER, size=2, replace=False)) for _ in range(N_USERS)]
    grades = np.concatenate([np.isin(np.arange(PER_USER), r) for r in relevant_sets]).astype(np.int64)
    features = rng.random((len(items), len(NAMES)))
    if signal:
        features[:, 0] = grades + 0.3 * rng.random(len(items))
    batch = CandidateBatch(user_rows, items, features[:, :1].copy(), np.full((len(items), 1), np.nan),
                           np.full((N_USERS, 1), PER_USER), ("a",))
    return LabelledBatch.label(batch, relevant_sets), features, grades


SETTINGS = RankerSettings(n_estimators=40, bags=3)


def test_a_planted_signal_is_found_out_of_fold_by_three_fold_models() -> None:
    labelled, features, grades = _validation(0, signal=True)
    ranker, out_of_fold, tried = cross_fitted_ranker(labelled, features, grades, NAMES, SETTINGS, "a__score",
                                                     (0.0, 1.0, 3.0), seed=7)
    assert len(ranker.models) == 3
    assert set(tried) == {0.0, 1.0, 3.0} and ranker.base_weight == max(tried, key=tried.get)
    assert out_of_fold > 0.95
    # served: the average of the fold models plus the chosen base, finding the signal on new users too
    fresh, new_features, _ = _validation(1, signal=True)
    assert ndcg_of_scores(fresh, ranker.predict(new_features)) > 0.95


def test_noise_scores_no_better_than_chance_out_of_fold() -> None:
    # In-sample, trees fit noise; out of fold they cannot, so validation does not flatter the ranker.
    labelled, features, grades = _validation(2, signal=False)
    _, out_of_fold, _ = cross_fitted_ranker(labelled, features, grades, NAMES, SETTINGS, "a__score", (0.0,), seed=7)
    rng = np.random.default_rng(3)
    chance = np.mean([ndcg_of_scores(labelled, rng.random(len(grades))) for _ in range(20)])
    assert out_of_fold == pytest.approx(chance, abs=0.04)


def test_one_weight_is_taken_without_trying_it() -> None:
    labelled, features, grades = _validation(4, signal=True)
    ranker, _, tried = cross_fitted_ranker(labelled, features, grades, NAMES, RankerSettings(n_estimators=20, bags=2),
                                           "a__score", (1.0,), seed=7)
    assert ranker.base_weight == 1.0 and len(ranker.models) == 2
    assert list(tried) == [1.0]

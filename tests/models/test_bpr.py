"""BPR: the factors are implicit's, and the fold-in map is the ridge regression described in the docstring."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.bpr import BayesianPersonalizedRanking
from threadpoolctl import threadpool_limits

from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.bpr import FOLD_IN_RIDGE, BPRRecommender
from tests.models.random_shop import T0, shop

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]
PARAMS = {"factors": 6, "learning_rate": 0.05, "regularization": 0.01, "iterations": 20, "seed": 5}


def implicit_bpr(x: np.ndarray) -> BayesianPersonalizedRanking:
    with threadpool_limits(1, "blas"):
        bpr = BayesianPersonalizedRanking(
            factors=6, learning_rate=0.05, regularization=0.01, iterations=20, num_threads=1, random_state=5
        )
        bpr.fit(sp.csr_matrix((x > 0).astype(np.float32)), show_progress=False)
    return bpr


def test_factors_and_biases_are_implicits() -> None:
    dataset, x = shop(0, n_users=40, n_items=20)
    model = BPRRecommender(**PARAMS).fit(dataset)
    bpr = implicit_bpr(x)
    # implicit keeps the item bias as the last item-factor column (user side: a constant 1).
    np.testing.assert_allclose(model.item_factors_, bpr.item_factors[:, :-1], rtol=1e-6)
    np.testing.assert_allclose(model.item_bias_, bpr.item_factors[:, -1], rtol=1e-6)


def test_fold_in_map_is_ridge_regression_from_mean_item_factor_to_user_factor() -> None:
    dataset, x = shop(1, n_users=40, n_items=20)
    model = BPRRecommender(**PARAMS).fit(dataset)
    bpr = implicit_bpr(x)
    touched = (x > 0).astype(np.float64)
    q, bias = bpr.item_factors[:, :-1].astype(np.float64), bpr.item_factors[:, -1].astype(np.float64)
    mean_factor = touched @ q / touched.sum(axis=1, keepdims=True)
    users = bpr.user_factors[:, :-1].astype(np.float64)
    ridge = FOLD_IN_RIDGE * np.trace(mean_factor.T @ mean_factor) / 6
    # Ridge as ordinary least squares on rows augmented with sqrt(ridge) * I.
    stacked = np.vstack([mean_factor, np.sqrt(ridge) * np.eye(6)])
    expected = np.linalg.lstsq(stacked, np.vstack([users, np.zeros((6, 6))]), rcond=None)[0]
    np.testing.assert_allclose(model.fold_in_map_, expected, rtol=1e-4, atol=1e-6)
    scores = model.score(dataset.histories())
    np.testing.assert_allclose(scores, mean_factor @ expected @ q.T + bias, rtol=1e-4, atol=1e-5)


def test_only_which_items_were_touched_counts() -> None:
    dataset, _ = shop(2, n_users=30, n_items=12)
    model = BPRRecommender(**PARAMS).fit(dataset)
    viewed = Histories.from_lists([[(1, VIEW, T0), (4, VIEW, T0 + 1)]])
    bought = Histories.from_lists([[(1, PURCHASE, T0), (1, VIEW, T0 + 1), (4, VIEW, T0 + 2), (4, VIEW, T0 + 3)]])
    np.testing.assert_array_equal(model.score(viewed), model.score(bought))


def test_empty_history_scores_by_item_bias() -> None:
    dataset, x = shop(3, n_users=30, n_items=12)
    scores = BPRRecommender(**PARAMS).fit(dataset).score(Histories.empty(1))[0]
    np.testing.assert_allclose(scores, implicit_bpr(x).item_factors[:, -1], rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"factors": 0}, "factors must be an integer >= 1, got 0"),
        ({"iterations": -1}, "iterations must be"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"regularization": -0.1}, "regularization must be >= 0"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_out_of_range_hyperparameters_raise(params: dict[str, float], match: str) -> None:
    dataset, _ = shop(4, n_users=5, n_items=4)
    with pytest.raises(ConfigError, match=match):
        BPRRecommender(**params).fit(dataset)  # type: ignore[arg-type]

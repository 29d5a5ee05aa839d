"""iALS: the fit is implicit's ALS on 1 + alpha * w, and the fold-in is its exact user step (oracle: recalculate_user)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.ials import IALSRecommender
from tests.models.random_shop import T0, shop

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]
PARAMS = {"factors": 5, "regularization": 0.1, "alpha": 2.0, "iterations": 5, "seed": 3}


def confidences(x: np.ndarray, alpha: float) -> sp.csr_matrix:
    """Hu et al.'s c = 1 + alpha * w on touched cells, the matrix implicit's ALS reads."""
    return sp.csr_matrix(np.where(x > 0, 1.0 + alpha * x, 0.0), dtype=np.float32)


def test_item_factors_are_implicits_als_on_hu_confidences() -> None:
    dataset, x = shop(0, n_users=30, n_items=15)
    model = IALSRecommender(**PARAMS).fit(dataset)
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(factors=5, regularization=0.1, alpha=1.0, iterations=5, random_state=3)
        als.fit(confidences(x, 2.0), show_progress=False)
    np.testing.assert_allclose(model.item_factors_, als.item_factors, rtol=1e-5, atol=1e-6)


def test_fold_in_is_implicits_recalculate_user() -> None:
    dataset, x = shop(1, n_users=30, n_items=15)
    model = IALSRecommender(**PARAMS).fit(dataset)
    users = np.array([0, 7, 19, 29])
    with threadpool_limits(1, "blas"):
        reference = AlternatingLeastSquares(factors=5, regularization=0.1, alpha=1.0)
        reference.item_factors = model.item_factors_
        expected = reference.recalculate_user(users, confidences(x[users], 2.0))
    np.testing.assert_allclose(model.fold_in(sp.csr_matrix(x[users])), expected, rtol=1e-4, atol=1e-5)
    scores = model.score(dataset.histories(users))
    np.testing.assert_allclose(scores, expected @ model.item_factors_.T, rtol=1e-4, atol=1e-5)


def test_fold_in_solves_the_dense_weighted_least_squares() -> None:
    # Hu et al., eq. 4, with C_u as a dense diagonal over every item: no Gram-matrix shortcut.
    dataset, x = shop(2, n_users=25, n_items=12)
    model = IALSRecommender(**PARAMS).fit(dataset)
    y = model.item_factors_.astype(np.float64)
    history = Histories.from_lists([[(3, VIEW, T0), (3, PURCHASE, T0 + 1), (8, VIEW, T0 + 2)]])
    w = np.zeros(12)
    w[3], w[8] = 6.0, 1.0
    c, p = 1.0 + 2.0 * w, (w > 0).astype(np.float64)
    user = np.linalg.solve(y.T @ (c[:, None] * y) + 0.1 * np.eye(5), y.T @ (c * p))
    np.testing.assert_allclose(model.score(history)[0], y @ user, rtol=1e-5, atol=1e-6)


def test_empty_history_scores_by_popularity() -> None:
    dataset, x = shop(3, n_users=15, n_items=6)
    scores = IALSRecommender(factors=2, iterations=2).fit(dataset).score(Histories.empty(1))[0]
    np.testing.assert_allclose(scores, x.sum(axis=0), rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"factors": 0}, "factors must be an integer >= 1, got 0"),
        ({"iterations": 0}, "iterations must be"),
        ({"regularization": 0.0}, "regularization must be > 0"),
        ({"alpha": -1.0}, "alpha must be >= 0"),
        ({"seed": -2}, "seed must be"),
    ],
)
def test_out_of_range_hyperparameters_raise(params: dict[str, float], match: str) -> None:
    dataset, _ = shop(4, n_users=5, n_items=4)
    with pytest.raises(ConfigError, match=match):
        IALSRecommender(**params).fit(dataset)  # type: ignore[arg-type]

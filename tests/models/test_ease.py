"""EASE against its closed form and against per-item ridge regressions, computed here with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.ease import EASERecommender
from tests.models.random_shop import T0, shop

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]


def test_weights_are_steck_closed_form_with_a_zero_diagonal() -> None:
    dataset, x = shop(0, n_users=25, n_items=8)
    model = EASERecommender(l2=3.0).fit(dataset)
    # Steck 2019, eq. 8: B = I - P diagMat(1 / diag(P)), P = (X'X + l2 I)^-1.
    p = np.linalg.inv(x.T @ x + 3.0 * np.eye(8))
    expected = np.eye(8) - p / np.diag(p)[None, :]
    assert model.item_item_weights_.dtype == np.float32
    np.testing.assert_allclose(model.item_item_weights_, expected, rtol=1e-5, atol=1e-7)
    assert np.all(np.diag(model.item_item_weights_) == 0)


def test_each_column_is_a_ridge_regression_on_the_other_items() -> None:
    # The constrained problem splits by column: B[:, j] regresses item j's column on the others.
    dataset, x = shop(1, n_users=30, n_items=7)
    weights = EASERecommender(l2=10.0).fit(dataset).item_item_weights_
    for j in range(7):
        others = np.delete(np.arange(7), j)
        a = x[:, others]
        solution = np.linalg.solve(a.T @ a + 10.0 * np.eye(6), a.T @ x[:, j])
        np.testing.assert_allclose(weights[others, j], solution, rtol=1e-4, atol=1e-6)


def test_a_new_history_scores_its_weights_times_b() -> None:
    dataset, x = shop(2, n_users=20, n_items=6)
    model = EASERecommender(l2=5.0).fit(dataset)
    p = np.linalg.inv(x.T @ x + 5.0 * np.eye(6))
    b = np.eye(6) - p / np.diag(p)[None, :]
    # item 1 viewed twice and bought (1 + 1 + 5 = 7), item 4 viewed once
    history = Histories.from_lists([[(1, VIEW, T0), (1, VIEW, T0 + 1), (1, PURCHASE, T0 + 2), (4, VIEW, T0 + 3)]])
    h = np.zeros(6)
    h[1], h[4] = 7.0, 1.0
    np.testing.assert_allclose(model.score(history)[0], h @ b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score(history, np.array([5, 0]))[0], (h @ b)[[5, 0]], rtol=1e-5, atol=1e-6)


def test_scores_the_same_from_the_rows_a_batch_touches_as_from_all_of_b() -> None:
    # A batch touching few items multiplies only B's rows of those items; one touching most, all of B.
    dataset, x = shop(6, n_users=30, n_items=12)
    model = EASERecommender(l2=4.0).fit(dataset)
    p = np.linalg.inv(x.T @ x + 4.0 * np.eye(12))
    b = np.eye(12) - p / np.diag(p)[None, :]
    few = Histories.from_lists([[(3, VIEW, T0)], [(7, PURCHASE, T0)]])  # 2 of 12 items touched
    many = Histories.from_lists([[(i, VIEW, T0)] for i in range(12)])  # all 12 touched
    np.testing.assert_allclose(model.score(few), np.array([b[3], 5.0 * b[7]]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score(many), b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score(few, np.array([0, 7])), np.array([b[3, [0, 7]], 5.0 * b[7, [0, 7]]]),
                               rtol=1e-5, atol=1e-6)


def test_empty_history_scores_by_popularity() -> None:
    dataset, x = shop(3, n_users=15, n_items=6)
    scores = EASERecommender().fit(dataset).score(Histories.empty(1))[0]
    np.testing.assert_allclose(scores, x.sum(axis=0), rtol=1e-6)


def test_refuses_a_catalogue_above_max_items() -> None:
    dataset, _ = shop(4, n_users=10, n_items=8)
    model = EASERecommender(max_items=5)
    with pytest.raises(ConfigError) as caught:
        model.fit(dataset)
    message = str(caught.value)
    assert "max_items=5" in message and "has 8" in message
    assert "GiB" in message and "itemknn" in message
    assert not model.is_fitted


@pytest.mark.parametrize(("params", "match"), [({"l2": 0.0}, "l2 must be > 0"), ({"max_items": 0}, "max_items")])
def test_out_of_range_hyperparameters_raise(params: dict[str, float], match: str) -> None:
    dataset, _ = shop(5, n_users=5, n_items=4)
    with pytest.raises(ConfigError, match=match):
        EASERecommender(**params).fit(dataset)

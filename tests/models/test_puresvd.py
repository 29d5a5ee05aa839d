"""PureSVD against numpy's full SVD on tiny matrices."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.puresvd import PureSVDRecommender
from tests.models.random_shop import T0, shop

VIEW = EVENT_TYPE_CODE["view"]


def top_right_vectors(x: np.ndarray, k: int) -> np.ndarray:
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    assert s[k - 1] > 1.01 * s[k]  # a clear gap, so the rank-k subspace is well defined
    return vt[:k].T


def test_projection_spans_numpy_top_singular_vectors() -> None:
    dataset, x = shop(0, n_users=30, n_items=12)
    model = PureSVDRecommender(factors=3, seed=1).fit(dataset)
    v = top_right_vectors(x, 3)
    # Q is defined up to signs and rotation within the subspace; Q Q' is not.
    q = model.item_factors_.astype(np.float64)
    np.testing.assert_allclose(q @ q.T, v @ v.T, atol=1e-5)


def test_training_users_score_their_rank_k_reconstruction() -> None:
    dataset, x = shop(1, n_users=25, n_items=10)
    model = PureSVDRecommender(factors=4).fit(dataset)
    top_right_vectors(x, 4)  # asserts the gap after the 4th singular value
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    reconstruction = u[:, :4] * s[:4] @ vt[:4]
    np.testing.assert_allclose(model.score(dataset.histories()), reconstruction, rtol=1e-4, atol=1e-4)


def test_a_new_history_is_projected_onto_the_item_space() -> None:
    dataset, x = shop(2, n_users=20, n_items=8)
    model = PureSVDRecommender(factors=2).fit(dataset)
    v = top_right_vectors(x, 2)
    history = Histories.from_lists([[(3, VIEW, T0), (6, VIEW, T0 + 1), (6, VIEW, T0 + 2)]])
    h = np.zeros(8)
    h[3], h[6] = 1.0, 2.0
    np.testing.assert_allclose(model.score(history)[0], h @ v @ v.T, atol=1e-5)


def test_factors_are_capped_at_the_matrix_rank_and_then_give_back_the_history() -> None:
    dataset, _ = shop(3, n_users=20, n_items=6, density=0.6)
    model = PureSVDRecommender(factors=50).fit(dataset)
    assert model.item_factors_.shape == (6, 6)
    history = Histories.from_lists([[(2, VIEW, T0)]])
    np.testing.assert_allclose(model.score(history)[0], np.eye(6)[2], atol=1e-5)


def test_empty_history_scores_by_popularity() -> None:
    dataset, x = shop(4, n_users=15, n_items=6)
    scores = PureSVDRecommender(factors=2).fit(dataset).score(Histories.empty(1))[0]
    np.testing.assert_allclose(scores, x.sum(axis=0), rtol=1e-6)


@pytest.mark.parametrize(("params", "match"), [({"factors": 0}, "factors must be"), ({"seed": -1}, "seed must be")])
def test_out_of_range_hyperparameters_raise(params: dict[str, int], match: str) -> None:
    dataset, _ = shop(5, n_users=5, n_items=4)
    with pytest.raises(ConfigError, match=match):
        PureSVDRecommender(**params).fit(dataset)

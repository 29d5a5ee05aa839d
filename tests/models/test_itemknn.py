"""Item-kNN against cosine and BM25 similarities computed here with numpy, and against implicit's own scorer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.nearest_neighbours import CosineRecommender

from shoprec.data.history import Histories
from shoprec.data.schema import EVENT_TYPE_CODE
from shoprec.errors import ConfigError
from shoprec.models.itemknn import ItemKNNRecommender
from tests.models.random_shop import T0, shop

VIEW, PURCHASE = EVENT_TYPE_CODE["view"], EVENT_TYPE_CODE["purchase"]


def cosine(x: np.ndarray) -> np.ndarray:
    """Cosine between item columns, with the diagonal (an item with itself) zeroed."""
    norms = np.linalg.norm(x, axis=0)
    similarity = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(similarity, 0.0)
    return similarity


def bm25_similarity(x: np.ndarray, k1: float, b: float) -> np.ndarray:
    """Dot products of BM25-weighted item columns: items are the documents, users the terms
    (idf of a user = log(n_items) - log(1 + items they touched)), diagonal zeroed."""
    n_items = x.shape[1]
    idf = np.log(n_items) - np.log1p((x > 0).sum(axis=1))
    length = x.sum(axis=0)
    norm = (1 - b) + b * length / length.mean()
    weighted = np.where(x > 0, x * (k1 + 1) / (k1 * norm[None, :] + x), 0.0) * idf[:, None]
    similarity = weighted.T @ weighted
    np.fill_diagonal(similarity, 0.0)
    return similarity


def test_cosine_weights_with_enough_neighbours_are_all_pairs() -> None:
    dataset, x = shop(0, n_users=30, n_items=10)
    model = ItemKNNRecommender(neighbours=20).fit(dataset)
    np.testing.assert_allclose(model.similarity_.toarray(), cosine(x), rtol=1e-5, atol=1e-6)


def test_bm25_weights_match_the_formula() -> None:
    dataset, x = shop(1, n_users=30, n_items=10)
    model = ItemKNNRecommender(neighbours=20, similarity="bm25", bm25_k1=1.5, bm25_b=0.6).fit(dataset)
    np.testing.assert_allclose(model.similarity_.toarray(), bm25_similarity(x, 1.5, 0.6), rtol=1e-4, atol=1e-6)


def test_each_item_keeps_its_k_most_similar_other_items() -> None:
    dataset, x = shop(2, n_users=40, n_items=12)
    full = cosine(x)
    weights = ItemKNNRecommender(neighbours=3).fit(dataset).similarity_.toarray()
    for i in range(12):
        best = np.sort(full[i])[::-1]
        assert best[2] > best[3]  # no tie at the cut, so the three are well defined
        assert set(np.flatnonzero(weights[i])) == set(np.argsort(-full[i])[:3])
        np.testing.assert_allclose(weights[i][weights[i] != 0], full[i][weights[i] != 0], rtol=1e-5)


@pytest.mark.filterwarnings("ignore::implicit.utils.ParameterWarning")  # implicit's cosine passes itself a COO matrix
def test_scores_are_history_times_weights_as_implicit_scores_them() -> None:
    # Pruned weights are not symmetric, so this also checks which way round W is read.
    dataset, x = shop(3, n_users=30, n_items=12)
    model = ItemKNNRecommender(neighbours=3).fit(dataset)
    reference = CosineRecommender(K=4, num_threads=1)  # implicit counts the item itself as a neighbour
    reference.fit(sp.csr_matrix(x), show_progress=False)
    scores = model.score(dataset.histories())
    for u in range(30):
        ids, found = reference.recommend(u, sp.csr_matrix(x[u]), N=12, filter_already_liked_items=True)
        expected = np.zeros(12)  # items implicit leaves out score nothing
        expected[ids] = found
        # An item is no neighbour of itself in shoprec, so only the items the user has not
        # touched compare (implicit's item-with-itself weight is 1).
        untouched = x[u] == 0
        np.testing.assert_allclose(scores[u, untouched], expected[untouched], rtol=1e-5, atol=1e-6)


def test_a_new_history_votes_with_its_event_weights() -> None:
    dataset, x = shop(4, n_users=20, n_items=8)
    model = ItemKNNRecommender(neighbours=10).fit(dataset)
    history = Histories.from_lists([[(0, VIEW, T0), (0, PURCHASE, T0 + 1), (5, VIEW, T0 + 2)]])
    h = np.zeros(8)
    h[0], h[5] = 6.0, 1.0
    np.testing.assert_allclose(model.score(history)[0], h @ cosine(x), rtol=1e-5, atol=1e-6)


def test_empty_history_scores_by_popularity() -> None:
    dataset, x = shop(5, n_users=15, n_items=6)
    scores = ItemKNNRecommender().fit(dataset).score(Histories.empty(1))[0]
    np.testing.assert_allclose(scores, x.sum(axis=0), rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"neighbours": 0}, "neighbours must be"),
        ({"similarity": "jaccard"}, "similarity must be one of cosine, bm25"),
        ({"bm25_k1": -1.0}, "bm25_k1 must be >= 0"),
        ({"bm25_b": 1.5}, "bm25_b must be between 0 and 1"),
    ],
)
def test_out_of_range_hyperparameters_raise(params: dict[str, object], match: str) -> None:
    dataset, _ = shop(6, n_users=5, n_items=4)
    with pytest.raises(ConfigError, match=match):
        ItemKNNRecommender(**params).fit(dataset)  # type: ignore[arg-type]

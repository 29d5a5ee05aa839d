"""Weight learning: NDCG of a re-ranking equals the evaluation metric, and the weights find the useful member."""

from __future__ import annotations

import numpy as np

from shoprec.evaluation.metrics import ndcg_at_k
from shoprec.ranking.candidates import CandidateBatch
from shoprec.ranking.weights import LabelledBatch, learn_weights, ndcg_of_scores


def batch(n_users: int, n_items: int, seed: int) -> tuple[CandidateBatch, list[np.ndarray]]:
    """Every user has all items as candidates; member 'oracle' scores the relevant ones high, 'noise' at random."""
    rng = np.random.default_rng(seed)
    relevant = [rng.choice(n_items, size=3, replace=False) for _ in range(n_users)]
    user_rows = np.repeat(np.arange(n_users), n_items)
    items = np.tile(np.arange(n_items), n_users)
    oracle = np.concatenate([np.isin(np.arange(n_items), r) + 0.3 * rng.random(n_items) for r in relevant])
    noise = rng.random(n_users * n_items) * 5
    scores = np.column_stack([oracle, noise])
    ranks = np.full(scores.shape, np.nan)
    return CandidateBatch(user_rows, items, scores, ranks, np.full((n_users, 2), n_items), ("oracle", "noise")), relevant


def test_ndcg_of_scores_matches_the_evaluation_metric():
    b, relevant = batch(5, 12, seed=1)
    labelled = LabelledBatch.label(b, relevant)
    scores = b.scores[:, 1]
    expected = []
    for u in range(5):
        mine = b.user_rows == u
        order = np.lexsort((b.items[mine], -scores[mine]))
        expected.append(ndcg_at_k(b.items[mine][order], relevant[u], 10))
    assert np.isclose(ndcg_of_scores(labelled, scores, 10), np.mean(expected))


def test_learned_weights_favour_the_member_that_knows():
    b, relevant = batch(40, 30, seed=2)
    labelled = LabelledBatch.label(b, relevant)
    weights, value = learn_weights(labelled, "minmax", 10)
    assert weights["oracle"] > weights["noise"]
    assert abs(sum(weights.values()) - 1) < 1e-6
    uniform = ndcg_of_scores(labelled, b.scores[:, 0] / np.ptp(b.scores[:, 0]) + b.scores[:, 1] / np.ptp(b.scores[:, 1]), 10)
    assert value >= uniform

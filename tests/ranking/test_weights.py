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


def _ndcg_by_full_sort(labelled: LabelledBatch, scores: np.ndarray, k: int, tiebreak: np.ndarray | None) -> float:
    """The definition, one user at a time: rank by score (then tiebreak) descending, lower item
    first on ties, NaN last; NDCG@k with the evaluation's formula, averaged over users with a relevant set."""
    b = labelled.batch
    values = []
    for u in range(b.n_users):
        if labelled.n_relevant[u] == 0:
            continue
        mine = np.flatnonzero(b.user_rows == u)
        s = np.where(np.isnan(scores[mine]), -np.inf, scores[mine])
        nan_last = np.isnan(scores[mine])
        keys = (b.items[mine], -s) if tiebreak is None else (b.items[mine], -tiebreak[mine], -s)
        order = mine[np.lexsort((*keys, nan_last))]
        gains = labelled.relevant[order][:k] / np.log2(np.arange(2, min(k, len(order)) + 2))
        ideal = (1 / np.log2(np.arange(2, min(k, labelled.n_relevant[u]) + 2))).sum()
        values.append(gains.sum() / ideal)
    return float(np.mean(values))


def test_ndcg_of_scores_equals_a_full_sort_with_ties_nan_and_short_lists():
    rng = np.random.default_rng(5)
    for trial in range(30):
        n_users = int(rng.integers(1, 25))
        sizes = rng.integers(1, 40, n_users)
        user_rows = np.repeat(np.arange(n_users), sizes)
        items = np.concatenate([np.sort(rng.choice(200, size=n, replace=False)) for n in sizes])
        # coarse scores: many ties; some -inf (a member without the item) and NaN
        scores = rng.integers(0, 6, len(items)).astype(np.float64)
        scores[rng.random(len(items)) < 0.05] = -np.inf
        scores[rng.random(len(items)) < 0.03] = np.nan
        tiebreak = rng.integers(0, 3, len(items)).astype(np.float64) if trial % 2 else None
        relevant = [np.flatnonzero(rng.random(200) < 0.08) for _ in range(n_users)]
        b = CandidateBatch(user_rows, items, scores[:, None], np.full((len(items), 1), np.nan),
                           sizes[:, None].astype(np.int64), ("m",))
        labelled = LabelledBatch.label(b, relevant)
        for k in (1, 3, 10):
            expected = _ndcg_by_full_sort(labelled, scores, k, tiebreak)
            assert np.isclose(ndcg_of_scores(labelled, scores, k, tiebreak), expected, rtol=1e-12, atol=0), (trial, k)

"""The batch fusion methods equal the one-request ones applied to each user's candidate table."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.ranking.batch_fusion import borda_points_batch, contributions_batch, filled_normalised_batch
from shoprec.ranking.candidates import CandidateBatch
from shoprec.ranking.fusion import NORMALISATIONS, FusionError, borda_points, contributions, filled_normalised


def _batch(seed: int) -> CandidateBatch:
    """Users with 0-9 candidates from three members: some absent (NaN), ties, a constant member, one user empty."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 10, size=12)
    counts[3] = 0
    n, m = int(counts.sum()), 3
    user_rows = np.repeat(np.arange(12), counts)
    items = np.concatenate([np.sort(rng.choice(50, size=c, replace=False)) for c in counts]).astype(np.int64)
    scores = rng.integers(0, 4, size=(n, m)).astype(np.float64)  # few values: many ties
    scores[:, 2] = 7.0  # one member gives every candidate the same score
    scores[rng.random((n, m)) < 0.25] = np.nan
    ranks = np.full((n, m), np.nan)
    lengths = np.zeros((12, m), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for u in range(12):
        for j in range(m):
            rows = np.arange(starts[u], starts[u + 1])
            top = rows[~np.isnan(scores[rows, j])][: 5]  # the member's "top N": some of its scored candidates
            ranks[top, j] = np.arange(1, len(top) + 1)
            lengths[u, j] = len(top)
    return CandidateBatch(user_rows, items, scores, ranks, lengths, ("a", "b", "c"))


def _per_user(batch: CandidateBatch, compute) -> np.ndarray:
    out = np.zeros(batch.scores.shape)
    bounds = batch.bounds()
    for u in range(batch.n_users):
        if bounds[u + 1] > bounds[u]:
            out[bounds[u]:bounds[u + 1]] = compute(batch.for_user(u))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("normalisation", NORMALISATIONS)
def test_normalised_scores_equal_each_users_own(seed: int, normalisation: str) -> None:
    batch = _batch(seed)
    expected = _per_user(batch, lambda table: filled_normalised(table, normalisation))
    np.testing.assert_allclose(filled_normalised_batch(batch, normalisation), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("method", "options"), [
    ("average", {}), ("average", {"normalisation": "zscore"}), ("weighted", {"weights": {"a": 0.7, "b": 0.3}}),
    ("borda", {}), ("borda", {"weights": {"a": 2.0, "b": 1.0, "c": 0.5}}), ("vote", {"vote_k": 2}), ("rrf", {"rrf_k": 5}),
])
def test_contributions_equal_each_users_own(seed: int, method: str, options: dict) -> None:
    batch = _batch(seed)
    expected = _per_user(batch, lambda table: contributions(table, method, **options))
    np.testing.assert_allclose(contributions_batch(batch, method, **options), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(borda_points_batch(batch), _per_user(batch, borda_points))


def test_bad_arguments_are_refused_as_one_request_would_be() -> None:
    batch = _batch(0)
    with pytest.raises(FusionError, match="needs weights"):
        contributions_batch(batch, "weighted")
    with pytest.raises(FusionError, match="normalisation"):
        filled_normalised_batch(batch, "softmax")
    with pytest.raises(FusionError, match="fusion method"):
        contributions_batch(batch, "median")

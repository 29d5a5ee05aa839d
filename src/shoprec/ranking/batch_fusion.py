"""The fusion methods of `shoprec.ranking.fusion` over a whole CandidateBatch at once.

`fusion.contributions` takes one request's candidate table; learning fusion weights and measuring
fusion on validation apply it to a thousand users hundreds of times, where a Python loop over users
cost most of the time (4.4 s of the weighted method's learning on the demo shop). Here every
per-user step (normalising a member's scores within the user's candidates, its floor, Borda points
from the user's list lengths) is done for all users in one pass over segment boundaries. The
results equal `contributions` applied to each user's table (tests/ranking/test_batch_fusion.py),
up to float rounding in z-score means.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from shoprec.ranking.candidates import CandidateBatch
from shoprec.ranking.fusion import DEFAULT_RRF_K, NORMALISATIONS, FusionError, source_weights


def filled_normalised_batch(batch: CandidateBatch, normalisation: str) -> np.ndarray:
    """(N, m): `fusion.filled_normalised` of each user's candidates, for every user."""
    if normalisation not in NORMALISATIONS:
        raise FusionError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {normalisation!r}")
    scores = np.asarray(batch.scores, dtype=np.float64)
    if not len(scores):
        return np.zeros(scores.shape)
    present = ~np.isnan(scores)
    starts, group = _segments(batch)
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalisation == "minmax":
            low = np.fmin.reduceat(scores, starts, axis=0)[group]
            span = np.fmax.reduceat(scores, starts, axis=0)[group] - low
            normalised = np.where(span > 0, (scores - low) / span, 1.0)
            return np.where(present, normalised, 0.0)
        if normalisation == "zscore":
            count = np.maximum(np.add.reduceat(present, starts, axis=0), 1)[group]
            mean = np.add.reduceat(np.where(present, scores, 0.0), starts, axis=0)[group] / count
            deviation = np.where(present, scores - mean, 0.0)
            std = np.sqrt(np.add.reduceat(deviation**2, starts, axis=0)[group] / count)
            normalised = np.where(std > 0, deviation / std, 0.0)
            lowest = np.fmin.reduceat(np.where(present, normalised, np.inf), starts, axis=0)[group]
            return np.where(present, normalised, np.where(np.isfinite(lowest), lowest, 0.0))
    return np.where(present, _rank_normalised(scores, present, batch), 0.0)


def contributions_batch(batch: CandidateBatch, method: str, *, weights: Mapping[str, float] | None = None,
                        rrf_k: int = DEFAULT_RRF_K, normalisation: str = "minmax", vote_k: int = 10) -> np.ndarray:
    """(N, m): `fusion.contributions` of each user's candidates, for every user."""
    w = source_weights(batch.sources, weights)
    present = ~np.isnan(batch.ranks)
    if method in ("average", "weighted"):
        if method == "weighted" and weights is None:
            raise FusionError("the weighted method needs weights (learn them with shoprec.ranking.weights.learn_weights)")
        total = w.sum()
        return filled_normalised_batch(batch, normalisation) * (w / total if total > 0 else w)
    if method == "borda":
        return borda_points_batch(batch) * w
    if method == "rrf":
        if rrf_k < 0:
            raise FusionError(f"rrf_k must be >= 0, got {rrf_k}")
        return np.where(present, 1.0 / (rrf_k + np.nan_to_num(batch.ranks, nan=0.0)), 0.0) * w
    if method == "vote":
        if vote_k < 1:
            raise FusionError(f"vote_k must be >= 1, got {vote_k}")
        return (np.nan_to_num(batch.ranks, nan=np.inf) <= vote_k).astype(np.float64) * w
    raise FusionError(f"fusion method must be one of average, weighted, borda, vote, rrf, got {method!r}")


def borda_points_batch(batch: CandidateBatch) -> np.ndarray:
    """(N, m): `fusion.borda_points` of each user's candidates (the user's list lengths)."""
    lengths = batch.lengths[batch.user_rows].astype(np.float64)
    return np.where(~np.isnan(batch.ranks), lengths - np.nan_to_num(batch.ranks, nan=0.0) + 1, 0.0)


def _segments(batch: CandidateBatch) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each user with candidates, and per row its user's place among those users
    (a user's rows are contiguous and users come in order, see `candidates.generate`)."""
    starts, group = np.unique(batch.user_rows, return_index=True, return_inverse=True)[1:]
    return starts.astype(np.int64), group.astype(np.int64)


def _rank_normalised(scores: np.ndarray, present: np.ndarray, batch: CandidateBatch) -> np.ndarray:
    """(n - rank + 1) / n within each user's present scores of each member, best first, ties in row order."""
    out = np.zeros(scores.shape)
    rows = np.arange(len(scores))
    for j in range(scores.shape[1]):
        keep = np.flatnonzero(present[:, j])
        users = batch.user_rows[keep]
        order = keep[np.lexsort((rows[keep], -scores[keep, j], users))]
        ordered_users = batch.user_rows[order]
        first = np.searchsorted(ordered_users, ordered_users)
        counts = np.bincount(ordered_users, minlength=batch.n_users)[ordered_users]
        rank = np.arange(len(order)) - first + 1
        out[order, j] = (counts - rank + 1) / counts
    return out

"""Choosing fusion weights on a validation split: coordinate ascent on NDCG.

The validation users' candidates are labelled once (which candidates they went on to use);
each trial re-weights the members' normalised scores, re-ranks every user's candidates in one
vectorised sort and measures NDCG@k with the same formula as the evaluation runner
(`accuracy_per_user`). Coordinate ascent (Metzler & Croft, 2007) moves one weight at a time
over a small multiplicative grid and keeps a change only when it improves the metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shoprec.evaluation.metrics import accuracy_per_user
from shoprec.ranking.candidates import CandidateBatch
from shoprec.ranking.fusion import Candidates, filled_normalised

WEIGHT_GRID = (0.0, 0.25, 0.5, 0.8, 1.25, 2.0, 4.0)  # multiples of a weight's current value
ADD_BACK = (0.05, 0.1, 0.25, 0.5, 1.0)  # shares of the total weight tried for a member at zero


@dataclass(frozen=True)
class LabelledBatch:
    """Candidates of validation users with, per candidate, whether the user went on to use it."""

    batch: CandidateBatch
    relevant: np.ndarray  # bool (N,)
    n_relevant: np.ndarray  # int (n_users,): the user's whole relevant set, candidates or not

    @classmethod
    def label(cls, batch: CandidateBatch, relevant_sets: Sequence[np.ndarray]) -> LabelledBatch:
        """Mark each candidate found in its user's relevant set."""
        width = int(max(batch.items.max(initial=-1), max((int(r.max(initial=-1)) for r in relevant_sets), default=-1))) + 1
        keys = np.concatenate([np.zeros(0, np.int64), *[u * width + np.asarray(r, np.int64) for u, r in enumerate(relevant_sets)]])
        flags = np.isin(batch.user_rows * width + batch.items, keys)
        return cls(batch, flags, np.array([len(r) for r in relevant_sets], dtype=np.int64))


def ndcg_of_scores(labelled: LabelledBatch, scores: np.ndarray, k: int = 10, tiebreak: np.ndarray | None = None) -> float:
    """Mean NDCG@k over the batch's users when each user's candidates are ranked by `scores`
    (ties by `tiebreak` descending, then by the lower item index)."""
    batch = labelled.batch
    # A user's rows are sorted by item (see `generate`), and lexsort is stable: the lower item wins ties.
    keys = [-scores, batch.user_rows] if tiebreak is None else [-tiebreak, -scores, batch.user_rows]
    order = np.lexsort(keys)
    users = batch.user_rows[order]
    starts = np.searchsorted(users, np.arange(batch.n_users))
    position = np.arange(len(order)) - starts[users]
    top = position < k
    hits = np.zeros((batch.n_users, k), dtype=bool)
    hits[users[top], position[top]] = labelled.relevant[order][top]
    keep = labelled.n_relevant > 0
    if not keep.any():
        return float("nan")
    return float(accuracy_per_user(hits[keep], labelled.n_relevant[keep], k)["ndcg"].mean())


def normalised_matrix(batch: CandidateBatch, normalisation: str) -> np.ndarray:
    """(N, m): every member's scores normalised within each user's candidates, floors filled."""
    out = np.empty_like(batch.scores)
    bounds = batch.bounds()
    for u in range(batch.n_users):
        lo, hi = bounds[u], bounds[u + 1]
        if hi > lo:
            table = Candidates(batch.items[lo:hi], batch.scores[lo:hi], batch.ranks[lo:hi], batch.sources, batch.lengths[u])
            out[lo:hi] = filled_normalised(table, normalisation)
    return out


def learn_weights(labelled: LabelledBatch, normalisation: str = "minmax", k: int = 10,
                  grid: Sequence[float] = WEIGHT_GRID, rounds: int = 3) -> tuple[dict[str, float], float]:
    """Weights (summing to 1) that maximise validation NDCG@k, and that NDCG.

    The ascent starts from the better of uniform weights and the best single member alone, so
    the result is never worse on validation than either; a zero weight is tried back at small
    shares of the total (`ADD_BACK`).
    """
    matrix = normalised_matrix(labelled.batch, normalisation)
    m = matrix.shape[1]
    starts = [np.ones(m), *np.eye(m)]
    values = [ndcg_of_scores(labelled, matrix @ w, k) for w in starts]
    best_start = int(np.nanargmax(values))
    weights, best = starts[best_start].astype(np.float64), values[best_start]
    for _ in range(rounds):
        improved = False
        for j in range(m):
            current, total = weights[j], weights.sum()
            trials = [current * f for f in grid] if current > 0 else [total * f for f in ADD_BACK]
            for value_j in trials:
                trial = weights.copy()
                trial[j] = value_j
                if trial.sum() <= 0 or np.isclose(value_j, current):
                    continue
                value = ndcg_of_scores(labelled, matrix @ trial, k)
                if value > best + 1e-9:
                    best, weights, improved = value, trial, True
        if not improved:
            break
    weights = weights / weights.sum()
    return {name: round(float(w), 6) for name, w in zip(labelled.batch.sources, weights, strict=True)}, best

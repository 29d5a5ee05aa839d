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
from functools import cached_property

import numpy as np

from shoprec.evaluation.metrics import accuracy_per_user
from shoprec.ranking.batch_fusion import filled_normalised_batch
from shoprec.ranking.candidates import CandidateBatch

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


    @cached_property
    def layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The rows of the users with at least one relevant candidate (the only users whose NDCG the
        scores can change), each with its user's place among them and its place in the user's rows,
        and the widest user's row count: a dense users x width grid for `ndcg_of_scores`."""
        batch = self.batch
        has_relevant = np.zeros(batch.n_users, dtype=bool)
        has_relevant[batch.user_rows[self.relevant]] = True
        rows = np.flatnonzero(has_relevant[batch.user_rows])
        _, place, counts = np.unique(batch.user_rows[rows], return_inverse=True, return_counts=True)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        slot = np.arange(len(rows)) - starts[place]  # a user's rows are contiguous (see `generate`)
        return rows, place.astype(np.int64), slot, int(counts.max(initial=0))


def ndcg_of_scores(labelled: LabelledBatch, scores: np.ndarray, k: int = 10, tiebreak: np.ndarray | None = None) -> float:
    """Mean NDCG@k over the batch's users when each user's candidates are ranked by `scores`
    (ties by `tiebreak` descending, then by the lower item index).

    Only rows that can reach a top k are sorted: those of users with a relevant candidate (the
    others score 0 whatever the order), at or above their user's k-th best score (NaN rows too:
    they rank last but may still be in a short list). A row ranked above one of those is one of
    them, so their positions are exact; coordinate ascent calls this hundreds of times.
    """
    batch = labelled.batch
    keep = labelled.n_relevant > 0
    if not keep.any():
        return float("nan")
    rows, place, slot, width = labelled.layout
    hits = np.zeros((batch.n_users, k), dtype=bool)
    if len(rows):
        own = scores[rows]
        grid = np.full((int(place.max()) + 1, width), -np.inf)
        grid[place, slot] = np.where(np.isnan(own), -np.inf, own)
        depth = min(k, width)
        kth = -np.partition(-grid, depth - 1, axis=1)[:, depth - 1]
        chosen = rows[(own >= kth[place]) | np.isnan(own)]
        # A user's rows are sorted by item (see `generate`), and lexsort is stable: the lower item wins ties.
        keys = [-scores[chosen], batch.user_rows[chosen]]
        if tiebreak is not None:
            keys.insert(0, -tiebreak[chosen])
        order = chosen[np.lexsort(keys)]
        users = batch.user_rows[order]
        starts = np.searchsorted(users, users)  # sorted by user: the first row of each row's user
        position = np.arange(len(order)) - starts
        top = position < k
        hits[users[top], position[top]] = labelled.relevant[order][top]
    return float(accuracy_per_user(hits[keep], labelled.n_relevant[keep], k)["ndcg"].mean())


def learn_weights(labelled: LabelledBatch, normalisation: str = "minmax", k: int = 10,
                  grid: Sequence[float] = WEIGHT_GRID, rounds: int = 3,
                  matrix: np.ndarray | None = None) -> tuple[dict[str, float], float]:
    """Weights (summing to 1) that maximise validation NDCG@k, and that NDCG.

    The ascent starts from the better of uniform weights and the best single member alone, so
    the result is never worse on validation than either; a zero weight is tried back at small
    shares of the total (`ADD_BACK`). `matrix`: the batch's `filled_normalised_batch`, when the caller has it.
    """
    matrix = filled_normalised_batch(labelled.batch, normalisation) if matrix is None else matrix
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

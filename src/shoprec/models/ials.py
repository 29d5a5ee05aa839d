"""Implicit ALS (Hu, Koren & Volinsky 2008): item factors learned by ALS, user factors folded in per request."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.retrieval.embeddings import (
    cached,
    cached_item_vectors,
    fallback_scale,
    with_fallback_column,
    with_fallback_users,
)

# Below this many interactions implicit's OpenMP start-up costs more than the solves it shares
# out, so the fit runs on one thread. The thread count does not change the result: every
# user's (and item's) solve is independent.
PARALLEL_MIN_INTERACTIONS = 200_000


class IALSRecommender(Recommender):
    """Weighted matrix factorisation for implicit feedback, fitted by alternating least squares.

    Every (user, item) cell has a preference p (1 when the user touched the item, else 0) and a
    confidence c = 1 + alpha * w (w: the summed event weight; 1 for untouched cells). ALS
    minimises sum c (p - x_u . y_i)^2 + regularization * (|X|^2 + |Y|^2) with implicit's CPU
    solver. Only the item factors Y are kept: a history is folded in at request time by the
    exact user step of ALS,

        x_u = (Y'Y + Y'(C_u - I)Y + regularization * I)^-1 Y'C_u p_u,

    and scores x_u . y_i. An empty history (or one naming only items unknown at training time)
    has x_u = 0, so it is scored by item popularity at training time instead.

    Reference: Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets",
    ICDM 2008. Limit: the fold-in solves one factors x factors system per user, so a request
    costs O(len(history) * factors^2 + factors^3).
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {
        "factors": [64, 128],
        "regularization": [0.01, 0.1, 1.0],
        "alpha": [1.0, 10.0],
    }

    def __init__(
        self, *, factors: int = 64, regularization: float = 0.05, alpha: float = 1.0, iterations: int = 15, seed: int = 0
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed

    def _check_params(self) -> None:
        for name in ("factors", "iterations"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if not self.regularization > 0:
            raise ConfigError(f"regularization must be > 0, got {self.regularization}")
        if not self.alpha >= 0:
            raise ConfigError(f"alpha must be >= 0, got {self.alpha}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")

    def _fit(self, dataset: Dataset) -> None:
        interactions = dataset.interactions()
        # implicit takes the confidences themselves (its own alpha only scales them), so the
        # matrix holds 1 + alpha * w and implicit's alpha stays 1. implicit asks for
        # single-threaded BLAS around its own threads.
        with threadpool_limits(1, "blas"):
            als = AlternatingLeastSquares(
                factors=int(self.factors),
                regularization=float(self.regularization),
                alpha=1.0,
                iterations=int(self.iterations),
                random_state=int(self.seed),
                dtype=np.float32,
                num_threads=0 if interactions.nnz >= PARALLEL_MIN_INTERACTIONS else 1,
            )
            als.fit(self._confidence(interactions), show_progress=False)
        self.item_factors_ = np.asarray(als.item_factors, dtype=np.float32)
        factors = self.item_factors_.astype(np.float64)
        self.gram_ = factors.T @ factors
        self.popularity_ = np.asarray(interactions.sum(axis=0), dtype=np.float32).ravel()

    def _confidence(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """The matrix implicit's ALS reads: 1 + alpha * w on touched cells (float32 CSR); the
        untouched cells are implicitly confidence 1, preference 0."""
        confidence = sp.csr_matrix(history, dtype=np.float32, copy=True)
        confidence.data = (1.0 + self.alpha * confidence.data).astype(np.float32)
        return confidence

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """The ALS user factors (users x factors, float64) of each row of a users x items weight matrix."""
        self._check_fitted()
        history = sp.csr_matrix(history)
        # Only the touched rows are read (in float64): converting the whole factor matrix cost more
        # than the solves on a large catalogue (8 ms of a 10 ms request at 100,000 items, 64 factors).
        y = self.item_factors_
        base = self.gram_ + self.regularization * np.eye(y.shape[1])
        users = np.zeros((history.shape[0], y.shape[1]))
        for u in range(history.shape[0]):
            start, end = history.indptr[u], history.indptr[u + 1]
            if start == end:
                continue
            touched = y[history.indices[start:end]].astype(np.float64)
            confidence = 1.0 + self.alpha * history.data[start:end]
            # Y'C_uY = Y'Y + Y'(C_u - I)Y, where C_u - I is non-zero only on touched items.
            system = base + (touched.T * (confidence - 1.0)) @ touched
            users[u] = np.linalg.solve(system, touched.T @ confidence)
        return users

    # ----------------------------------------------------------------- embedding protocol
    def item_vectors(self) -> np.ndarray:
        """Item factors plus the popularity fallback dimension (shoprec.retrieval.embeddings), items x
        (factors + 1) float32, read-only."""
        self._check_fitted()
        return cached_item_vectors(self, lambda: with_fallback_column(self.item_factors_, self.popularity_))

    def user_vectors(self, histories: Histories) -> np.ndarray:
        """Folded-in user factors plus the fallback dimension: `user_vectors(h) @ item_vectors().T`
        equals `score(h)`, an empty history included."""
        history = self.history_matrix(histories)
        empty = history.getnnz(axis=1) == 0
        scale = cached(self, "fallback_scale", lambda: fallback_scale(self.popularity_, self.item_factors_))
        return with_fallback_users(self.fold_in(history), empty, scale)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        history = self.history_matrix(histories)
        y = self.item_factors_ if items is None else self.item_factors_[items]
        # float32 products: converting the factor matrix to float64 on every call cost more than the
        # product itself on a large catalogue (the scores are float32 anyway).
        scores = self.fold_in(history).astype(np.float32) @ y.T
        empty = history.getnnz(axis=1) == 0
        scores[empty] = self.popularity_ if items is None else self.popularity_[items]
        return scores

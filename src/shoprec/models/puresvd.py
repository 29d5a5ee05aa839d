"""PureSVD (Cremonesi et al. 2010): a truncated SVD of the interaction matrix, scored by projection."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

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


class PureSVDRecommender(Recommender):
    """Truncated SVD X ~ U S Q' of the weighted users x items matrix; only Q (items x factors) is kept.

    A history h (summed event weights per item) is projected onto the item space and back:
    `scores = h Q Q'`. For a training user this is exactly their row of the rank-`factors`
    reconstruction U S Q', so new users and new events need no refit. Untouched cells count as
    zeros, as in the paper.

    Reference: Cremonesi, Koren & Turrin, "Performance of Recommender Algorithms on Top-N
    Recommendation Tasks", RecSys 2010. The SVD is scikit-learn's randomized_svd, seeded.
    Limits: at most min(users, items) factors exist, so `factors` is capped there; with
    `factors` at the catalogue size Q Q' is the identity and a history only scores itself. An
    empty history scores by item popularity at training time.
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"factors": [16, 32, 64, 128, 256, 512]}

    def __init__(self, *, factors: int = 64, seed: int = 0) -> None:
        self.factors = factors
        self.seed = seed

    def _check_params(self) -> None:
        if not isinstance(self.factors, (int, np.integer)) or self.factors < 1:
            raise ConfigError(f"factors must be an integer >= 1, got {self.factors!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")

    def _fit(self, dataset: Dataset) -> None:
        interactions = dataset.interactions()
        rank = min(int(self.factors), *interactions.shape)
        if rank == 0:  # no users or no items: nothing to project onto
            self.item_factors_ = np.zeros((dataset.n_items, 0), dtype=np.float32)
        else:
            # imported here: scikit-learn costs 2 s, and loading a bundle (every request path) never needs it
            from sklearn.utils.extmath import randomized_svd

            _, _, vt = randomized_svd(interactions, rank, random_state=int(self.seed))
            self.item_factors_ = np.ascontiguousarray(vt.T, dtype=np.float32)
        self.popularity_ = np.asarray(interactions.sum(axis=0), dtype=np.float32).ravel()

    # ----------------------------------------------------------------- embedding protocol
    def item_vectors(self) -> np.ndarray:
        """Q plus the popularity fallback dimension (shoprec.retrieval.embeddings), items x (factors + 1)
        float32, read-only."""
        self._check_fitted()
        return cached_item_vectors(self, lambda: with_fallback_column(self.item_factors_, self.popularity_))

    def user_vectors(self, histories: Histories) -> np.ndarray:
        """`h Q` plus the fallback dimension: `user_vectors(h) @ item_vectors().T` equals `score(h)`."""
        history = self.history_matrix(histories)
        # Only the touched items' factors are read: converting all of them would cost more than the
        # product on a large catalogue.
        touched = np.unique(history.indices)
        users = history[:, touched] @ self.item_factors_[touched].astype(np.float64)
        empty = history.getnnz(axis=1) == 0
        scale = cached(self, "fallback_scale", lambda: fallback_scale(self.popularity_, self.item_factors_))
        return with_fallback_users(users, empty, scale)

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        history = self.history_matrix(histories)
        q = self.item_factors_.astype(np.float32, copy=False)  # float32 products (see IALSRecommender._score)
        users = history.astype(np.float32) @ q
        scores = users @ (q if items is None else q[items]).T
        empty = history.getnnz(axis=1) == 0
        scores[empty] = self.popularity_ if items is None else self.popularity_[items]
        return scores

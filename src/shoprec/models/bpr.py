"""BPR (Rendle et al. 2009): matrix factorisation trained on pairwise ranking, users folded in by a learned map."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from implicit.cpu.bpr import BayesianPersonalizedRanking
from threadpoolctl import threadpool_limits

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.retrieval.embeddings import cached_item_vectors, with_constant_one

# Ridge strength of the fold-in map, relative to the mean diagonal of the normal equations (so it
# does not depend on the number of users or the scale of the factors).
FOLD_IN_RIDGE = 0.1


class BPRRecommender(Recommender):
    """Bayesian Personalized Ranking: factors such that x_u . y_i + b_i ranks touched items above others.

    Trained with implicit's CPU BPR (SGD over sampled (user, touched item, untouched item)
    triples, single-threaded so that a seed fixes the result). BPR reads which items a user
    touched, not how much, so event weights only decide whether an item counts (weight > 0).

    BPR has no closed-form user update, so the fold-in of a history is an approximation: the
    mean factor m_u of the items it touched is mapped to a user factor by a linear map M
    (factors x factors), fitted at training time by ridge least squares from the training users'
    m_u to their learned factors x_u; a history scores (m_u M) . y_i + b_i. On MovieLens this map
    keeps BPR's lift over popularity, where a plain ridge projection of the history onto the item
    factors lost most of it (see docs/models.md). An empty history scores by the item biases b_i.

    Reference: Rendle, Freudenthaler, Gantner & Schmidt-Thieme, "BPR: Bayesian Personalized
    Ranking from Implicit Feedback", UAI 2009. Limit: training is single-threaded.
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {
        "factors": [64, 128],
        "learning_rate": [0.01, 0.05],
        "regularization": [0.001, 0.01, 0.1],
    }

    def __init__(
        self,
        *,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        seed: int = 0,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.seed = seed

    def _check_params(self) -> None:
        for name in ("factors", "iterations"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not self.regularization >= 0:
            raise ConfigError(f"regularization must be >= 0, got {self.regularization}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")

    def _fit(self, dataset: Dataset) -> None:
        touched = _touched(dataset.interactions())
        # Hogwild SGD over several threads is not reproducible, hence one thread.
        with threadpool_limits(1, "blas"):
            bpr = BayesianPersonalizedRanking(
                factors=int(self.factors),
                learning_rate=float(self.learning_rate),
                regularization=float(self.regularization),
                iterations=int(self.iterations),
                num_threads=1,
                random_state=int(self.seed),
                dtype=np.float32,
            )
            bpr.fit(touched.astype(np.float32), show_progress=False)
        # implicit appends a bias column to the item factors and a constant 1 to the user factors.
        item_factors = np.asarray(bpr.item_factors, dtype=np.float64)
        self.item_factors_ = np.ascontiguousarray(item_factors[:, :-1], dtype=np.float32)
        self.item_bias_ = np.ascontiguousarray(item_factors[:, -1], dtype=np.float32)
        users = np.asarray(bpr.user_factors, dtype=np.float64)[:, :-1]
        pooled = self._pooled(touched)
        trained = touched.getnnz(axis=1) > 0  # users without events kept their random start
        normal = pooled[trained].T @ pooled[trained]
        ridge = FOLD_IN_RIDGE * max(np.trace(normal) / len(normal), np.finfo(np.float64).tiny)
        self.fold_in_map_ = np.linalg.solve(normal + ridge * np.eye(len(normal)), pooled[trained].T @ users[trained])

    def _pooled(self, touched: sp.csr_matrix) -> np.ndarray:
        """The mean item factor of each row's touched items (zeros for an empty row)."""
        counts = np.maximum(touched.getnnz(axis=1), 1)
        means = sp.csr_matrix(sp.diags(1.0 / counts) @ touched)
        # Only the touched items' factors are read: converting all of them would cost more than the
        # product when a request's few histories meet a large catalogue.
        columns = np.unique(means.indices)
        return means[:, columns] @ self.item_factors_[columns].astype(np.float64)

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User factors (users x factors, float64) for the rows of a users x items weight matrix."""
        self._check_fitted()
        return self._pooled(_touched(history)) @ self.fold_in_map_

    # ----------------------------------------------------------------- embedding protocol
    def item_vectors(self) -> np.ndarray:
        """Item factors with the bias as the last dimension, items x (factors + 1) float32, read-only."""
        self._check_fitted()
        return cached_item_vectors(self, lambda: np.hstack([self.item_factors_, self.item_bias_[:, None]]))

    def user_vectors(self, histories: Histories) -> np.ndarray:
        """Folded-in user factors and a constant 1 (for the bias): `@ item_vectors().T` equals `score`."""
        return with_constant_one(self.fold_in(self.history_matrix(histories)))

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        users = self.fold_in(self.history_matrix(histories))
        y = self.item_factors_ if items is None else self.item_factors_[items]
        bias = self.item_bias_ if items is None else self.item_bias_[items]
        return (users @ y.T.astype(np.float64) + bias).astype(np.float32)


def _touched(weights: sp.csr_matrix) -> sp.csr_matrix:
    """1 where the weight is positive, as float64 CSR."""
    touched = sp.csr_matrix(weights > 0, dtype=np.float64)
    touched.sort_indices()
    return touched

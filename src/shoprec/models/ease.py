"""EASE (Steck 2019): a dense item-item weight matrix in closed form, scored as history @ B."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.linalg

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender

# Peak memory of a fit, per cell of the items x items matrix: the float64 Gram matrix, inverted
# in place, and the float32 weights.
BYTES_PER_CELL = 12


class EASERecommender(Recommender):
    """Embarrassingly Shallow Autoencoder: B minimises |X - X B|^2 + l2 |B|^2 subject to diag(B) = 0.

    X is the weighted users x items matrix. The closed form is G = X'X + l2 * I, P = G^-1,
    B[i, j] = -P[i, j] / P[j, j] off the diagonal, B[j, j] = 0. A history h (summed event weights
    per item) scores `h @ B`; an empty history scores by item popularity at training time.

    Reference: Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
    Limit: B is dense, so a fit needs about 12 * n_items^2 bytes and O(n_items^3) time; above
    `max_items` items the fit refuses (use itemknn, or raise max_items on a machine with the
    memory).
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"l2": [10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0]}

    def __init__(self, *, l2: float = 500.0, max_items: int = 20_000) -> None:
        self.l2 = l2
        self.max_items = max_items

    def _check_params(self) -> None:
        if not self.l2 > 0:
            raise ConfigError(f"l2 must be > 0, got {self.l2}")
        if not isinstance(self.max_items, (int, np.integer)) or self.max_items < 1:
            raise ConfigError(f"max_items must be an integer >= 1, got {self.max_items!r}")

    def _fit(self, dataset: Dataset) -> None:
        n = dataset.n_items
        if n > self.max_items:
            need = BYTES_PER_CELL * n * n / 2**30
            raise ConfigError(
                f"EASE keeps a dense {n} x {n} item matrix and is limited to max_items={self.max_items} items, "
                f"but the catalogue has {n}: fitting would need about {need:.1f} GiB of memory. "
                "Use itemknn for a catalogue this size, or raise max_items if the machine has the memory."
            )
        interactions = dataset.interactions()
        gram = np.asarray((interactions.T @ interactions).toarray(), dtype=np.float64)
        gram[np.diag_indices(n)] += self.l2
        # G is symmetric, so its transpose is the same matrix in Fortran order, which LAPACK can
        # invert in place: no second n x n float64 array.
        precision = scipy.linalg.inv(gram.T, overwrite_a=True, check_finite=False)
        del gram
        diagonal = np.diag(precision).copy()
        precision /= -diagonal  # column j divided by -P[j, j]
        precision[np.diag_indices(n)] = 0.0
        self.item_item_weights_ = np.ascontiguousarray(precision, dtype=np.float32)
        self.popularity_ = np.asarray(interactions.sum(axis=0), dtype=np.float32).ravel()

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        # float32 like B: a float64 history would make scipy copy B to float64 on every call.
        history = self.history_matrix(histories).astype(np.float32)
        weights = self.item_item_weights_ if items is None else self.item_item_weights_[:, items]
        scores = np.asarray(history @ weights, dtype=np.float32)
        empty = history.getnnz(axis=1) == 0
        scores[empty] = self.popularity_ if items is None else self.popularity_[items]
        return scores

"""EASE (Steck 2019): a dense item-item weight matrix in closed form, scored as history @ B."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.models.dense_inverse import PRECISIONS, plan_inverse, spd_inverse

# Peak memory of a fit, per cell of the items x items matrix: the Gram matrix inverted in place
# (8 bytes in float64, 4 in float32), plus the float32 weights when the inverse was float64.
BYTES_PER_CELL = {"float64": 12, "float32": 4}


class EASERecommender(Recommender):
    """Embarrassingly Shallow Autoencoder: B minimises |X - X B|^2 + l2 |B|^2 subject to diag(B) = 0.

    X is the weighted users x items matrix. The closed form is G = X'X + l2 * I, P = G^-1,
    B[i, j] = -P[i, j] / P[j, j] off the diagonal, B[j, j] = 0. A history h (summed event weights
    per item) scores `h @ B`; an empty history scores by item popularity at training time.

    Reference: Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
    Limits: B is dense, so a fit needs 4 (float32) to 12 (float64) bytes per cell of the
    n_items x n_items matrix and O(n_items^3) time; above `max_items` items the fit refuses before
    any work (use itemknn, or raise max_items on a machine with the memory and time; docs/models.md
    has the measured times). `precision` chooses the inverse's number type (shoprec.models.
    dense_inverse): "auto" is float32 (measured to rank as float64 does, and faster), routed so that
    no size crashes the process; "float64" for the exact closed form.
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"l2": [10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0]}

    def __init__(self, *, l2: float = 500.0, max_items: int = 20_000, precision: str = "auto") -> None:
        self.l2 = l2
        self.max_items = max_items
        self.precision = precision

    def _check_params(self) -> None:
        if not self.l2 > 0:
            raise ConfigError(f"l2 must be > 0, got {self.l2}")
        if not isinstance(self.max_items, (int, np.integer)) or self.max_items < 1:
            raise ConfigError(f"max_items must be an integer >= 1, got {self.max_items!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def _fit(self, dataset: Dataset) -> None:
        n = dataset.n_items
        plan = plan_inverse(n, self.precision)
        if n > self.max_items:
            need = BYTES_PER_CELL[plan.dtype] * n * n / 2**30
            raise ConfigError(
                f"EASE keeps a dense {n} x {n} item matrix and is limited to max_items={self.max_items} items, "
                f"but the catalogue has {n}: fitting would need about {need:.1f} GiB of memory. "
                "Use itemknn for a catalogue this size, or raise max_items if the machine has the memory."
            )
        interactions = dataset.interactions()

        def gram(dtype: np.dtype) -> np.ndarray:
            x = interactions.astype(dtype)
            dense = (x.T @ x).toarray()
            dense[np.diag_indices(n)] += self.l2
            return dense

        precision, used = spd_inverse(gram, n, plan=plan)
        self.inverse_: dict[str, str] = {"library": used.library, "dtype": used.dtype}
        diagonal = np.diag(precision).copy()
        precision /= -diagonal  # column j divided by -P[j, j]
        precision[np.diag_indices(n)] = 0.0
        self.item_item_weights_ = np.ascontiguousarray(precision, dtype=np.float32)
        self.popularity_ = np.asarray(interactions.sum(axis=0), dtype=np.float32).ravel()

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        # float32 like B: a float64 history would make scipy copy B to float64 on every call.
        history = self.history_matrix(histories).astype(np.float32)
        weights = self.item_item_weights_
        touched = np.unique(history.indices)
        if len(touched) < weights.shape[0] // 2:
            # Only the rows of B that some history touches: B may be memory-mapped (a saved model), and
            # a few shoppers' answers then read a few rows of it from disk, not all of it.
            history, weights = history[:, touched], weights[touched]
        if items is not None:
            weights = weights[:, items]
        scores = np.asarray(history @ weights, dtype=np.float32)
        empty = history.getnnz(axis=1) == 0
        scores[empty] = self.popularity_ if items is None else self.popularity_[items]
        return scores

"""Item-based k-nearest neighbours: items a user touched vote for their most similar items."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning
from threadpoolctl import threadpool_limits

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender

SIMILARITIES = ("cosine", "bm25")


class ItemKNNRecommender(Recommender):
    """Item-item collaborative filtering on a sparse neighbour matrix W (items x items).

    Row i of W holds item i's `neighbours` most similar other items (an item is not its own
    neighbour), computed by implicit's CosineRecommender or BM25Recommender on the weighted
    users x items matrix. A history h (summed event weights per item) scores
    `score(j) = sum_i h_i * W[i, j]`: every touched item votes for its neighbours.

    - `similarity="cosine"`: cosine between the items' user columns.
    - `similarity="bm25"`: dot product of BM25-weighted item columns (`bm25_k1` saturates
      repeated weight, `bm25_b` normalises by the item's total weight), as in implicit. The
      default b is 0.5, not the text-retrieval 0.75: on MovieLens the stronger normalisation
      favours items few users touched and fell below popularity (docs/models.md).

    Reference: Sarwar et al., "Item-based collaborative filtering recommendation algorithms",
    WWW 2001; implicit's nearest_neighbours module. An empty history scores by item popularity
    at training time. Limit: W holds up to `n_items * neighbours` weights; items never touched in
    training have no neighbours and get no votes.
    """

    tuning_space: ClassVar[dict[str, list[Any]]] = {"neighbours": [20, 50, 100, 200, 400]}

    def __init__(
        self, *, neighbours: int = 100, similarity: str = "cosine", bm25_k1: float = 1.2, bm25_b: float = 0.5
    ) -> None:
        self.neighbours = neighbours
        self.similarity = similarity
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def _check_params(self) -> None:
        if not isinstance(self.neighbours, (int, np.integer)) or self.neighbours < 1:
            raise ConfigError(f"neighbours must be an integer >= 1, got {self.neighbours!r}")
        if self.similarity not in SIMILARITIES:
            raise ConfigError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {self.similarity!r}")
        if not self.bm25_k1 >= 0:
            raise ConfigError(f"bm25_k1 must be >= 0, got {self.bm25_k1}")
        if not 0 <= self.bm25_b <= 1:
            raise ConfigError(f"bm25_b must be between 0 and 1, got {self.bm25_b}")

    def _fit(self, dataset: Dataset) -> None:
        interactions = dataset.interactions().astype(np.float32)
        # One slot more than asked for: implicit counts an item as its own nearest neighbour,
        # and that entry is dropped below.
        k = int(self.neighbours) + 1
        if self.similarity == "bm25":
            knn: CosineRecommender | BM25Recommender = BM25Recommender(K=k, K1=self.bm25_k1, B=self.bm25_b)
        else:
            knn = CosineRecommender(K=k)
        # implicit asks for single-threaded BLAS; its own parallel loop is over items, each row
        # computed independently, so the result does not depend on the thread count.
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            # implicit's own cosine/BM25 weighting hands its kNN routine a COO matrix and warns about it.
            warnings.simplefilter("ignore", ParameterWarning)
            knn.fit(interactions, show_progress=False)
        self.similarity_ = _keep_top_per_row(sp.coo_matrix(knn.similarity), int(self.neighbours), drop_diagonal=True)
        self.popularity_ = np.asarray(interactions.sum(axis=0), dtype=np.float32).ravel()

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        # float32 like W: a float64 history would make scipy copy W to float64 on every call.
        history = self.history_matrix(histories).astype(np.float32)
        if items is None:
            scores = np.asarray((history @ self.similarity_).toarray(), dtype=np.float32)
        else:
            # Only the history's rows of W matter: slicing those rows reads a few hundred entries,
            # where a column slice of W walks all of it (30 ms at 100k items, per request).
            used = np.unique(history.indices)
            product = history[:, used] @ self.similarity_[used]
            scores = np.asarray(product[:, items].toarray(), dtype=np.float32)
        empty = history.getnnz(axis=1) == 0
        scores[empty] = self.popularity_ if items is None else self.popularity_[items]
        return scores


def _keep_top_per_row(matrix: sp.coo_matrix, k: int, *, drop_diagonal: bool = False) -> sp.csr_matrix:
    """The `k` largest entries of each row (ties to the lower column), as float32 CSR."""
    row, col, data = matrix.row, matrix.col, matrix.data
    keep = data != 0
    if drop_diagonal:
        keep &= row != col
    row, col, data = row[keep], col[keep], data[keep]
    order = np.lexsort((col, -data, row))
    row, col, data = row[order], col[order], data[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row, side="left")
    best = rank < k
    top = sp.csr_matrix((data[best].astype(np.float32), (row[best], col[best])), shape=matrix.shape)
    top.sort_indices()
    return top

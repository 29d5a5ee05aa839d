"""`left @ right` for sparse histories or profiles times a sparse item matrix, as a dense array.

scipy multiplies two sparse matrices by sizing and building a sparse result, and converts a
transposed CSR operand whole on every call (53 ms a request for the content vectors of 100,000
items). These products read only the rows of `right` that `left` uses and add them into a dense
row, which is what a request needs (every item's score).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

GATHER_MAX = 20_000  # entries of `right` below which one row's product is a gather and a bincount


def rows_product(left: sp.spmatrix, right: sp.csr_matrix) -> np.ndarray:
    """`left @ right` as a dense float64 array, reading only the rows of `right` that `left` uses
    (a sparse-times-dense product: one pass, no sparse result). One row over few entries (a
    request over item-kNN's neighbour rows) is a gather and a bincount, without scipy matrices."""
    left = sp.csr_matrix(left)
    left.sum_duplicates()
    if left.shape[0] == 1 and (lengths := right.indptr[left.indices + 1] - right.indptr[left.indices]).sum() <= GATHER_MAX:
        rows, weights = left.indices, left.data.astype(np.float64)
        take = np.repeat(right.indptr[rows] - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        summed = np.bincount(right.indices[take], weights=right.data[take] * np.repeat(weights, lengths),
                             minlength=right.shape[1])
        return summed[None, :].astype(np.float64)
    used, position = np.unique(left.indices, return_inverse=True)
    if not len(used):
        return np.zeros((left.shape[0], right.shape[1]))
    dense_left = np.zeros((len(used), left.shape[0]))  # left[:, used].T, built without scipy's column slicing
    dense_left[position, np.repeat(np.arange(left.shape[0]), np.diff(left.indptr))] = left.data
    return np.asarray(right[used].T @ dense_left, dtype=np.float64).T

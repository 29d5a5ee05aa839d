"""The embedding protocol: models whose score is a dot product of a user vector and an item vector.

A model that follows it exposes

    item_vectors() -> (n_items, d) float32       computed once per fit, read-only
    user_vectors(histories) -> (n_users, d) float32

with `user_vectors(h) @ item_vectors().T == score(h)` up to float rounding, so that its top items
can be found by a maximum-inner-product index (`shoprec.retrieval.ann`) instead of scoring the
whole catalogue. An additive item bias is folded in as one more dimension (the user side holds a
constant 1, the item side the bias).

A model that answers an empty history with a fixed fallback row (popularity) rather than with a
vector folds that in the same way, as a "fallback" dimension: the item side holds the fallback
score divided by a scale, a user with an empty history gets [0, ..., 0, scale] and every other
user a 0 there. The scale keeps the item side's extra coordinate tiny (FALLBACK_SHARE of the mean
item-vector norm), so the geometry an ANN index builds its graph on is the model's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeGuard, TypeVar, runtime_checkable

import numpy as np

from shoprec.data.history import Histories

T = TypeVar("T")

# The fallback coordinate of an item vector is at most this share of the mean item-vector norm.
FALLBACK_SHARE = 1e-3


@runtime_checkable
class EmbeddingModel(Protocol):
    """A recommender whose scores are `user_vectors(histories) @ item_vectors().T` (its catalogue
    size is `item_vectors().shape[0]`)."""

    def item_vectors(self) -> np.ndarray:
        """Item vectors, n_items x d float32 (read-only; the same array on every call)."""
        ...

    def user_vectors(self, histories: Histories) -> np.ndarray:
        """One vector per history, n_users x d float32, such that `@ item_vectors().T` gives `score`."""
        ...

    def score(self, histories: Histories, items: np.ndarray | None = None) -> np.ndarray:
        """Users x items scores (the Recommender contract)."""
        ...


def is_embedding_model(model: object) -> TypeGuard[EmbeddingModel]:
    """Whether `model` follows the embedding protocol, fitted or not (`item_vectors` of an unfitted
    model raises NotFittedError, as every model method does)."""
    return not isinstance(model, type) and isinstance(model, EmbeddingModel)


def fallback_scale(fallback: np.ndarray, factors: np.ndarray) -> float:
    """The scale of the fallback dimension: the item side holds `fallback / scale`, an empty
    history `scale`, and `fallback / scale` stays within FALLBACK_SHARE of the mean factor norm."""
    largest = float(np.abs(fallback).max(initial=0.0))
    norm = float(np.linalg.norm(factors, axis=1).mean()) if factors.size else 0.0
    if largest == 0.0 or norm == 0.0:
        return 1.0
    return largest / (FALLBACK_SHARE * norm)


def with_fallback_column(factors: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Item vectors: `factors` with the fallback dimension appended (float32, C-contiguous, read-only)."""
    scale = fallback_scale(fallback, factors)
    column = (np.asarray(fallback, dtype=np.float64) / scale)[:, None]
    vectors = np.ascontiguousarray(np.hstack([np.asarray(factors, dtype=np.float64), column]), dtype=np.float32)
    vectors.flags.writeable = False
    return vectors


def with_fallback_users(users: np.ndarray, fallback_rows: np.ndarray, scale: float) -> np.ndarray:
    """User vectors: `users` with the fallback dimension appended (`scale` on `fallback_rows`, whose
    other coordinates are zeroed; 0 elsewhere), float32."""
    out = np.zeros((users.shape[0], users.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = users
    out[fallback_rows, :-1] = 0.0
    out[fallback_rows, -1] = scale
    return out


def with_constant_one(vectors: np.ndarray) -> np.ndarray:
    """`vectors` with a column of ones appended (the user side of a folded-in item bias), float32."""
    out = np.ones((vectors.shape[0], vectors.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = vectors
    return out


def frozen(vectors: np.ndarray) -> np.ndarray:
    """A float32, C-contiguous, read-only copy or view of `vectors` (what `item_vectors` hands out)."""
    out = np.ascontiguousarray(vectors, dtype=np.float32)
    if out is vectors and vectors.flags.writeable:
        out = out.copy()
    out.flags.writeable = False
    return out


def cached_item_vectors(model: object, build: Callable[[], np.ndarray]) -> np.ndarray:
    """`build()` once per fit, frozen: see `cached`."""
    return cached(model, "item_vectors", lambda: frozen(build()))


def cached(model: object, name: str, build: Callable[[], T]) -> T:
    """`build()` once per fit, kept in the model's `_cached_<name>`, which the Recommender base drops
    on refit (it is derived from the learned state and never saved). Two threads racing here both
    build it and one result wins, which is harmless."""
    key = f"_cached_{name}"
    value = model.__dict__.get(key)
    if value is None:
        value = build()
        setattr(model, key, value)
    return value  # type: ignore[no-any-return]

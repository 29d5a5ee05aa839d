"""Random scores: the floor every other model must clear."""

from __future__ import annotations

import hashlib

import numpy as np

from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender


class RandomRecommender(Recommender):
    """Uniform random scores in [0, 1), reproducible.

    Each user's generator is seeded from `seed` and a hash of that user's history contents, so
    one history always gets the same scores whether it is scored alone or in a batch, and a new
    event gives a new draw.
    """

    personalised = False

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    def _check_params(self) -> None:
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")

    def _fit(self, dataset: Dataset) -> None:
        pass  # nothing to learn beyond the catalogue size the base records

    def _score(self, histories: Histories, items: np.ndarray | None) -> np.ndarray:
        out = np.empty((len(histories), self.n_items_ if items is None else len(items)), dtype=np.float32)
        for u in range(len(histories)):
            rng = np.random.default_rng([int(self.seed), _history_key(histories, u)])
            # Always draw the whole catalogue so a candidate subset sees the same scores.
            row = np.asarray(rng.random(self.n_items_, dtype=np.float32))
            out[u] = row if items is None else row[items]
        return out


def _history_key(histories: Histories, u: int) -> int:
    """A 128-bit hash of user `u`'s events (items, types, times)."""
    start, end = int(histories.indptr[u]), int(histories.indptr[u + 1])
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(histories.items[start:end], dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(histories.event_types[start:end], dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(histories.timestamps[start:end], dtype=np.int64).tobytes())
    return int.from_bytes(digest.digest(), "little")

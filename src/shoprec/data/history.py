"""Histories: a batch of users' event histories in one compact, CSR-like shape.

This is what every model scores from: at training time it is cut from a Dataset, at request
time it is read from the store as it is then (real time), in both cases through the same class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from shoprec.config import WeightConfig

MS_PER_DAY = 86_400_000


@dataclass(frozen=True)
class Histories:
    """Events of `len(self)` users: user u owns rows `indptr[u]:indptr[u+1]`, oldest first.

    `items` are item indices, `event_types` codes from schema.EVENT_TYPE_CODE, `timestamps`
    epoch milliseconds (UTC), `values` the event value (rating, quantity) or NaN.
    """

    indptr: np.ndarray  # int64, len n_users + 1
    items: np.ndarray  # int32
    event_types: np.ndarray  # int8
    timestamps: np.ndarray  # int64 ms
    values: np.ndarray  # float32

    def __post_init__(self) -> None:
        n = len(self.items)
        if self.indptr[0] != 0 or self.indptr[-1] != n:
            raise ValueError(f"indptr must run from 0 to {n}, got {self.indptr[0]}..{self.indptr[-1]}")
        for name in ("event_types", "timestamps", "values"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries, expected {n}")

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def empty(cls, n_users: int = 1) -> Histories:
        """`n_users` users with no events."""
        return cls(
            indptr=np.zeros(n_users + 1, dtype=np.int64),
            items=np.zeros(0, dtype=np.int32),
            event_types=np.zeros(0, dtype=np.int8),
            timestamps=np.zeros(0, dtype=np.int64),
            values=np.zeros(0, dtype=np.float32),
        )

    @classmethod
    def from_lists(cls, per_user: Sequence[Sequence[tuple[int, int, int]]]) -> Histories:
        """Build from lists of (item, event_type_code, timestamp_ms) per user (for tests, API)."""
        lengths = [len(events) for events in per_user]
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = [e for events in per_user for e in sorted(events, key=lambda e: e[2])]
        return cls(
            indptr=indptr,
            items=np.array([e[0] for e in flat], dtype=np.int32),
            event_types=np.array([e[1] for e in flat], dtype=np.int8),
            timestamps=np.array([e[2] for e in flat], dtype=np.int64),
            values=np.full(len(flat), np.nan, dtype=np.float32),
        )

    def user(self, u: int) -> Histories:
        """The one-user batch holding user `u`'s events."""
        return self.select([u])

    def select(self, users: Sequence[int] | np.ndarray) -> Histories:
        """A batch of the given users, in the given order."""
        users = np.asarray(users, dtype=np.int64)
        starts, ends = self.indptr[users], self.indptr[users + 1]
        lengths = ends - starts
        rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if len(users) else np.zeros(0, np.int64)
        rows = rows.astype(np.int64)
        return Histories(
            indptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            items=self.items[rows],
            event_types=self.event_types[rows],
            timestamps=self.timestamps[rows],
            values=self.values[rows],
        )

    def row_of_each_event(self) -> np.ndarray:
        """For each event, the position of its user in this batch."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))

    def event_weights(self, weights: WeightConfig, now_ms: int | None = None) -> np.ndarray:
        """Each event's weight: its type weight, decayed by age when the config asks for it."""
        w = np.asarray(weights.weight_vector(), dtype=np.float64)[self.event_types.astype(np.int64)]
        if weights.half_life_days is not None and len(w):
            ref = int(self.timestamps.max()) if now_ms is None else now_ms
            age_days = np.maximum(ref - self.timestamps, 0) / MS_PER_DAY
            w = w * np.power(0.5, age_days / weights.half_life_days)
        return w

    def to_matrix(self, n_items: int, weights: WeightConfig | None = None, now_ms: int | None = None) -> sp.csr_matrix:
        """A users x items sparse matrix: summed event weights (or event counts without weights); a
        pair whose total is not positive (a returned purchase and nothing else) is left out."""
        data = np.ones(len(self.items)) if weights is None else self.event_weights(weights, now_ms)
        return net_matrix(data, self.row_of_each_event(), self.items.astype(np.int64), (len(self), n_items))

    def item_sets(self) -> list[np.ndarray]:
        """The distinct items of each user."""
        return [np.unique(self.items[self.indptr[u]:self.indptr[u + 1]]) for u in range(len(self))]


def net_matrix(weights: np.ndarray, rows: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Weights summed per (row, item), keeping only positive totals: a return (negative weight)
    cancels what its purchase added, and a pair left at zero or below is no signal."""
    keep = weights != 0
    matrix = sp.csr_matrix((weights[keep], (rows[keep], items[keep])), shape=shape)
    matrix.sum_duplicates()
    if matrix.nnz and matrix.data.min() <= 0:
        matrix.data[matrix.data <= 0] = 0
        matrix.eliminate_zeros()
    return matrix

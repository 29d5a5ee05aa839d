"""RankedList: the one shape of a ranked answer (item indices and scores, best first)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shoprec.data.idmap import IdMap


@dataclass(frozen=True)
class RankedList:
    """Item indices and their scores, best first.

    Models, candidate generators, fusion, rules and the service all hand these around; external
    ids appear only when a list leaves shoprec (`to_external`).
    """

    items: np.ndarray  # int64 item indices
    scores: np.ndarray  # float32, same length, non-increasing

    def __post_init__(self) -> None:
        # Frozen, so coerce through object.__setattr__: callers may pass lists or other dtypes.
        object.__setattr__(self, "items", np.asarray(self.items, dtype=np.int64))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float32))
        if self.items.ndim != 1 or self.scores.shape != self.items.shape:
            raise ValueError(
                f"items and scores must be 1-d of one length, got shapes {self.items.shape} and {self.scores.shape}"
            )

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def empty(cls) -> RankedList:
        """A list with no items."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))

    def head(self, k: int) -> RankedList:
        """The best `k` entries."""
        return RankedList(self.items[:k], self.scores[:k])

    def to_external(self, item_ids: IdMap) -> list[tuple[str, float]]:
        """(external item id, score) pairs, best first, for the edges (API, reports)."""
        return [(str(i), float(s)) for i, s in zip(item_ids.id_of(self.items), self.scores, strict=True)]

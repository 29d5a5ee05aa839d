"""The item-to-item model's best neighbours of recently asked items, kept per engine.

An item's similar items do not depend on the shopper: the model scores a one-item history, the
same for every request about that item until the bundle changes (an engine serves one bundle).
Scoring it is the costly part of an item page (7 ms of CPU for similar_items over 100,000 items,
benchmarks.md "Service load"), and item pages are asked for again and again, the popular ones most.
So the engine keeps each asked item's best `depth` neighbours, in the model's order, and answers
from them while they hold enough allowed items (stock and the request's exclusions are applied
after, per request); a request they cannot fill is scored in full, as before.

Least recently used items are dropped past `size` entries (20,000 items x 100 neighbours take
about 16 MB). Keys carry the model's name: an engine answering with another entry (`model=` on
the similar-items endpoint) shares the cache without mixing answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from shoprec.models.base import top_k

DEFAULT_DEPTH = 100
DEFAULT_SIZE = 20_000


class NeighbourCache:
    """(model name, item index) -> the model's best `depth` items for that item, best first."""

    def __init__(self, size: int = DEFAULT_SIZE, depth: int = DEFAULT_DEPTH) -> None:
        self.size, self.depth = size, depth
        self._entries: OrderedDict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def best(self, model: str, item: int, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keep and return the best `depth` finite items of `scores` (ties to the lower index), the
        neighbours of `item` by `model`: indices (int32) and scores (float32 as scored)."""
        row = np.where(np.isfinite(scores), scores, -np.inf)
        ranked = top_k(row[None, :], np.arange(len(row)), self.depth)[0]
        found = (np.asarray(ranked.items, dtype=np.int32), np.asarray(scores[ranked.items]))
        if self.size > 0:
            with self._lock:
                self._entries[(model, item)] = found
                self._entries.move_to_end((model, item))
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return found

    def get(self, model: str, item: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The kept neighbours of `item` by `model`, or None (counted as a hit or a miss)."""
        with self._lock:
            found = self._entries.get((model, item))
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end((model, item))
            self.hits += 1
            return found

    def pick(self, found: tuple[np.ndarray, np.ndarray], allowed: np.ndarray, k: int) -> list[tuple[int, float]] | None:
        """The first `k` allowed of kept neighbours, or None when they hold fewer than `k` and may
        not be all the model has (score the item in full then)."""
        items, scores = found
        keep = allowed[items]
        if int(keep.sum()) < k and len(items) >= self.depth:
            return None
        return [(int(i), float(s)) for i, s in zip(items[keep][:k], scores[keep][:k], strict=True)]

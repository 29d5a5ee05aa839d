"""Catalogue changes reach the engines before a request is answered.

A write through this service, or an ingest beside it, changes the store's items; the next request
hands the change (ItemCache.sync) to the recommendation engine (its catalogue: prices, stock,
deleted items) and the search index (upserts and deletions). One thread applies a change while the
others wait for it: a request never sees the new catalogue in one engine and the old one in the
other, and a write answers only after both.
"""

from __future__ import annotations

import threading

from shoprec.ranking.engine import RecommendationEngine
from shoprec.search.engine import SearchEngine
from shoprec.service.catalogue import ItemCache


class CatalogueSync:
    """Applies the store's catalogue changes to the engines it is given."""

    def __init__(self, cache: ItemCache) -> None:
        self.cache = cache
        self._lock = threading.Lock()

    def apply(self, engine: RecommendationEngine | None, search: SearchEngine | None) -> None:
        if self.cache.is_current():
            return
        with self._lock:
            change = self.cache.sync()
            if change is None:
                return
            if engine is not None:
                engine.refresh_catalogue()
            if search is not None:
                if len(change.upserted):
                    search.upsert(change.upserted)
                if change.removed:
                    search.delete(change.removed)

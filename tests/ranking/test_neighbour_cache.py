"""The neighbour cache answers as scoring the item in full would: the same items in the same order
for any allowed set, falling back to a full score when it keeps too few; it forgets the least
recently used items; and an engine's second ask for an item is a hit with the same answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoprec.bundle import load_current
from shoprec.data.store import Store
from shoprec.experiments.serving import with_similarity
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.neighbour_cache import NeighbourCache


def _by_hand(scores: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    """The best k allowed finite items, score descending, ties to the lower index."""
    usable = np.flatnonzero(allowed & np.isfinite(scores))
    order = usable[np.lexsort((usable, -scores[usable]))]
    return order[:k].tolist()


def test_picks_equal_the_best_allowed_items_or_ask_for_a_full_score() -> None:
    rng = np.random.default_rng(3)
    cache = NeighbourCache(size=100, depth=20)
    fallbacks = 0
    for trial in range(300):
        n = int(rng.integers(5, 80))
        scores = rng.integers(0, 6, n).astype(np.float32)  # many ties
        scores[rng.random(n) < 0.1] = -np.inf
        scores[rng.random(n) < 0.05] = np.nan
        allowed = rng.random(n) < rng.uniform(0.1, 1.0)
        k = int(rng.integers(1, 30))
        picked = cache.pick(cache.best("m", trial, scores), allowed, k)
        if picked is None:
            fallbacks += 1
            top = _by_hand(scores, np.ones(n, dtype=bool), 20)  # what the cache keeps
            assert len(top) == 20 and int(allowed[top].sum()) < k
            continue
        assert [i for i, _ in picked] == _by_hand(scores, allowed, k)
        assert [s for _, s in picked] == [float(scores[i]) for i, _ in picked]
    assert 0 < fallbacks < 300


def test_least_recently_used_items_are_forgotten() -> None:
    cache = NeighbourCache(size=2, depth=3)
    row = np.array([0.1, 0.9, 0.5, 0.7])
    for item in (0, 1):
        cache.best("m", item, row)
    assert cache.get("m", 0) is not None  # 0 is now the most recent
    cache.best("m", 2, row)  # drops 1
    assert cache.get("m", 1) is None and cache.get("m", 0) is not None and cache.get("m", 2) is not None
    assert cache.get("other", 0) is None  # keys carry the model
    assert (cache.hits, cache.misses) == (3, 2)
    assert cache.get("m", 0)[0].tolist() == [1, 3, 2]  # type: ignore[index]


@pytest.fixture
def engine(trained: Path):
    store = Store(trained)
    yield RecommendationEngine(store, load_current(trained))
    store.close()


def test_an_engine_answers_the_same_from_the_cache_and_per_model(engine: RecommendationEngine) -> None:
    items = [str(i) for i in engine.bundle.item_ids.ids[:12]]
    first = {(i, k): [r.item_id for r in engine.similar(i, k)] for i in items for k in (3, 8)}
    assert engine.neighbours.hits >= len(items)  # the second k of each item came from the cache
    again = {(i, k): [r.item_id for r in engine.similar(i, k)] for i in items for k in (3, 8)}
    assert again == first
    fresh = RecommendationEngine(engine.store, engine.bundle)
    fresh.neighbours = NeighbourCache(size=0)  # keeps nothing: every answer scored in full
    assert {(i, k): [r.item_id for r in fresh.similar(i, k)] for i in items for k in (3, 8)} == first
    other = with_similarity(engine, "content")  # shares the cache, keyed by model
    by_content = [r.item_id for r in other.similar(items[0], 8)]
    assert by_content == [r.item_id for r in with_similarity(fresh, "content").similar(items[0], 8)]
    assert [r.item_id for r in engine.similar(items[0], 8)] == first[(items[0], 8)]

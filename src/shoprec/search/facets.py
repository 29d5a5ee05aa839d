"""Facets: category paths with every level, brands and fixed price buckets.

The lexical index counts facets inside tantivy (terms and range aggregations over its fast
fields); `count_facets` counts the same way over any items table, for engines without an index
of their own (semantic search hits, a re-ranked page).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.errors import ConfigError

CATEGORY, BRAND, PRICE = "category", "brand", "price"  # facet names in SearchResult.facets
FACET_NAMES = (CATEGORY, BRAND, PRICE)
# Upper edges of the price buckets: "0-25", "25-50", ..., "1000-2500", "2500+". Wide enough for
# shops priced in dollars or yuan; a bucket holds prices from its lower edge up to (not
# including) its upper edge, the first also anything below zero.
DEFAULT_PRICE_EDGES: tuple[float, ...] = (25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)
DEFAULT_FACET_LIMIT = 100
# tantivy's terms aggregation keeps this many terms per segment before merging; above the
# number of distinct values in any segment, its counts are exact.
_SEGMENT_TERMS = 1 << 20


def category_prefixes(path: str | None) -> list[str]:
    """The path and each ancestor, top first, as written: "A > B > C" -> "A", "A > B", "A > B > C".

    Cut at every separator of the literal string, so that a filter on any of them selects
    exactly the items ItemFilters.category selects.
    """
    if not path:
        return []
    sep = S.CATEGORY_SEPARATOR
    cuts = [i for i in range(len(path)) if path.startswith(sep, i)]
    return [path[:i] for i in cuts if i > 0] + [path]


def category_key(wanted: str) -> str:
    """A category filter's value as matched against casefolded `category_prefixes` (the same
    normalisation as ItemFilters: levels stripped, case ignored)."""
    return S.CATEGORY_SEPARATOR.join(part.strip() for part in wanted.split(S.CATEGORY_SEPARATOR.strip())).casefold()


def check_price_edges(edges: Sequence[float]) -> tuple[float, ...]:
    """Validated bucket edges: finite, positive, strictly increasing, at least one."""
    values = tuple(float(e) for e in edges)
    if not values or any(not math.isfinite(e) or e <= 0 for e in values) or any(
            b <= a for a, b in zip(values, values[1:])):
        raise ConfigError(f"price_edges must be positive, finite and strictly increasing, got {list(edges)}")
    return values


def price_labels(edges: Sequence[float]) -> list[str]:
    """Bucket labels: "0-25", "25-50", ..., "2500+"."""
    bounds = ["0", *(f"{e:g}" for e in edges)]
    return [f"{a}-{b}" for a, b in zip(bounds, bounds[1:])] + [f"{bounds[-1]}+"]


def price_bucket(prices: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """The bucket index of each price (-1 for a missing price)."""
    prices = np.asarray(prices, dtype=np.float64)
    return np.where(np.isnan(prices), -1, np.searchsorted(np.asarray(edges), prices, side="right"))


def aggregation_request(category_field: str, brand_field: str, price_field: str, edges: Sequence[float]) -> dict[str, Any]:
    """tantivy aggregations counting the three facets over the index's fast fields."""
    # Every value is asked for and the top `limit` kept in Python (parse_aggregation), so that
    # ties at the cut are broken the same way everywhere (by name).
    terms = {"size": _SEGMENT_TERMS, "segment_size": _SEGMENT_TERMS}
    ranges: list[dict[str, float]] = [{"to": edges[0]}]
    ranges += [{"from": a, "to": b} for a, b in zip(edges, edges[1:])] + [{"from": edges[-1]}]
    return {
        CATEGORY: {"terms": {"field": category_field, **terms}},
        BRAND: {"terms": {"field": brand_field, **terms}},
        PRICE: {"range": {"field": price_field, "ranges": ranges}},
    }


def parse_aggregation(raw: dict[str, Any], edges: Sequence[float], limit: int = DEFAULT_FACET_LIMIT) -> dict[str, dict[str, int]]:
    """SearchResult.facets from tantivy's answer to `aggregation_request`."""
    out = {name: _top({str(b["key"]): int(b["doc_count"]) for b in raw.get(name, {}).get("buckets", [])}, limit)
           for name in (CATEGORY, BRAND)}
    counts = [int(b["doc_count"]) for b in raw.get(PRICE, {}).get("buckets", [])]
    out[PRICE] = {label: n for label, n in zip(price_labels(edges), counts) if n}
    return out


def count_facets(items: pd.DataFrame, edges: Sequence[float] = DEFAULT_PRICE_EDGES,
                 limit: int = DEFAULT_FACET_LIMIT) -> dict[str, dict[str, int]]:
    """The facets of the items in an items table (schema.ITEM_COLUMNS), counted in pandas."""
    categories: Counter[str] = Counter()
    for path in items[S.CATEGORY].dropna():
        categories.update(set(category_prefixes(str(path))))
    brands = Counter(str(b) for b in items[S.BRAND].dropna() if str(b))
    buckets = price_bucket(pd.to_numeric(items[S.PRICE], errors="coerce").to_numpy(np.float64), edges)
    labels = price_labels(edges)
    price = {labels[b]: int(n) for b, n in zip(*np.unique(buckets[buckets >= 0], return_counts=True))}
    return {CATEGORY: _top(dict(categories), limit), BRAND: _top(dict(brands), limit), PRICE: price}


def _top(counts: dict[str, int], limit: int) -> dict[str, int]:
    """The `limit` largest counts, largest first, ties by name."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])

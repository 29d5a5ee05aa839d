"""One search answer, as `GET /v1/search` returns it and `shoprec search --json` prints it.

`search_answer` is the one function behind both: a page of `SearchEngine.search` with each hit's
category, brand and price and the facets as lists of {value, count}:

    {"q", "total", "page", "k", "hits": [{"item_id", "score", "title", "highlight", "category",
     "brand", "price"}], "facets": {name: [{"value", "count"}]}}

(the service adds `request_id`, `variant` and `experiment`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shoprec.data import schema as S
from shoprec.search.engine import SearchEngine
from shoprec.search.results import SearchFilters, SearchResult

Lookup = Callable[[str], Mapping[str, Any] | None]


def search_answer(engine: SearchEngine, q: str, *, mode: str = "auto", k: int = 10, page: int = 1,
                  filters: SearchFilters | None = None, sort: str = "relevance", user_id: str | None = None,
                  lookup: Lookup | None = None) -> dict[str, Any]:
    """Page `page` (from 1) of `k` results for `q` in `mode` (`auto`: SearchEngine.resolve_mode).
    `lookup` gives an item's fields (default: the engine's catalogue)."""
    result = engine.search(q, mode=mode, k=k, offset=(page - 1) * k, filters=filters, sort=sort, user_id=user_id)
    return answer_of(result, q, k=k, page=page, lookup=lookup or engine.item_fields)


def answer_of(result: SearchResult, q: str, *, k: int, page: int, lookup: Lookup) -> dict[str, Any]:
    """A SearchResult in the answer's shape (module docstring)."""
    hits = []
    for hit in result.hits:
        item = lookup(hit.item_id) or {}
        hits.append({"item_id": hit.item_id, "score": float(hit.score), "title": hit.title, "highlight": hit.highlight,
                     "category": item.get(S.CATEGORY), "brand": item.get(S.BRAND), "price": item.get(S.PRICE)})
    facets = {name: [{"value": str(v), "count": int(n)} for v, n in _pairs(values)]
              for name, values in (result.facets or {}).items()}
    return {"q": q, "total": int(result.total), "page": page, "k": k, "hits": hits, "facets": facets}


def _pairs(values: Any) -> list[tuple[Any, Any]]:
    # a facet as {value: count} or as [(value, count)]
    return list(values.items()) if isinstance(values, dict) else [tuple(v) for v in values]

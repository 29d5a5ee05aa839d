"""What a search returns: hits (item, score, highlighted title), the total and facet counts.

`SearchFilters` is the shared item filter of recommendations and search (see
shoprec.ranking.filters), re-exported here under the name search code uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shoprec.ranking.filters import ItemFilters as SearchFilters
from shoprec.search.sorts import BROWSE_SORT, SORTS

__all__ = ["BROWSE_SORT", "SORTS", "Hit", "SearchFilters", "SearchResult"]  # the sorts: shoprec.search.sorts


@dataclass(frozen=True)
class Hit:
    """One matching item.

    `score` is the item's relevance to the query (whatever the sort; 0.0 when browsing without
    a query); `highlight` is the title as HTML, escaped, with the matched words in <mark>.
    """

    item_id: str
    score: float
    title: str | None
    highlight: str | None


@dataclass(frozen=True)
class SearchResult:
    """One page of hits, the number of all matches (after filters) and facet counts over them.

    `facets` maps "category" (every level of each matching path), "brand" and "price" (bucket
    labels such as "25-50") to counts of matching items. `relaxed` is True when no item matched
    every query word and the answer holds the items matching any of them.
    """

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    relaxed: bool = False

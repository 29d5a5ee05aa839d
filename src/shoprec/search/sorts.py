"""The orders a search can be sorted by.

Apart from shoprec.search.results (which re-exports them) so that the command line declares
`shoprec search --sort` without importing pandas.
"""

# "relevance" on an empty query (browsing) means BROWSE_SORT.
SORTS = ("relevance", "price_asc", "price_desc", "popularity", "newest")
BROWSE_SORT = "popularity"

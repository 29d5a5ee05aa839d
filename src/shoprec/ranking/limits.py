"""Limits every surface shares (the engine, the HTTP API, the command line); no imports, so the
service's settings and the CLI read them without loading the engine."""

# The most items one recommendations request may ask for.
MAX_K = 1000

# The deepest search result a page may reach (page * k): tantivy collects this many hits at most.
MAX_SEARCH_DEPTH = 10_000

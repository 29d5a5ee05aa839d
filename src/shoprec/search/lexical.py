"""LexicalIndex: keyword search over the catalogue on tantivy (BM25 per field with boosts,
English stemming, typo tolerance, prefix matching, synonyms, Chinese words, filters, facets,
sorting and incremental updates).

Queries are never given to tantivy's query parser: they are built from our own tokens
(shoprec.search.text), so no user text can be a syntax error. Each query word must match (a
word missing everywhere relaxes the query to "any word"): its stem in any text field, scored by
BM25 times the field's boost, or, as a constant below that, a spelling within the typo
allowance (or, for the last word, any word it begins) in the field's unstemmed copy. A doc that
matches a word exactly also matches it loosely, so in the same field an exact match always
outranks a typo or prefix match.

On disk, `<path>/` holds the tantivy index, `state.json` (format, settings, what it was built
from) and `catalog.parquet` (per item: sequence number for "newest", popularity, row hash for
refreshing from a changed catalogue).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
from tantivy import FieldType, Index, Occur, Order, Query, Searcher

from shoprec.data.store import Store
from shoprec.errors import ConfigError, NotFittedError, ShoprecError
from shoprec.ranking.limits import MAX_SEARCH_DEPTH
from shoprec.search import lexical_store as C
from shoprec.search.facets import FACET_NAMES, aggregation_request, category_key, parse_aggregation
from shoprec.search.lexical_store import LexicalSettings
from shoprec.search.results import BROWSE_SORT, SORTS, Hit, SearchFilters, SearchResult
from shoprec.search.text import QueryTerm, Synonyms, Token, TypoRule, query_tokens
from shoprec.search.text import highlight as highlight_html

__all__ = ["LexicalIndex", "LexicalSettings"]

MAX_HITS = MAX_SEARCH_DEPTH
_SORT_FIELDS = {"price_asc": (C.PRICE, Order.Asc), "price_desc": (C.PRICE, Order.Desc),
                "popularity": (C.POPULARITY, Order.Desc), "newest": (C.SEQ, Order.Desc)}


class LexicalIndex:
    """A tantivy index of the catalogue, searched with queries built from our own tokens.

    Make one with `build`, `open` or `open_or_build`; `upsert` and `delete` change it in place
    and take effect at once.
    """

    def __init__(self, path: Path, index: Index, state: C.IndexState) -> None:
        self.path = Path(path)
        self._index = index
        self._schema = index.schema
        self._state = state
        self._synonyms = Synonyms.load(state.settings.synonyms_file) if state.settings.synonyms_file else Synonyms()

    # ---- making and opening ------------------------------------------------------------------
    @classmethod
    def build(cls, path: Path, items: pd.DataFrame, *, popularity: Mapping[str, float] | None = None,
              settings: LexicalSettings | None = None) -> LexicalIndex:
        """Index `items` (schema.ITEM_COLUMNS; only item_id is required) into a new index at
        `path`, replacing any index there once the new one is complete."""
        settings = settings or LexicalSettings()
        frame = C.canonical_items(items)
        path = Path(path)
        with C.staging(path) as tmp:
            index = Index(C.index_schema(), path=str(tmp))
            state = C.IndexState(settings, C.empty_catalog(), next_seq=0, source=None)
            C.write_items(index, state, frame, popularity, replace=())
            state.save(tmp)
        return cls.open(path)

    @classmethod
    def open(cls, path: Path) -> LexicalIndex:
        """Open the index at `path` (NotFittedError when there is none)."""
        path = Path(path)
        state = C.IndexState.load(path)
        return cls(path, Index.open(str(path)), state)

    @classmethod
    def open_or_build(cls, workspace: Path, *, settings: LexicalSettings | None = None) -> LexicalIndex:
        """The index of a workspace's catalogue at `<workspace>/search/lexical/`: opened when
        current, refreshed in place when the store's items table changed, built when missing
        (or when `settings` differ from the stored ones). Popularity is the number of events of
        each item at the time it is indexed. `<workspace>/synonyms.txt` is used when present."""
        workspace = Path(workspace)
        path = workspace / "search" / "lexical"
        default_synonyms = workspace / "synonyms.txt"
        store = Store(workspace)
        try:
            with C.locked(C.lock_path(path)):
                source = store.manifest().items
                if source is None:
                    raise ShoprecError(f"the store in {workspace} holds no items: run 'shoprec ingest' or "
                                       "'shoprec generate' first")
                index = cls._open_current(path, settings)
                if index is None:
                    index = cls.build(path, store.items(), popularity=C.event_counts(store), settings=settings)
                    index._record_source(source)
                elif index._state.source != source:
                    index._sync(store.items(), C.event_counts(store))
                    index._record_source(source)
        finally:
            store.close()
        if index.settings.synonyms_file is None and default_synonyms.is_file():
            # Read at every open, not stored: editing the file takes effect without a rebuild.
            index._synonyms = Synonyms.load(default_synonyms)
        return index

    @classmethod
    def _open_current(cls, path: Path, settings: LexicalSettings | None) -> LexicalIndex | None:
        try:
            index = cls.open(path)
        except (NotFittedError, C.StaleFormatError):
            return None
        return index if settings is None or settings == index.settings else None

    def _record_source(self, source: str | None) -> None:
        self._state.source = source
        self._state.save(self.path)

    # ---- changing ------------------------------------------------------------------------------
    def upsert(self, items: pd.DataFrame, popularity: Mapping[str, float] | None = None) -> None:
        """Add new items and replace changed ones; searchable on return. An item keeps its place
        in "newest" order and, unless given, its popularity."""
        frame = C.canonical_items(items)
        with self._writing():
            C.write_items(self._index, self._state, frame, popularity, replace=frame[C.ITEM_ID].tolist())

    def delete(self, item_ids: Sequence[str]) -> None:
        """Remove items (unknown ids are ignored); gone on return."""
        ids = [str(i) for i in item_ids]
        with self._writing():
            C.write_items(self._index, self._state, C.canonical_items(C.empty_items()), None, replace=ids)

    def sync(self, items: pd.DataFrame, popularity: Mapping[str, float] | None = None) -> tuple[int, int]:
        """Make the index hold exactly `items`: upsert new and changed rows, delete the rest.
        Returns (rows written, items deleted)."""
        with C.locked(C.lock_path(self.path)):
            return self._sync(items, popularity)

    def _sync(self, items: pd.DataFrame, popularity: Mapping[str, float] | None) -> tuple[int, int]:
        frame = C.canonical_items(items)
        with self._writing(lock=False):
            changed, removed = C.diff(self._state.catalog, frame)
            C.write_items(self._index, self._state, frame[changed], popularity,
                          replace=frame.loc[changed, C.ITEM_ID].tolist() + removed)
        return int(changed.sum()), len(removed)

    @contextmanager
    def _writing(self, lock: bool = True) -> Iterator[None]:
        """Write under the index's lock, from the state on disk (another process may have
        written since this one read it); save the state and reload the searcher after."""
        with C.locked(C.lock_path(self.path)) if lock else nullcontext():
            self._state = C.IndexState.load(self.path)
            yield
            self._state.save(self.path)
            self._index.reload()

    # ---- reading -------------------------------------------------------------------------------
    @property
    def settings(self) -> LexicalSettings:
        """The settings the index was built with."""
        return self._state.settings

    @property
    def _live(self) -> set[str]:
        return self._state.fields

    def __len__(self) -> int:
        return int(self._index.searcher().num_docs)

    def search(self, query: str, k: int = 10, *, offset: int = 0, filters: SearchFilters | None = None,
               sort: str = "relevance", facets: bool = True, highlight: bool = True,
               match_all: bool | None = None) -> SearchResult:
        """The page `offset..offset+k` of items matching `query` and `filters`, in `sort` order
        (an empty query browses every item passing the filters, by popularity unless sorted
        otherwise), with the total, facet counts and highlighted titles. `match_all` overrides
        the setting of that name for this search (False: items matching any word, e.g. to
        gather candidates for re-ranking)."""
        if not 1 <= k <= MAX_HITS:
            raise ConfigError(f"k must be between 1 and {MAX_HITS}, got {k}")
        if offset < 0:
            raise ConfigError(f"offset must be >= 0, got {offset}")
        if sort not in SORTS:
            raise ConfigError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
        query = query or ""
        terms = self._terms(query)
        restrict = self._filter_query(filters)
        searcher = self._index.searcher()
        relaxed = False
        if not terms and query.strip():
            # Words only of symbols, emoji or over-long tokens: nothing can match them.
            return SearchResult(0, [], {name: {} for name in FACET_NAMES} if facets else {})
        if not terms:
            text_query = None
            matched = restrict if restrict is not None else Query.all_query()
            sort = BROWSE_SORT if sort == "relevance" else sort
        else:
            require_all = self.settings.match_all if match_all is None else match_all
            text_query = self._text_query(terms, require_all)
            matched = _both(text_query, restrict)
            if require_all and self.settings.relax and len(terms) > 1 and not _count(searcher.search(
                    matched, 1, count=True)):
                text_query, relaxed = self._text_query(terms, False), True
                matched = _both(text_query, restrict)
        if sort == "relevance":
            found = searcher.search(matched, k, count=True, offset=offset, weight_by_field=C.TIEBREAK)
        else:
            field, order = _SORT_FIELDS[sort]
            found = searcher.search(matched, k, count=True, offset=offset, order_by_field=field, order=order)
        docs = [searcher.doc(address) for _, address in found.hits]
        ids = [str(doc.get_first(C.ITEM_ID)) for doc in docs]
        if text_query is None:
            scores = [0.0] * len(ids)
        elif sort == "relevance":
            scores = [float(score) for score, _ in found.hits]
        else:
            scores = self._scores(text_query, ids)
        hits = []
        for item_id, doc, score in zip(ids, docs, scores, strict=True):
            shown = doc.get_first(C.TITLE_SHOWN)
            title = bytes(shown).decode("utf-8") if shown is not None else None
            hits.append(Hit(item_id, score, title, highlight_html(title, terms) if highlight else None))
        return SearchResult(_count(found), hits, self._facets(searcher, matched) if facets else {}, relaxed)

    def matches(self, query: str, *, filters: SearchFilters | None = None, also: Sequence[str] = (),
                words: bool = True) -> SearchResult:
        """How many items pass `filters` and match any word of `query` (with `words`) or are one
        of `also`, with their facets (no hits): the result set of a mode that adds other items to
        the lexical matches (hybrid: the semantic engine's top items; semantic: only those)."""
        terms = self._terms(query) if words else []
        parts = [self._text_query(terms, False)] if terms else []
        if also:
            parts.append(Query.const_score_query(Query.term_set_query(self._schema, C.ITEM_ID, [str(i) for i in also]), 0.0))
        if not parts:
            return SearchResult(0, [], {name: {} for name in FACET_NAMES})
        matched = _both(_any(parts), self._filter_query(filters))
        searcher = self._index.searcher()
        return SearchResult(_count(searcher.search(matched, 1, count=True)), [], self._facets(searcher, matched))

    def _facets(self, searcher: Searcher, matched: Query) -> dict[str, dict[str, int]]:
        """The facet counts of the items `matched` selects, counted by tantivy."""
        return parse_aggregation(searcher.aggregate(matched, aggregation_request(
            C.CATEGORY_FACET, C.BRAND_FACET, C.PRICE, self.settings.price_edges)), self.settings.price_edges,
            self.settings.facet_limit)

    def highlight(self, query: str, titles: Sequence[str | None]) -> list[str | None]:
        """Each title as HTML with the words `query` matches marked, as this index's hits are."""
        terms = self._terms(query)
        return [highlight_html(title, terms) for title in titles]

    def field_scores(self, query: str, item_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """BM25 of `query` (its exact words, no typos, prefixes or synonyms) against each text
        field alone, without boosts, for each of `item_ids` (0 where nothing matches or the item
        is unknown): features for a learned ranker."""
        ids = [str(i) for i in item_ids]
        out = {f: np.zeros(len(ids), dtype=np.float64) for f in C.TEXT_FIELDS}
        tokens = list({t.text: t for t in query_tokens(query, prefix_last=False)}.values())
        if not ids or not tokens:
            return out
        where: dict[str, list[int]] = {}
        for position, item_id in enumerate(ids):
            where.setdefault(item_id, []).append(position)
        restrict = Query.const_score_query(Query.term_set_query(self._schema, C.ITEM_ID, list(where)), 0.0)
        searcher = self._index.searcher()
        id_of: dict[tuple[int, int], str] = {}
        for field in C.TEXT_FIELDS:
            clauses = [q for t in tokens for q in self._exact(t, field)]
            clauses += [self._term(C.zh(field), p) for t in tokens for p in t.pieces if C.zh(field) in self._live]
            if not clauses:
                continue
            query_ = Query.boolean_query([(Occur.Must, restrict), (Occur.Must, _any(clauses))])
            for score, address in searcher.search(query_, len(where)).hits:
                key = (address.segment_ord, address.doc)
                if key not in id_of:
                    id_of[key] = str(searcher.doc(address).get_first(C.ITEM_ID))
                for position in where.get(id_of[key], []):
                    out[field][position] = score
        return out

    # ---- queries ---------------------------------------------------------------------------------
    def _terms(self, query: str) -> list[QueryTerm]:
        rule = TypoRule(self.settings.one_edit_from, self.settings.two_edits_from)
        return self._synonyms.expand(query_tokens(query or "", rule, prefix_last=self.settings.prefix_last))

    def _text_query(self, terms: Sequence[QueryTerm], require_all: bool) -> Query:
        occur = Occur.Must if require_all else Occur.Should
        return Query.boolean_query([(occur, self._term_query(term)) for term in terms])

    def _term_query(self, term: QueryTerm) -> Query:
        alternatives = [self._tokens_query(term.tokens, loose=True)]
        alternatives += [self._tokens_query(synonym, loose=False) for synonym in term.synonyms]
        return alternatives[0] if len(alternatives) == 1 else _any(alternatives)

    def _tokens_query(self, tokens: Sequence[Token], loose: bool) -> Query:
        queries = [self._token_query(t, loose) for t in tokens]
        return queries[0] if len(queries) == 1 else Query.boolean_query([(Occur.Must, q) for q in queries])

    def _token_query(self, token: Token, loose: bool) -> Query:
        clauses = []
        for field in C.TEXT_FIELDS:
            boost = self.settings.boosts[field]
            if boost <= 0:
                continue
            clauses += [Query.boost_query(q, boost) for q in self._exact(token, field)]
            if loose and (token.edits or token.prefix):
                targets = [C.raw(field)] if token.stem is not None else []
                for name in [*targets, C.zh(field)]:
                    if name in self._live:
                        fuzzy = Query.fuzzy_term_query(self._schema, name, token.text, distance=token.edits,
                                                       prefix=token.prefix)
                        clauses.append(Query.const_score_query(fuzzy, boost * self.settings.fuzzy_weight))
        zh_fields = [f for f in C.TEXT_FIELDS if C.zh(f) in self._live and self.settings.boosts[f] > 0]
        if token.pieces and zh_fields:
            # A CJK word also matches where all its shorter dictionary words are.
            pieces = [_any([Query.boost_query(self._term(C.zh(f), p), self.settings.boosts[f]) for f in zh_fields])
                      for p in token.pieces]
            clauses.append(Query.boolean_query([(Occur.Must, q) for q in pieces]))
        return _any(clauses) if clauses else Query.empty_query()

    def _exact(self, token: Token, field: str) -> list[Query]:
        out = []
        if token.stem is not None and field in self._live:
            out.append(self._term(field, token.stem))
        if C.zh(field) in self._live:
            out.append(self._term(C.zh(field), token.text))
        return out

    def _term(self, field: str, value: str) -> Query:
        return Query.term_query(self._schema, field, value, index_option="freq")

    def _filter_query(self, filters: SearchFilters | None) -> Query | None:
        if filters is None:
            return None
        schema = self._schema
        parts = []
        if filters.category is not None:
            parts.append(Query.term_query(schema, C.CATEGORY_KEY, category_key(filters.category)))
        if filters.brand is not None:
            parts.append(Query.term_query(schema, C.BRAND_KEY, filters.brand.casefold()))
        if filters.price_min is not None or filters.price_max is not None:
            low = None if filters.price_min is None else float(filters.price_min)
            high = None if filters.price_max is None else float(filters.price_max)
            parts.append(Query.range_query(schema, C.PRICE, FieldType.Float, low, high))
        if filters.in_stock:
            parts.append(Query.boolean_query([(Occur.Must, Query.all_query()),
                                              (Occur.MustNot, Query.term_query(schema, C.OUT_OF_STOCK, True))]))
        if not parts:
            return None
        # Filters select, they do not score.
        return Query.const_score_query(Query.boolean_query([(Occur.Must, p) for p in parts]), 0.0)

    def _scores(self, text_query: Query, ids: list[str]) -> list[float]:
        """Relevance of a page sorted by another key: the text query restricted to its items."""
        if not ids:
            return []
        restrict = Query.const_score_query(Query.term_set_query(self._schema, C.ITEM_ID, ids), 0.0)
        searcher = self._index.searcher()
        found = searcher.search(_both(text_query, restrict), len(ids), weight_by_field=C.TIEBREAK).hits
        by_id = {str(searcher.doc(a).get_first(C.ITEM_ID)): float(s) for s, a in found}
        return [by_id.get(i, 0.0) for i in ids]


def _count(found: object) -> int:
    return int(found.count)  # type: ignore[attr-defined]  # tantivy's .pyi omits SearchResult.count


def _both(query: Query, restrict: Query | None) -> Query:
    return query if restrict is None else Query.boolean_query([(Occur.Must, query), (Occur.Must, restrict)])


def _any(queries: Sequence[Query]) -> Query:
    return queries[0] if len(queries) == 1 else Query.boolean_query([(Occur.Should, q) for q in queries])


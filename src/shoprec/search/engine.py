"""SearchEngine: the one facade the CLI, the service and evaluation call for product search.

Modes: `lexical` (tantivy), `semantic` (sentence embeddings), `hybrid` (both fused, see
hybrid.py), `ltr` (hybrid candidates re-ranked by the learned ranker, see ranker.py) and `auto`
(the best one this workspace has: ltr with a trained ranker, else hybrid with the sentence model,
else lexical; `resolve_mode`). Each mode answers from one result set, and its `total`, facets and
pages are all over that set: lexical, the items matching every query word (any word when none
matches all); semantic, the semantic engine's top `HybridSettings.candidates` (100); hybrid
and ltr, those within `semantic_floor` of the best one's cosine plus every item matching any
query word. An empty query or a sort other than
relevance is answered by the lexical engine whatever the mode. With `user_id`, the top results are
re-ranked for the shopper (personalise.py).

It degrades instead of failing: without the deep extra (no sentence model) semantic, hybrid and
ltr answer lexically; ltr without a trained ranker answers as hybrid; personalisation without a
trained bundle uses only the query's past clicks. Each such fallback is logged once and listed
in `notices`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from shoprec.bundle import Bundle, load_current
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ConfigError, ShoprecError
from shoprec.ranking.limits import MAX_K, MAX_SEARCH_DEPTH
from shoprec.search.autocomplete import Autocomplete
from shoprec.search.hybrid import LEXICAL, SEMANTIC, HybridSettings, above_floor, fuse_lists
from shoprec.search.lexical import LexicalIndex
from shoprec.search.lexical_store import event_counts
from shoprec.search.personalise import PersonalSettings, QueryClicks, rerank, shopper_scores
from shoprec.search.ranker import FOLDER as RANKER_FOLDER
from shoprec.search.ranker import SearchRanker
from shoprec.search.ranker_features import SearchFeatures
from shoprec.search.results import Hit, SearchFilters, SearchResult
from shoprec.search.scored import Scored
from shoprec.search.semantic import SemanticIndex, SemanticSettings
from shoprec.search.text import MAX_QUERY_CHARS

log = logging.getLogger(__name__)
MODES = ("hybrid", "lexical", "semantic", "ltr")
AUTO = "auto"  # the best trained mode (resolve_mode)
_BATCH = 128  # queries embedded together when tuning or training (below the semantic query cache)


class SearchEngine:
    """Lexical and semantic indexes of one workspace, the fusion settings, the learned ranker and
    personalisation, behind `search`."""

    def __init__(self, workspace: Path, lexical: LexicalIndex, semantic: SemanticIndex | None, items: pd.DataFrame, *,
                 hybrid: HybridSettings | None = None, ranker: SearchRanker | None = None,
                 personal: PersonalSettings | None = None, popularity: dict[str, float] | None = None,
                 store: Store | None = None, bundle: Bundle | None = None) -> None:
        self.workspace = Path(workspace)
        # A shared open store (the service's, whose one-user reads are indexed) and the bundle it
        # serves; without them personalisation opens the workspace's store per query and loads
        # the current bundle itself.
        self._store = store
        self.lexical, self.semantic = lexical, semantic
        self.hybrid = hybrid or HybridSettings()
        self.ranker = ranker
        self.personal = personal or PersonalSettings()
        self.notices: list[str] = []
        self._popularity = popularity or {}
        self._set_items(items)
        self._bundle: Bundle | None = bundle
        self._bundle_checked = bundle is not None
        self._clicks: QueryClicks | None = None
        self._autocomplete: Autocomplete | None = None
        # Counts `forget_user` calls: a cache built from events read before one is not kept (see _keep).
        self._forgotten = 0
        self._forget_lock = threading.Lock()
        self._last_semantic: tuple[tuple[object, ...], Scored] | None = None
        self._changes = 0  # catalogue changes: part of the key of _last_semantic

    @classmethod
    def open(cls, workspace: Path, *, semantic: SemanticSettings | None = None, use_semantic: bool = True,
             store: Store | None = None, bundle: Bundle | None = None) -> SearchEngine:
        """Open the workspace's indexes, building them when missing and refreshing them when the
        catalogue changed (only new or changed item texts are embedded). `store` and `bundle`:
        see the constructor (the service passes its own)."""
        workspace = Path(workspace)
        lexical = LexicalIndex.open_or_build(workspace)
        reader = store or Store(workspace)
        try:
            items = reader.items()
            popularity = event_counts(reader)
        finally:
            if reader is not store:
                reader.close()
        notices = []
        semantic_index = None
        if use_semantic:
            try:
                semantic_index = SemanticIndex.open_or_build(workspace, semantic, items=items)
            except ShoprecError as exc:
                notices.append(f"semantic search is off ({exc}); answering lexically")
        ranker_path = workspace / RANKER_FOLDER
        ranker = SearchRanker.load(ranker_path) if (ranker_path / "model.txt").exists() else None
        engine = cls(workspace, lexical, semantic_index, items, hybrid=HybridSettings.load(workspace), ranker=ranker,
                     popularity=popularity, store=store, bundle=bundle)
        for notice in notices:
            engine._notice(notice)
        return engine

    def _set_items(self, items: pd.DataFrame) -> None:
        self._items = items.drop_duplicates(S.ITEM_ID, keep="last").reset_index(drop=True)
        ids = self._items[S.ITEM_ID].astype(str)
        self._titles = {i: t for i, t in zip(ids, self._items[S.TITLE].tolist()) if isinstance(t, str)}
        self.features = SearchFeatures(self.lexical, self.semantic, self._items, self._popularity)
        self._fields: dict[str, dict[str, object]] | None = None

    def item_fields(self, item_id: str) -> dict[str, object] | None:
        """One catalogue item's category, brand and price as search knows them (None for a missing
        value), or None for an unknown item."""
        if self._fields is None:
            frame = self._items.reindex(columns=[S.ITEM_ID, S.CATEGORY, S.BRAND, S.PRICE])
            frame = frame.astype(object).where(frame.notna(), None)
            self._fields = {str(row[S.ITEM_ID]): {S.CATEGORY: row[S.CATEGORY], S.BRAND: row[S.BRAND],
                                                  S.PRICE: None if row[S.PRICE] is None else float(row[S.PRICE])}
                            for row in frame.to_dict("records")}
        return self._fields.get(item_id)

    def _notice(self, message: str) -> None:
        if message not in self.notices:
            self.notices.append(message)
            log.warning(message)

    # ---------------------------------------------------------------- ranking
    def resolve_mode(self, mode: str) -> str:
        """`mode`, with `auto` read as the best this workspace has: `ltr` when a search ranker is
        trained, else `hybrid` when the sentence model is loaded, else `lexical`."""
        if mode != AUTO:
            return mode
        if self.semantic is None:
            return "lexical"
        return "ltr" if self.ranker is not None else "hybrid"

    def _effective_mode(self, mode: str) -> str:
        mode = self.resolve_mode(mode)
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join((*MODES, AUTO))}, got {mode!r}")
        if mode != "lexical" and self.semantic is None:
            self._notice(f"{mode} search needs the sentence model ({deep_hint()}); answering lexically")
            return "lexical"
        if mode == "ltr" and self.ranker is None:
            self._notice("no learned search ranker in this workspace (run 'shoprec search-train'); answering as hybrid")
            return "hybrid"
        return mode

    def candidates(self, query: str, n: int, filters: SearchFilters | None = None) -> dict[str, Scored]:
        """Each engine's top `n` for the query: {"lexical": [...], "semantic": [...]} (what hybrid
        fuses and the ranker re-ranks; the lexical list matches any query word)."""
        # Candidates match any query word: measured on Home Depot, that list both ranks better
        # (NDCG@10 0.373 vs 0.366) and recalls more than the every-word one.
        lists = {LEXICAL: self._lexical_top(query, n, filters, match_all=False)}
        if self.semantic is not None:
            lists[SEMANTIC] = self.semantic.search(query[:MAX_QUERY_CHARS], n, filters)
        return lists

    def candidates_for(self, queries: Collection[str], n: int | None = None) -> dict[str, dict[str, Scored]]:
        """`candidates` of many queries (no filters), their embeddings computed in batches: what
        tuning and training read."""
        n = n or self.hybrid.candidates
        ordered = sorted(set(queries))
        out = {}
        for start in range(0, len(ordered), _BATCH):
            chunk = ordered[start:start + _BATCH]
            if self.semantic is not None:
                self.semantic.embed_queries([q[:MAX_QUERY_CHARS] for q in chunk])
            out.update({q: self.candidates(q, n) for q in chunk})
        return out

    def _lexical_top(self, query: str, n: int, filters: SearchFilters | None, match_all: bool | None = None) -> Scored:
        found = self.lexical.search(query, k=n, filters=filters, facets=False, highlight=False, match_all=match_all)
        return [(h.item_id, h.score) for h in found.hits]

    def _semantic_hits(self, query: str, fusion: HybridSettings, filters: SearchFilters | None) -> Scored:
        """The semantic part of a hybrid or ltr result set: its top `candidates` above the floor."""
        return above_floor(self._semantic_top(query, fusion.candidates, filters), fusion.semantic_floor)

    def _semantic_top(self, query: str, n: int, filters: SearchFilters | None) -> Scored:
        """The semantic engine's top `n`, kept for the last query asked: one search's total, facets
        and tiers all read the same list (and it is searched once)."""
        assert self.semantic is not None
        key = (query[:MAX_QUERY_CHARS], n, filters, self.semantic, self._changes)
        last = self._last_semantic
        if last is not None and last[0] == key:
            return last[1]
        found = self.semantic.search(key[0], n, filters)
        self._last_semantic = (key, found)
        return found

    def ranked(self, query: str, mode: str = "hybrid", n: int = 100, filters: SearchFilters | None = None, *,
               hybrid: HybridSettings | None = None) -> Scored:
        """The first `n` items for `query` by relevance in `mode`, as (item id, score): what
        evaluation scores and what `search` pages through. `hybrid` overrides the fusion settings."""
        fusion = hybrid or self.hybrid
        mode = self._effective_mode(mode)
        if mode == "lexical":
            return self._lexical_top(query, n, filters)
        if mode == "semantic":
            assert self.semantic is not None
            # Always the top `candidates`, cut: an approximate index asked for fewer could answer others.
            return self._semantic_top(query, fusion.candidates, filters)[:n]
        return tiered(lambda depth: self._merged(query, mode, depth, filters, fusion), n, fusion.candidates)

    def _merged(self, query: str, mode: str, depth: int, filters: SearchFilters | None, fusion: HybridSettings) -> Scored:
        """Hybrid or ltr over the lexical engine's top `depth` and the semantic engine's top
        `fusion.candidates`, best first, keeping the items of the result set (see `search`): the
        lexical ones and the semantic hits above the floor. The floor is applied after the merge,
        so the blend's normalisation sees the same lists as when it was tuned. Deeper tiers reach
        further into the lexical matches, never past the semantic top."""
        lists = {LEXICAL: self._lexical_top(query, depth, filters, match_all=False),
                 SEMANTIC: self._semantic_top(query, fusion.candidates, filters)[:depth]}
        if mode == "hybrid":
            merged = fuse_lists(lists, fusion)
        else:
            assert self.ranker is not None
            ids, features = self.features.build(query, lists[LEXICAL], lists[SEMANTIC])
            scores = self.ranker.predict(features)
            merged = [(ids[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")]
        keep = {i for i, _ in lists[LEXICAL]} | {i for i, _ in self._semantic_hits(query, fusion, filters)}
        return [(item, score) for item, score in merged if item in keep]

    def search(self, query: str, *, mode: str = "hybrid", k: int = 10, offset: int = 0,
               filters: SearchFilters | None = None, sort: str = "relevance", user_id: str | None = None) -> SearchResult:
        """One page of results (see the module docstring for which engine answers)."""
        query = query or ""
        if not 1 <= k <= MAX_K or offset < 0:
            raise ConfigError(f"k must be between 1 and {MAX_K} and offset >= 0, got k={k}, offset={offset}")
        if offset + k > MAX_SEARCH_DEPTH:
            raise ConfigError(f"results {offset + 1:,}-{offset + k:,} asked for; search reaches the first {MAX_SEARCH_DEPTH:,} results")
        if not query.strip() or sort != "relevance":
            return self.lexical.search(query, k=k, offset=offset, filters=filters, sort=sort)
        mode = self._effective_mode(mode)
        depth = offset + k if user_id is None else max(offset + k, self.personal.depth)
        if mode == "lexical":
            # Its page is the answer unless a shopper re-ranks it (the page is highlighted below then).
            overview = self.lexical.search(query, k=k, offset=offset, filters=filters, facets=True,
                                           highlight=user_id is None)
            if user_id is None:
                return overview
        else:
            # The result set of semantic: the semantic engine's top `candidates`; of hybrid and
            # ltr: those above the floor plus every item matching any query word. Total, facets
            # and pages are all over it.
            words = mode != "semantic"
            nearest = self._semantic_hits(query, self.hybrid, filters) if words else \
                self._semantic_top(query, self.hybrid.candidates, filters)
            overview = self.lexical.matches(query, filters=filters, also=[i for i, _ in nearest], words=words)
        ranked = self.ranked(query, mode, depth, filters)
        if user_id is not None:
            ranked = self.personalise(query, ranked, user_id)
        page = ranked[offset:offset + k]
        titles = [self._titles.get(item) for item, _ in page]
        hits = [Hit(item, score, title, mark) for (item, score), title, mark in
                zip(page, titles, self.lexical.highlight(query, titles), strict=True)]
        return SearchResult(overview.total, hits, overview.facets, overview.relaxed)

    # ---------------------------------------------------------------- personalisation
    def personalise(self, query: str, ranked: Sequence[tuple[str, float]], user_id: str) -> Scored:
        """`ranked` re-ranked for the shopper (their taste from the current bundle, the query's past clicks)."""
        ids = [i for i, _ in ranked[: self.personal.depth]]
        store = self._store or Store(self.workspace)
        try:
            clicks = self._clicks
            if clicks is None:
                forgotten = self._forgotten
                clicks = QueryClicks.from_events(store.read_events(), self.personal.window_seconds)
                self._keep("_clicks", clicks, forgotten)
            bundle = self._current_bundle()
            taste = shopper_scores(store, bundle, user_id, ids) if bundle is not None else None
        finally:
            if store is not self._store:
                store.close()
        return rerank(ranked, taste, clicks.counts(query, ids), self.personal)

    def forget_user(self, user_id: str | None = None) -> None:
        """After a shopper's events were erased from the store (None: shoppers no longer known):
        drop what was counted from everyone's events, the query-click counts and the autocomplete's
        past queries; both are counted again from the store on their next use. The taste scores
        read the shopper's history from the store per query, so nothing else is kept."""
        with self._forget_lock:
            self._forgotten += 1
            self._clicks = None
            self._autocomplete = None

    def _keep(self, name: str, cache: object, forgotten: int) -> None:
        """Keep a cache built from events read when `forgotten` was the count of `forget_user` calls,
        unless one came since: those events may hold the erased shopper's (used once, not kept)."""
        with self._forget_lock:
            if self._forgotten == forgotten:
                setattr(self, name, cache)

    def _current_bundle(self) -> Bundle | None:
        if not self._bundle_checked:
            self._bundle_checked = True
            try:
                self._bundle = load_current(self.workspace)
            except ShoprecError as exc:
                self._notice(f"search is not personalised by taste ({exc})")
        return self._bundle

    # ---------------------------------------------------------------- catalogue changes
    def upsert(self, items: pd.DataFrame) -> None:
        """Add or replace items in both indexes (only new or changed texts are embedded)."""
        self.lexical.upsert(items)
        self._changes += 1  # a semantic list kept from before (or during) the change is not used again
        if self.semantic is not None:
            self.semantic.upsert(items)
        self._changes += 1
        self._set_items(pd.concat([self._items, items], ignore_index=True))
        self._autocomplete = None

    def delete(self, item_ids: Sequence[str]) -> None:
        """Remove items from both indexes."""
        self.lexical.delete(list(item_ids))
        self._changes += 1
        if self.semantic is not None:
            self.semantic.delete(list(item_ids))
        self._changes += 1
        self._set_items(self._items[~self._items[S.ITEM_ID].astype(str).isin([str(i) for i in item_ids])])
        self._autocomplete = None

    def autocomplete(self, prefix: str, k: int = 10) -> list[dict[str, str]]:
        """Suggestions for a partly typed query ([{"text", "kind"}]), from the search package's
        Autocomplete over the store (built on first use)."""
        suggestions = self._autocomplete
        if suggestions is None:
            forgotten = self._forgotten
            suggestions = Autocomplete.from_store(self.workspace)
            self._keep("_autocomplete", suggestions, forgotten)
        return suggestions.suggest(prefix, k)


def deep_hint() -> str:
    return "pip install 'shoprec[deep]'"


def tiered(merge: Callable[[int], Scored], n: int, base: int) -> Scored:
    """The first `n` of a ranking that merges each engine's top `depth`, made deterministic across
    depths: positions 1..base come from the merge at depth `base`, positions base+1..2*base from the
    merge at 2*base (less what the first tier holds), and so on, doubling. A merge over deeper
    lists can put an item above one it ranked lower over shallower lists (a candidate found only
    deeper in both lists), so asking for page 1 and then page 12 would otherwise show one ranking
    and then another: items repeated or never shown. The first tier is what a page within the
    first `base` results always got."""
    out: Scored = []
    seen: set[str] = set()
    depth = max(1, base)
    while True:
        merged = merge(depth)
        for item, score in merged:
            if len(out) >= depth:
                break
            if item not in seen:
                seen.add(item)
                out.append((item, score))
        if len(out) >= n or len(merged) < depth or len(out) < depth:  # enough, or nothing deeper to find
            return out[:n]
        depth *= 2


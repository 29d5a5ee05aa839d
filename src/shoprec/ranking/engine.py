"""RecommendationEngine: the answer a shop shows, from the current bundle and the store as it is now.

One request runs: the shopper's history read from the store (real time: an event posted a
moment ago counts) -> the bundle's default model (a fusion entry or a single model) over the
items that may be shown (listed, in stock, matching the filters, not excluded) -> diversity ->
explanations. A fallback chain fills any list the personal stage leaves short, so no request
gets an empty or short list while eligible items exist:

    personal -> item-to-item from the last item -> popular in the shopper's categories -> popular

"popular" is context-aware (`ContextPopularity`: recent, by daypart and weekday/weekend), and is
all a shopper with no history gets. The service and `shoprec recommend` both call this class.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shoprec.bundle import Bundle, load_current
from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.store import Store
from shoprec.errors import ConfigError, ShoprecError
from shoprec.models.base import Recommender, top_k
from shoprec.models.ranked import RankedList
from shoprec.ranking.catalogue import Catalogue
from shoprec.ranking.cold_start import ContextPopularity
from shoprec.ranking.explain import Explainer, Reason, likeness, model_reasons, reason_text
from shoprec.ranking.filters import ItemFilters
from shoprec.ranking.fused import FusionRecommender, request_times
from shoprec.ranking.limits import MAX_K
from shoprec.ranking.neighbour_cache import NeighbourCache
from shoprec.ranking.rules import RuleSettings, diversify, excluded
from shoprec.recommending import append_views, history_of
from shoprec.retrieval.ann import AnnIndex, retrieve
from shoprec.retrieval.indexes import load_indexes

CONTEXT_POPULARITY = "context_popularity"
SIMILAR_ITEMS = "similar_items"
# Item-to-item models, best first: "similar items", "because you viewed", the fallback's and the
# explanations' notion of "similar". similar_items (co-occurrence blended with content by how much
# behaviour the item has; every bundle `shoprec train` writes has it) first.
SIMILARITY_PREFERENCE = (SIMILAR_ITEMS, "itemknn", "itemknn_bm25", "ease", "content", "ials", "puresvd", "bpr", "two_tower")
STAGES = ("personal", "item-to-item", "popular-in-your-categories", "popular")


@dataclass(frozen=True)
class Recommendation:
    """One item to show, with the catalogue fields a page needs and why it is there."""

    item_id: str
    score: float
    title: str | None
    category: str | None
    brand: str | None
    price: float | None
    source: str  # the stage of the fallback chain that chose it (STAGES)
    reasons: list[Reason] = field(default_factory=list)


class RecommendationEngine:
    """Recommendations, similar items and "because you viewed" for one bundle over one store."""

    def __init__(self, store: Store | None, bundle: Bundle, rules: RuleSettings | None = None, *,
                 items: pd.DataFrame | None = None, indexes: Mapping[str, AnnIndex] | None = None) -> None:
        """`items`: the catalogue (default: the store's); `indexes`: ANN indexes by model (default:
        the bundle's). Without a store, only `lists` and `similar` answer (no history to read)."""
        self.store = store
        self.bundle = bundle
        self.rules = rules or RuleSettings()
        if items is None:
            if store is None:
                raise ConfigError("an engine without a store needs the catalogue's items")
            items = store.items()
        self.catalogue = Catalogue.build(items, bundle.item_ids)
        popularity = bundle.models.get(CONTEXT_POPULARITY)
        self.popularity = popularity if isinstance(popularity, ContextPopularity) else None
        self.similarity_name = next((n for n in SIMILARITY_PREFERENCE if n in bundle.models), None)
        self.similarity = bundle.models.get(self.similarity_name) if self.similarity_name else None
        self.neighbours = NeighbourCache()  # the similarity model's answers per item (shopper-independent)
        # Embedding models of a large catalogue answer from their ANN index (shoprec.retrieval).
        self.indexes: dict[str, AnnIndex] = dict(load_indexes(bundle) if indexes is None else indexes)
        self._exact: set[str] = set()

    @classmethod
    def offline(cls, models: Mapping[str, Recommender], dataset: Dataset,
                rules: RuleSettings | None = None) -> RecommendationEngine:
        """An engine over models fitted on `dataset`, with `dataset`'s catalogue and the cold-start
        popularity every bundle holds (fitted here when `models` lacks it), scoring exactly (no ANN
        index) and reading no store: what `shoprec evaluate` measures through (`lists`)."""
        entries = dict(models)
        if CONTEXT_POPULARITY not in entries:
            entries[CONTEXT_POPULARITY] = ContextPopularity().fit(dataset)
        bundle = Bundle(Path("offline"), {"version": "offline", "default_model": next(iter(models))},
                        dataset.item_ids, entries)
        return cls(None, bundle, rules, items=dataset.items, indexes={})

    @classmethod
    def open(cls, workspace: Path, store: Store, bundle: Bundle | None = None,
             rules: RuleSettings | None = None) -> RecommendationEngine:
        """An engine over `bundle` (default: the workspace's current bundle)."""
        return cls(store, bundle or load_current(workspace), rules)

    def set_retrieval(self, model: str, mode: str) -> bool:
        """Serve `model` by "exact" scoring of every item or from its "ann" index; returns False
        when it has no index (so "ann" is not possible)."""
        if mode not in ("exact", "ann"):
            raise ConfigError(f"retrieval mode must be 'exact' or 'ann', got {mode!r}")
        if mode == "exact":
            self._exact.add(model)
            return True
        self._exact.discard(model)
        return model in self.indexes

    def _indexes_in_use(self) -> dict[str, AnnIndex]:
        """The ANN indexes of the models not switched to exact scoring."""
        return {name: index for name, index in self.indexes.items() if name not in self._exact}

    def refresh_catalogue(self) -> None:
        """Re-read the store's items: new prices and stock, deleted items (never recommended again)."""
        self.catalogue = Catalogue.build(self._require_store().items(), self.bundle.item_ids)

    # ----------------------------------------------------------------- requests
    def recommend(self, user_id: str, k: int = 10, *, filters: ItemFilters | None = None, explain: bool = False,
                  model: str | None = None, history_items: Sequence[str] | None = None,
                  now_ms: int | None = None) -> list[Recommendation]:
        """The top `k` for `user_id` (unknown users welcome), best first.

        `history_items` are views appended to the stored history (a shopper the store does not
        know, answered from a few item ids); `model` overrides the bundle's default model.
        """
        _check_k(k)
        name = self._entry(model)
        history = history_of(self._require_store(), self.bundle, user_id)
        if history_items:
            history = append_views(self.bundle, history, list(history_items))
        now = _now(history, now_ms)
        allowed = self.catalogue.eligible(filters, self.rules.in_stock_only)
        for items in excluded(history, self.rules.exclude_event_types):
            allowed[items[items < len(allowed)]] = False
        chosen: list[tuple[int, float, str, dict[str, float]]] = []
        if len(history.items):
            chosen += self._personal(self.bundle.models[name], name, history, k, allowed, now, explain)
        return self._answer(self._complete(chosen, history, now, allowed, k), history if explain else None)

    def lists(self, histories: Histories, k: int, *, model: str | None = None, now_ms: np.ndarray | None = None,
              filters: ItemFilters | None = None) -> list[RankedList]:
        """What `recommend` answers for each of a batch of histories (given, not read from the store;
        request times `now_ms`), as ranked item indices: the personal stage for the whole batch at
        once, then each user's diversity rule and fallback chain. No explanations.
        `shoprec evaluate` measures the engine through this (docs/evaluation.md, "Stages")."""
        _check_k(k)
        name = self._entry(model)
        scorer = self.bundle.models[name]
        now = request_times(histories, now_ms)
        eligible = self.catalogue.eligible(filters, self.rules.in_stock_only)
        blocked = np.flatnonzero(~eligible)
        own = excluded(histories, self.rules.exclude_event_types)
        pool = k if self.rules.diversity == "none" else min(MAX_K, 3 * k)
        warm = np.flatnonzero(np.diff(histories.indptr) > 0)
        personal: dict[int, RankedList] = {}
        if len(warm):
            batch, exclude = histories.select(warm), [own[u] for u in warm]
            if isinstance(scorer, FusionRecommender):
                answers = [a.ranked for a in scorer.rank(batch, pool, exclude=exclude, allowed=eligible,
                                                           now_ms=now[warm], explain=False)]
            else:
                answers = scorer.recommend(batch, pool, exclude=[np.union1d(e, blocked) for e in exclude],
                                           now_ms=now[warm])
            personal = dict(zip(warm.tolist(), answers, strict=True))
        out = []
        for u in range(len(histories)):
            allowed = eligible.copy()
            allowed[own[u][own[u] < len(allowed)]] = False
            chosen: list[tuple[int, float, str, dict[str, float]]] = []
            if u in personal:
                diverse = diversify(personal[u], self.catalogue.category_codes, k, self.rules)
                chosen = [(int(i), float(s), "personal", {}) for i, s in zip(diverse.items, diverse.scores, strict=True)]
            chosen = self._complete(chosen, histories.select(np.array([u])), int(now[u]), allowed, k)
            out.append(RankedList(np.array([c[0] for c in chosen], dtype=np.int64),
                                  np.array([c[1] for c in chosen], dtype=np.float64)))
        return out

    def _entry(self, model: str | None) -> str:
        """The bundle entry to answer with: `model`, or the bundle's default; a clear error for another name."""
        name = model or self.bundle.default_model
        if name not in self.bundle.models:
            raise ConfigError(f"model '{name}' is not in bundle {self.bundle.version}; it has {', '.join(self.bundle.models)}")
        return name

    def _require_store(self) -> Store:
        if self.store is None:
            raise ConfigError("this engine reads no store (RecommendationEngine.offline): give histories to `lists`")
        return self.store

    def _complete(self, chosen: list[tuple[int, float, str, dict[str, float]]], history: Histories, now: int,
                  allowed: np.ndarray, k: int) -> list[tuple[int, float, str, dict[str, float]]]:
        """`chosen` filled up to `k` by the fallback chain (computed only as far as needed)."""
        if len(chosen) < k:
            for stage, scores in self._fallbacks(history, now):
                chosen += _fill(scores, allowed, {c[0] for c in chosen}, k - len(chosen), stage)
                if len(chosen) >= k:
                    break
        return chosen[:k]

    def similar(self, item_id: str, k: int = 10, *, explain: bool = False) -> list[Recommendation]:
        """Items like `item_id` (from the item-to-item model; popular items of its category fill in)."""
        _check_k(k)
        index = self.bundle.item_ids.index(str(item_id))
        if index is None:
            raise ShoprecError(f"item {item_id!r} is not in bundle {self.bundle.version} (added after training?)")
        allowed = self.catalogue.eligible(None, self.rules.in_stock_only)
        allowed[index] = False
        single = _views(np.array([index]), 0)
        chosen: list[tuple[int, float, str, dict[str, float]]] = []
        if self.similarity is not None:
            chosen += self._neighbours(index, single, allowed, k)
            if explain:
                chosen = self._similarity_terms(chosen, single)
        for stage in ("popular-in-your-categories", "popular"):  # computed only when needed
            if len(chosen) >= k:
                break
            scores = self._popular(_clock())
            if stage == "popular-in-your-categories":
                scores = np.where(self.catalogue.category_codes == self.catalogue.category_codes[index], scores, -np.inf)
            chosen += _fill(scores, allowed, {c[0] for c in chosen}, k - len(chosen), stage)
        recs = self._answer(chosen[:k], single if explain else None)
        return [self._with_likeness(rec, index, item) for rec, (item, *_) in zip(recs, chosen[:k], strict=True)] if explain else recs

    def _neighbours(self, index: int, single: Histories, allowed: np.ndarray, k: int) -> list[tuple[int, float, str, dict[str, float]]]:
        """The item-to-item model's best `k` allowed items for `index`, from the neighbour cache
        when it holds enough (ranking/neighbour_cache.py), else scored in full."""
        name = str(self.similarity_name)
        found = self.neighbours.get(name, index)
        picked = None if found is None else self.neighbours.pick(found, allowed, k)
        if picked is None:
            assert self.similarity is not None
            scores = self.similarity.score(single)[0]
            picked = self.neighbours.pick(self.neighbours.best(name, index, scores), allowed, k)
            if picked is None:  # more than the cache keeps: the full row
                return _fill(scores, allowed, set(), k, "item-to-item", name)
        return [(item, score, "item-to-item", {name: score}) for item, score in picked]

    def _similarity_terms(self, chosen: list[tuple[int, float, str, dict[str, float]]],
                          single: Histories) -> list[tuple[int, float, str, dict[str, float]]]:
        """The item-to-item entries' parts as the similarity model's terms, where it has them
        (similar_items: co-occurrence and content), for the explanations."""
        terms = getattr(self.similarity, "parts", None)
        if terms is None or not chosen:
            return chosen
        parts = terms(single, np.array([c[0] for c in chosen], dtype=np.int64))
        return [(item, score, stage, {name: float(values[0, j]) for name, values in parts.items()})
                for j, (item, score, stage, _) in enumerate(chosen)]

    def _with_likeness(self, rec: Recommendation, anchor: int, item: int) -> Recommendation:
        """The content term's reason, saying what `item` has in common with `anchor`."""
        facts = likeness(self.catalogue, anchor, item)
        if not facts:
            return rec
        reasons = [replace(r, text=reason_text(r.model, r.contribution, ", ".join(facts)))
                   if r.model == "similar_items.content" else r for r in rec.reasons]
        return replace(rec, reasons=reasons)

    def because_you_viewed(self, user_id: str, k: int = 10, *, besides: Collection[str] = ()) -> tuple[str | None, list[Recommendation]]:
        """The shopper's most recent item still in the bundle (other than those in `besides`: an item
        page's own item, which its "similar items" answer already), and items similar to it they
        have not had."""
        history = history_of(self._require_store(), self.bundle, user_id)
        skip = {i for i in (self.bundle.item_ids.index(str(b)) for b in besides) if i is not None}
        keep = ~np.isin(history.items, list(skip)) if skip else np.ones(len(history.items), dtype=bool)
        if not keep.any():
            return None, []
        latest = np.flatnonzero(keep)[np.argmax(history.timestamps[keep])]
        anchor = str(self.bundle.item_ids.id_of([int(history.items[latest])])[0])
        had = set(self.bundle.item_ids.id_of(np.unique(history.items)).tolist())
        similar = [r for r in self.similar(anchor, min(MAX_K, k + len(had))) if r.item_id not in had]
        return anchor, similar[:k]

    # ----------------------------------------------------------------- stages
    def _personal(self, model: Recommender, name: str, history: Histories, k: int, allowed: np.ndarray,
                  now: int, explain: bool) -> list[tuple[int, float, str, dict[str, float]]]:
        pool = k if self.rules.diversity == "none" else min(MAX_K, 3 * k)
        indexes = self._indexes_in_use()
        if isinstance(model, FusionRecommender):
            answer = model.rank(history, pool, allowed=allowed, now_ms=np.array([now]), explain=explain, indexes=indexes)[0]
            ranked, parts = answer.ranked, answer.contributions
        elif name in indexes:
            ranked = retrieve(model, history, pool, allowed=allowed, index=indexes[name])[0]  # type: ignore[arg-type]
            parts = [{name: float(s)} for s in ranked.scores]
        else:
            scores = model.score(history)[0].astype(np.float32)  # one row; masking it beats a candidate list
            np.copyto(scores, -np.inf, where=~allowed)  # faster than boolean-index assignment
            np.copyto(scores, -np.inf, where=np.isnan(scores))
            ranked = top_k(scores[None, :], np.arange(len(scores)), pool)[0]
            parts = [{name: float(s)} for s in ranked.scores]
        diverse = diversify(ranked, self.catalogue.category_codes, k, self.rules)
        part_of = dict(zip(ranked.items.tolist(), parts, strict=True)) if parts else {}
        return [(int(i), float(s), "personal", part_of.get(int(i), {})) for i, s in zip(diverse.items, diverse.scores, strict=True)]

    def _fallbacks(self, history: Histories, now: int) -> Iterator[tuple[str, np.ndarray]]:
        """(stage, scores over items) for each fallback, in order; computed only when reached."""
        if len(history.items) and self.similarity is not None:
            last = int(history.items[np.argmax(history.timestamps)])
            if 0 <= last < self.similarity.n_items_:
                yield "item-to-item", self.similarity.score(_views(np.array([last]), now))[0]
        popular = self._popular(now)
        if len(history.items):
            codes = self.catalogue.category_codes[history.items[(history.items >= 0) & (history.items < len(self.catalogue))]]
            mine = np.isin(self.catalogue.category_codes, codes[codes >= 0])
            yield "popular-in-your-categories", np.where(mine, popular, -np.inf)
        yield "popular", popular

    def _popular(self, now: int) -> np.ndarray:
        if self.popularity is not None:
            return self.popularity.scores_at(now)
        if "popularity" in self.bundle.models:
            return self.bundle.models["popularity"].score(Histories.empty())[0]
        return np.zeros(len(self.catalogue))  # ties: the lower item index first, still a full list

    # ----------------------------------------------------------------- answers
    def _answer(self, chosen: list[tuple[int, float, str, dict[str, float]]],
                history: Histories | None) -> list[Recommendation]:
        items = np.array([c[0] for c in chosen], dtype=np.int64)
        sentences: list[list[Reason]] = [[] for _ in chosen]
        if history is not None and len(items):
            last_week = None if self.popularity is None else self.popularity.last_week_
            sentences = Explainer(self.catalogue, self.similarity, self.similarity_name, last_week).sentences(history, items)
        c = self.catalogue
        ids = c.item_ids.id_of(items)
        out = []
        for (item, score, stage, parts), human, item_id in zip(chosen, sentences, ids, strict=True):
            reasons = [*human, *model_reasons(parts)] if history is not None else []
            if history is not None and not reasons:
                reasons = [Reason(CONTEXT_POPULARITY if stage == "popular" else None, 1.0, _STAGE_TEXT[stage])]
            out.append(Recommendation(
                item_id=str(item_id), score=round(float(score), 6),
                title=_str(c.field(S.TITLE, item)), category=_str(c.field(S.CATEGORY, item)),
                brand=_str(c.field(S.BRAND, item)), price=_float(c.field(S.PRICE, item)), source=stage, reasons=reasons))
        return out


_STAGE_TEXT = {
    "personal": "picked for you",
    "item-to-item": "similar to the item you looked at last",
    "popular-in-your-categories": "popular in categories you shop",
    "popular": "popular right now",
}


def _fill(scores: np.ndarray, allowed: np.ndarray, taken: set[int], n: int, stage: str,
          model: str | None = None) -> list[tuple[int, float, str, dict[str, float]]]:
    """The best `n` allowed, finite, not yet taken items of `scores` (ties: lower index)."""
    usable = allowed.copy()
    usable[list(taken)] = False
    usable &= np.isfinite(scores)
    masked = np.where(usable, scores, -np.inf)
    order = top_k(masked[None, :], np.arange(len(masked)), n)[0].items
    return [(int(i), float(scores[i]), stage, {model: float(scores[i])} if model else {}) for i in order]


def _views(items: np.ndarray, now: int) -> Histories:
    return Histories(indptr=np.array([0, len(items)], dtype=np.int64), items=items.astype(np.int32),
                     event_types=np.full(len(items), S.EVENT_TYPE_CODE[S.EventType.VIEW.value], dtype=np.int8),
                     timestamps=np.full(len(items), now, dtype=np.int64), values=np.full(len(items), np.nan, dtype=np.float32))


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ConfigError(f"k must be between 1 and {MAX_K}, got {k}")


def _clock() -> int:
    return int(pd.Timestamp.now(tz="UTC").value // 1_000_000)


def _now(history: Histories, now_ms: int | None) -> int:
    """The request time: given, else the wall clock (never before the user's latest event)."""
    now = _clock() if now_ms is None else int(now_ms)
    return max(now, int(history.timestamps.max())) if len(history.timestamps) and now_ms is None else now


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]

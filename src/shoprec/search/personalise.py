"""Personalised search: the top results re-ranked with the shopper's recommendation scores and
with what past searchers of the same query went on to click or buy.

For the first `depth` results of a query:

    score = (1 - w) * relevance' + w * personal' + v * clicks'

relevance' is the engine's score as a share of the best one (min-max for scores that can be
negative, see `relevance_share`), personal' the bundle's
default model's score for the shopper's history (read from the store at request time, so a
click a second ago already counts), min-max normalised over the re-ranked items, and clicks'
log(1 + n) / log(1 + max n), n the times a search for the same query (lowercase words) was
followed within `window_seconds` by a click, cart or purchase of the item by the same shopper.

Big relevance gaps are never undone: an item ahead by more than (w + v) / (1 - w) in relevance'
stays ahead, whatever the shopper's taste (the defaults, w = 0.2, v = 0.1, keep every lead over
0.375 of the best score). Min-max would not do: it stretches a near tie over the whole range. The defaults were chosen on the synthetic shop's search-then-click sessions by
`tune_weights` (see docs/search.md, "Personalised search").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from shoprec.bundle import Bundle
from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.data.store import Store
from shoprec.errors import ConfigError, ShoprecError
from shoprec.ranking.fusion import normalise
from shoprec.recommending import history_of
from shoprec.search.scored import Scored
from shoprec.search.text import words

TARGET_EVENTS = (S.EventType.CLICK.value, S.EventType.ADD_TO_CART.value, S.EventType.PURCHASE.value)
COUNT = "count"


@dataclass(frozen=True)
class PersonalSettings:
    """`weight` (w) of the shopper's taste, `click_weight` (v) of the query's past clicks, how
    many top results are re-ranked, and how soon after a search a click counts for it."""

    weight: float = 0.2
    click_weight: float = 0.1
    depth: int = 50
    window_seconds: int = 600

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight < 1.0:
            raise ConfigError(f"weight must be in [0, 1), got {self.weight}")
        if self.click_weight < 0:
            raise ConfigError(f"click_weight must be >= 0, got {self.click_weight}")
        if self.depth < 1 or self.window_seconds < 1:
            raise ConfigError(f"depth and window_seconds must be at least 1, got {self.depth} and {self.window_seconds}")

    @property
    def protected_gap(self) -> float:
        """A normalised relevance lead larger than this is never overturned."""
        return (self.weight + self.click_weight) / (1.0 - self.weight)


def query_key(query: str) -> str:
    """How queries are matched to past searches: their lowercase words joined by one space."""
    return " ".join(words(query or ""))


def searches_followed_by_clicks(events: pd.DataFrame, window_seconds: int = 600) -> pd.DataFrame:
    """One row per click, cart or purchase that followed a search by the same shopper within the
    window: user, query (as `query_key`), item, and the search's timestamp.

    The latest search before the click is the one credited (a shopper who searched twice then
    clicked was answered by the second search).
    """
    columns = [S.USER_ID, S.QUERY, S.ITEM_ID, S.TIMESTAMP]
    if not len(events):
        return pd.DataFrame(columns=columns)
    frame = events[[S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TIMESTAMP, S.QUERY]].copy()
    frame[S.TIMESTAMP] = pd.to_datetime(frame[S.TIMESTAMP], utc=True).dt.as_unit("ms")
    frame[S.USER_ID] = frame[S.USER_ID].astype(str)
    is_search = (frame[S.EVENT_TYPE] == S.EventType.SEARCH.value) & frame[S.QUERY].notna()
    searches = frame[is_search][[S.USER_ID, S.TIMESTAMP, S.QUERY]].copy()
    searches[S.QUERY] = searches[S.QUERY].astype(str).map(query_key)
    searches = searches[searches[S.QUERY] != ""].rename(columns={S.TIMESTAMP: "searched_at"})
    targets = frame[frame[S.EVENT_TYPE].isin(TARGET_EVENTS)][[S.USER_ID, S.ITEM_ID, S.TIMESTAMP]]
    if not len(searches) or not len(targets):
        return pd.DataFrame(columns=columns)
    searches["at"] = searches["searched_at"]
    matched = pd.merge_asof(targets.sort_values(S.TIMESTAMP), searches.sort_values("at"), left_on=S.TIMESTAMP,
                            right_on="at", by=S.USER_ID, direction="backward",
                            tolerance=pd.Timedelta(seconds=window_seconds))
    matched = matched.dropna(subset=[S.QUERY])
    matched[S.ITEM_ID] = matched[S.ITEM_ID].astype(str)
    # A click, a cart and a purchase of one item after one search count once.
    matched = matched.drop_duplicates([S.USER_ID, "searched_at", S.ITEM_ID])
    return matched[[S.USER_ID, S.QUERY, S.ITEM_ID, "searched_at"]].rename(columns={"searched_at": S.TIMESTAMP}).reset_index(drop=True)


class QueryClicks:
    """How often each (query, item) search was followed by a click, cart or purchase."""

    def __init__(self, followed: pd.DataFrame) -> None:
        counts = followed.groupby([S.QUERY, S.ITEM_ID]).size() if len(followed) else pd.Series(dtype="int64")
        self._counts: dict[str, dict[str, int]] = {}
        for (query, item), n in zip(counts.index.tolist(), counts.tolist()):
            self._counts.setdefault(str(query), {})[str(item)] = int(n)

    @classmethod
    def from_events(cls, events: pd.DataFrame, window_seconds: int = 600) -> QueryClicks:
        """Counted from an event log."""
        return cls(searches_followed_by_clicks(events, window_seconds))

    def __len__(self) -> int:
        return sum(len(v) for v in self._counts.values())

    def counts(self, query: str, item_ids: Sequence[str]) -> np.ndarray:
        """The count of each item for this query (0 where none)."""
        known = self._counts.get(query_key(query), {})
        return np.array([known.get(str(i), 0) for i in item_ids], dtype=np.float64)


def personal_scores(model_score: Callable[[Histories, np.ndarray], np.ndarray], bundle: Bundle, history: Histories,
                    item_ids: Sequence[str]) -> np.ndarray:
    """The model's score of each item for one history (NaN for an item the bundle does not know)."""
    indices = bundle.item_ids.index_of(list(item_ids))
    out = np.full(len(indices), np.nan)
    known = indices >= 0
    if known.any():
        out[known] = model_score(history, indices[known])[0]
    return out


def shopper_scores(store: Store, bundle: Bundle, user_id: str, item_ids: Sequence[str]) -> np.ndarray:
    """The bundle's default model's scores of `item_ids` for the shopper's history as stored now."""
    model = bundle.models[bundle.default_model]
    return personal_scores(model.score, bundle, history_of(store, bundle, user_id), item_ids)


def rerank(hits: Sequence[tuple[str, float]], personal: np.ndarray | None, clicks: np.ndarray | None,
           settings: PersonalSettings | None = None) -> Scored:
    """`hits` (item id, relevance, best first) with the first `settings.depth` re-ranked by the
    blend in the module docstring; `personal` and `clicks` align with `hits` (None: no signal,
    NaN personal: unknown item, scored as the least liked). The rest keep their order after them."""
    settings = settings or PersonalSettings()
    hits = list(hits)
    if not hits:
        return []
    depth = min(settings.depth, len(hits))
    relevance = relevance_share(np.array([s for _, s in hits], dtype=np.float64))
    combined = (1.0 - settings.weight) * relevance
    head = combined[:depth].copy()
    if personal is not None and settings.weight > 0:
        taste = np.asarray(personal, dtype=np.float64)[:depth]
        if np.isfinite(taste).any():
            taste = np.nan_to_num(taste, nan=np.nanmin(taste))
            head += settings.weight * normalise(taste, "minmax")
    if clicks is not None and settings.click_weight > 0:
        counts = np.asarray(clicks, dtype=np.float64)[:depth]
        if counts.max(initial=0) > 0:
            head += settings.click_weight * np.log1p(counts) / np.log1p(counts.max())
    order = np.argsort(-head, kind="stable")  # stable: equal scores keep the engine's order
    top = [(hits[i][0], float(head[i])) for i in order]
    return top + [(item, float(score)) for (item, _), score in zip(hits[depth:], combined[depth:])]


def relevance_share(scores: np.ndarray) -> np.ndarray:
    """Scores on 0..1 for the blend: the share of the best score when none is negative (BM25,
    cosine, fusion scores), so that a near tie stays a near tie; min-max otherwise (a learned
    ranker's scores may be negative)."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) and scores.min() >= 0:
        top = scores.max()
        return scores / top if top > 0 else np.ones(len(scores))
    return normalise(scores, "minmax")


@dataclass(frozen=True)
class WeightTuning:
    """The weights chosen on search sessions and the mean NDCG of each pair tried."""

    settings: PersonalSettings
    table: pd.DataFrame  # weight, click_weight, ndcg


def tune_weights(cases: pd.DataFrame, search: Callable[[str], Sequence[tuple[str, float]]],
                 personal: Callable[[str, int, list[str]], np.ndarray], clicks: QueryClicks | None,
                 base: PersonalSettings | None = None, *, weights: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7),
                 click_weights: Sequence[float] = (0.0, 0.1, 0.3), k: int = 10) -> WeightTuning:
    """Choose (w, v) maximising the mean NDCG@k of the item the shopper went on to click.

    `cases` has one row per search followed by a click (searches_followed_by_clicks);
    `personal(user, search_time_ms, item_ids)` scores items from the history before the search
    (so that the click itself is never seen). Ties go to the smaller weights.
    """
    if not len(cases):
        raise ShoprecError("tuning personal search needs searches followed by clicks")
    base = base or PersonalSettings()
    prepared = []
    for user, query, target, at in zip(cases[S.USER_ID], cases[S.QUERY], cases[S.ITEM_ID], cases[S.TIMESTAMP]):
        hits = list(search(str(query)))[: base.depth]
        ids = [i for i, _ in hits]
        if str(target) not in ids:
            continue  # no weight can bring it in: the same for every setting
        time_ms = int(pd.Timestamp(at).value // 1_000_000)
        prepared.append((hits, personal(str(user), time_ms, ids), clicks.counts(str(query), ids) if clicks else None,
                         str(target)))
    rows = []
    for w in weights:
        for v in click_weights:
            trial = replace(base, weight=float(w), click_weight=float(v))
            gains = [_target_gain(rerank(h, p, c, trial), t, k) for h, p, c, t in prepared]
            rows.append((float(w), float(v), float(np.mean(gains)) if gains else 0.0))
    table = pd.DataFrame(rows, columns=["weight", "click_weight", "ndcg"])
    best = table.sort_values(["ndcg", "weight", "click_weight"], ascending=[False, True, True], kind="stable").iloc[0]
    return WeightTuning(replace(base, weight=float(best["weight"]), click_weight=float(best["click_weight"])), table)


def _target_gain(ranked: Scored, target: str, k: int) -> float:
    """NDCG@k with one relevant item: 1 / log2(rank + 1) when it is in the first k."""
    for rank, (item, _) in enumerate(ranked[:k], start=1):
        if item == target:
            return float(1.0 / np.log2(rank + 1))
    return 0.0


def history_before(history: Histories, time_ms: int) -> Histories:
    """A one-user history cut to the events strictly before `time_ms`."""
    keep = history.timestamps < time_ms
    return Histories(indptr=np.array([0, int(keep.sum())], dtype=np.int64), items=history.items[keep],
                     event_types=history.event_types[keep], timestamps=history.timestamps[keep],
                     values=history.values[keep])

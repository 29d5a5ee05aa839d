"""Item-to-item evaluation: given the item a shopper is looking at, does a model rank the item
they went to next? This measures the "similar items" shelf, which the user protocol
(shoprec.evaluation.runner) cannot: there a model reads a whole history, here one item.

Protocol (docs/evaluation.md, "Item-to-item"):

- pairs come from the test side of a split (temporal, so the model never saw them): each
  shopper's test events of the interest types, in sessions (cut by `gap_minutes` of inactivity,
  and where the dataset's session id changes), consecutive repeats of one item collapsed; each
  item and the next different item form a pair (current -> next);
- a pair is kept when both items are in the train side's item index; repeats of one pair by one
  shopper count once (a shopper bouncing between two items is one signal, not many); above
  `max_pairs`, a seeded sample;
- each model scores a one-item history (a view of the current item at its time), the current
  item masked out, and is measured on its top k with the next item as the one relevant item;
- results are also split by how many distinct shoppers the current item had in train, because
  co-occurrence can only know well-observed items and content must carry the thin ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shoprec import progress
from shoprec.atomic import write_atomic
from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.errors import ConfigError, ShoprecError
from shoprec.evaluation.metrics import accuracy_per_user, catalogue_coverage, item_categories, item_matrix
from shoprec.evaluation.runner import DEFAULT_TARGET_EVENT_TYPES, MAX_BATCH_CELLS, dataset_counts, json_safe
from shoprec.evaluation.splits import MS_PER_MINUTE, Split
from shoprec.models.base import Recommender, event_type_codes

DEFAULT_GAP_MINUTES = 30.0
DEFAULT_MAX_PAIRS = 20_000
DEFAULT_SEED = 42
BATCH_ROWS = 512
# Lower edges of the buckets of the current item's distinct train shoppers: 0, 1-4, 5-19, 20+.
BUCKET_EDGES = (0, 1, 5, 20)
ITEM_METRICS = ("hit_rate", "ndcg", "mrr")
VIEW = S.EVENT_TYPE_CODE[S.EventType.VIEW.value]


@dataclass(frozen=True)
class ItemPairs:
    """Pairs (current -> next) in train-side item indices, with their shopper and the current event's time."""

    users: np.ndarray  # int64 user index of each pair (the test side's)
    current: np.ndarray  # int64
    next: np.ndarray  # int64
    times: np.ndarray  # int64 epoch ms of the last event on the current item before the move
    counts: dict[str, int]

    def __len__(self) -> int:
        return len(self.current)


@dataclass
class ItemToItemResult:
    """Per-model metrics overall and per bucket of the current item's train shoppers."""

    dataset: dict[str, Any]
    split: dict[str, Any]  # the split's info, the protocol's options and the pair counts
    ks: tuple[int, ...]
    results: dict[str, dict[str, float]]
    buckets: dict[str, dict[str, dict[str, float]]]  # model -> bucket label -> metric -> value
    bucket_pairs: dict[str, int]
    models: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """`{"protocol": "item-to-item", "dataset", "split", "results": {model: {"ndcg@10": ...}},
        "bucket_pairs": {label: n}, "buckets": {model: {label: {...}}}}`; NaN becomes null."""
        return json_safe({"protocol": "item-to-item", "dataset": self.dataset, "split": self.split,
                           "results": self.results, "bucket_pairs": self.bucket_pairs, "buckets": self.buckets})

    def write_json(self, path: Path) -> None:
        write_atomic(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")


# --------------------------------------------------------------------- pairs
def _train_index(split: Split, items: np.ndarray) -> np.ndarray:
    """Test-side item indices as train-side ones, -1 for an item the train side does not index.

    `make_split` shares one id map between the sides (the identity); a split built otherwise is
    translated by external id."""
    if split.test.item_ids is split.train.item_ids:
        mapped = items.astype(np.int64)
    else:
        mapped = split.train.item_ids.index_of(split.test.item_ids.id_of(items))
    return np.where((mapped >= 0) & (mapped < split.train.n_items), mapped, -1)


def build_pairs(split: Split, *, gap_minutes: float = DEFAULT_GAP_MINUTES, max_pairs: int = DEFAULT_MAX_PAIRS,
                seed: int = DEFAULT_SEED, event_types: Collection[str] | None = None) -> ItemPairs:
    """The protocol's (current -> next) pairs from `split.test` (module docstring).

    Sessions are cut over every test event (a search between two views keeps the session alive);
    only `event_types` (default: all but remove_from_cart, search and return) then make pairs.
    """
    if gap_minutes <= 0:
        raise ConfigError(f"gap_minutes must be > 0, got {gap_minutes}")
    if max_pairs < 1:
        raise ConfigError(f"max_pairs must be >= 1, got {max_pairs}")
    test = split.test
    types = DEFAULT_TARGET_EVENT_TYPES if event_types is None else tuple(event_types)
    keys = visit_keys(test, gap_minutes)
    keep = np.flatnonzero(np.isin(test.event_types, event_type_codes(types)))
    order = keep[np.lexsort((keep, test.timestamps[keep], keys[keep], test.event_users[keep]))]
    users, sessions = test.event_users[order].astype(np.int64), keys[order]
    items, times = test.event_items[order].astype(np.int64), test.timestamps[order]
    same_session = (users[1:] == users[:-1]) & (sessions[1:] == sessions[:-1])
    # A run of one item is one step: drop an event when the next event of its session is the same
    # item, so each step is represented by its last event (the moment the shopper moved on).
    last_of_run = np.ones(len(order), dtype=bool)
    last_of_run[:-1] = ~(same_session & (items[1:] == items[:-1]))
    users, sessions, items, times = users[last_of_run], sessions[last_of_run], items[last_of_run], times[last_of_run]
    step = np.flatnonzero((users[1:] == users[:-1]) & (sessions[1:] == sessions[:-1]))
    p_users, p_sessions, p_times = users[step], sessions[step], times[step]
    current, nxt = _train_index(split, items[step]), _train_index(split, items[step + 1])
    known = (current >= 0) & (nxt >= 0)
    counts = {"n_test_events": test.n_events, "n_interest_events": len(order), "n_steps": len(step),
              "n_unknown_item_pairs": int((~known).sum())}
    p_users, p_sessions, p_times, current, nxt = (a[known] for a in (p_users, p_sessions, p_times, current, nxt))
    # Repeats of one pair by one shopper count once: the first one in the shopper's time order stays.
    first = _first_of_each(p_users, current, nxt)
    counts["n_duplicate_pairs"] = len(current) - len(first)
    counts["n_candidate_pairs"] = len(first)
    if len(first) > max_pairs:
        first = np.sort(np.random.default_rng(seed).choice(first, size=max_pairs, replace=False))
    counts["n_sampled_out_pairs"] = counts["n_candidate_pairs"] - len(first)
    p_users, p_sessions, p_times, current, nxt = (a[first] for a in (p_users, p_sessions, p_times, current, nxt))
    counts.update(n_pairs=len(first), n_sessions=len(_first_of_each(p_users, p_sessions)),
                  n_shoppers=len(np.unique(p_users)), n_current_items=len(np.unique(current)))
    return ItemPairs(users=p_users, current=current, next=nxt, times=p_times, counts=counts)


def visit_keys(ds: Dataset, gap_minutes: float) -> np.ndarray:
    """A visit number per event: a shopper's events in time order, cut where the dataset's session
    id changes or more than `gap_minutes` pass between two events.

    Both cut: a source session can outlast a visit (a cookie kept for days), and a gap-made one
    cannot see a session change the shop recorded."""
    order = np.lexsort((np.arange(ds.n_events), ds.timestamps, ds.sessions, ds.event_users))
    users, sessions, times = ds.event_users[order], ds.sessions[order], ds.timestamps[order]
    new = np.ones(ds.n_events, dtype=bool)
    new[1:] = (users[1:] != users[:-1]) | (sessions[1:] != sessions[:-1]) | (np.diff(times) > gap_minutes * MS_PER_MINUTE)
    keys = np.empty(ds.n_events, dtype=np.int64)
    keys[order] = np.cumsum(new) - 1
    return keys


def _first_of_each(*columns: np.ndarray) -> np.ndarray:
    """Positions (ascending) of the first occurrence of each distinct row of the `columns`."""
    n = len(columns[0])
    order = np.lexsort((np.arange(n), *reversed(columns)))
    differs = np.zeros(n, dtype=bool)
    differs[:1] = True
    for column in columns:
        differs[1:] |= column[order][1:] != column[order][:-1]
    return np.sort(order[differs])


def no_pairs_reason(counts: Mapping[str, int]) -> str:
    """Why a split gave no pair, for the error a person reads."""
    if counts["n_test_events"] == 0:
        return "the test side holds no events"
    if counts["n_interest_events"] == 0:
        return "no test event is of an interest type (view, click, add_to_cart, purchase, ...)"
    if counts["n_steps"] == 0:
        return "no test session holds two different items in a row (a split with no session of two items?)"
    return (f"all {counts['n_steps']} test steps involve an item the train side does not index "
            f"({counts['n_unknown_item_pairs']} dropped)")


# --------------------------------------------------------------------- scoring and metrics
def one_item_histories(items: np.ndarray, times: np.ndarray) -> Histories:
    """One history per row, holding one view of `items[i]` at `times[i]`: what the item page asks with."""
    n = len(items)
    return Histories(indptr=np.arange(n + 1, dtype=np.int64), items=np.asarray(items, dtype=np.int32),
                     event_types=np.full(n, VIEW, dtype=np.int8), timestamps=np.asarray(times, dtype=np.int64),
                     values=np.full(n, np.nan, dtype=np.float32))


def rank_pairs(model: Recommender, pairs: ItemPairs, k: int, batch_rows: int = BATCH_ROWS, label: str = "") -> np.ndarray:
    """Pairs x k: the model's top k for each pair's current item (itself masked out), -1 padded."""
    n = len(pairs)
    batch = max(1, min(batch_rows, MAX_BATCH_CELLS // max(model.n_items_, 1)))
    out = np.full((n, k), -1, dtype=np.int64)
    with progress.task(f"{label}: ranking similar items", total=n, unit="pairs") as bar:
        for start in range(0, n, batch):
            rows = slice(start, min(start + batch, n))
            current = pairs.current[rows]
            lists = model.recommend(one_item_histories(current, pairs.times[rows]), k,
                                    exclude=[np.array([item]) for item in current])
            out[rows] = item_matrix(lists, k)
            bar.advance(len(current))
    return out


def same_category_share(items: np.ndarray, current: np.ndarray, k: int, categories: np.ndarray) -> float:
    """Mean over pairs of the share of their top k in the current item's category.

    Pairs whose current item has no category, or with an empty list, are left out (NaN if all are).
    """
    top = items[:, :k]
    valid = top >= 0
    anchor = categories[current]
    same = valid & (categories[np.where(valid, top, 0)] == anchor[:, None])
    rows = (anchor >= 0) & valid.any(axis=1)
    if not rows.any():
        return float("nan")
    return float(np.mean(same[rows].sum(axis=1) / valid[rows].sum(axis=1)))


def item_to_item_metrics(items: np.ndarray, pairs: ItemPairs, ks: Sequence[int], n_items: int,
                         categories: np.ndarray | None = None) -> dict[str, float]:
    """hit_rate, ndcg, mrr (one relevant item: hit rate is recall), coverage and, with
    `categories`, same_category at each k, averaged over pairs."""
    hits = (items == pairs.next[:, None]) & (items >= 0)
    out: dict[str, float] = {}
    for k in ks:
        per_pair = accuracy_per_user(hits, np.ones(len(items)), k) if len(items) else {}
        for name in ITEM_METRICS:
            out[f"{name}@{k}"] = float(per_pair[name].mean()) if len(items) else float("nan")
        out[f"coverage@{k}"] = catalogue_coverage(items, k, n_items)
        if categories is not None:
            out[f"same_category@{k}"] = same_category_share(items, pairs.current, k, categories)
    return out


def train_shoppers(train: Dataset, event_types: Collection[str] | None = None) -> np.ndarray:
    """Per item, the distinct shoppers with a train event of an interest type on it."""
    types = DEFAULT_TARGET_EVENT_TYPES if event_types is None else tuple(event_types)
    keep = np.isin(train.event_types, event_type_codes(types))
    pairs = np.unique(train.event_users[keep].astype(np.int64) * train.n_items + train.event_items[keep])
    return np.bincount(pairs % max(train.n_items, 1), minlength=train.n_items)


def bucket_labels(edges: Sequence[int] = BUCKET_EDGES) -> list[str]:
    """`(0, 1, 5, 20)` -> ["0", "1-4", "5-19", "20+"]."""
    labels = []
    for low, high in zip(edges, [*edges[1:], None]):
        labels.append(f"{low}+" if high is None else str(low) if high == low + 1 else f"{low}-{high - 1}")
    return labels


def bucket_of(shoppers: np.ndarray, edges: Sequence[int] = BUCKET_EDGES) -> np.ndarray:
    """The bucket index (into `bucket_labels(edges)`) of each shopper count."""
    if list(edges) != sorted(set(edges)) or edges[0] != 0:
        raise ConfigError(f"bucket edges must rise strictly from 0, got {list(edges)}")
    return np.searchsorted(np.asarray(edges), np.asarray(shoppers), side="right") - 1


# --------------------------------------------------------------------- the protocol
def evaluate_item_to_item(
    models: Mapping[str, Recommender],
    split: Split,
    ks: Sequence[int] = (10, 20),
    *,
    gap_minutes: float = DEFAULT_GAP_MINUTES,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = DEFAULT_SEED,
    event_types: Collection[str] | None = None,
    batch_rows: int = BATCH_ROWS,
    edges: Sequence[int] = BUCKET_EDGES,
    prefitted: Collection[str] = (),
    pairs: ItemPairs | None = None,
) -> ItemToItemResult:
    """Fit each model on `split.train` (those in `prefitted` are already) and measure it on the
    test side's pairs (module docstring; `pairs`: those `build_pairs` made of this split with these
    options, to skip making them again). ShoprecError when the split gives no pair."""
    ks = tuple(sorted({int(k) for k in ks}))
    if not ks or ks[0] < 1:
        raise ConfigError(f"ks must be one or more integers >= 1, got {list(ks)}")
    if pairs is None:
        pairs = build_pairs(split, gap_minutes=gap_minutes, max_pairs=max_pairs, seed=seed, event_types=event_types)
    if not len(pairs):
        raise ShoprecError(f"item-to-item evaluation has no test pairs: {no_pairs_reason(pairs.counts)}")
    train = split.train
    categories = item_categories(train)
    if not (categories >= 0).any():
        categories = None  # no category data: same_category is unmeasurable, left out
    labels = bucket_labels(edges)
    bucket = bucket_of(train_shoppers(train, event_types)[pairs.current], edges)
    results: dict[str, dict[str, float]] = {}
    buckets: dict[str, dict[str, dict[str, float]]] = {}
    for name, model in models.items():
        started = time.perf_counter()
        if name not in prefitted:
            model.fit(train)
        fitted = time.perf_counter()
        items = rank_pairs(model, pairs, ks[-1], batch_rows, name)
        results[name] = item_to_item_metrics(items, pairs, ks, train.n_items, categories)
        results[name].update(train_seconds=fitted - started, predict_seconds=time.perf_counter() - fitted)
        buckets[name] = {}
        for b, label in enumerate(labels):
            rows = bucket == b
            part = ItemPairs(pairs.users[rows], pairs.current[rows], pairs.next[rows], pairs.times[rows], {})
            measured = item_to_item_metrics(items[rows], part, ks, train.n_items)
            buckets[name][label] = {key: v for key, v in measured.items() if key.split("@")[0] in ITEM_METRICS}
    split_info = {**split.info, "protocol": "item-to-item", "gap_minutes": gap_minutes, "max_pairs": max_pairs,
                  "seed": seed, "event_types": list(DEFAULT_TARGET_EVENT_TYPES if event_types is None else event_types),
                  "bucket_edges": list(edges), "ks": list(ks), **pairs.counts}
    return ItemToItemResult(
        dataset=dataset_counts(split), split=split_info, ks=ks, results=results, buckets=buckets,
        bucket_pairs={label: int((bucket == b).sum()) for b, label in enumerate(labels)},
        models={name: repr(model) for name, model in models.items()},
    )

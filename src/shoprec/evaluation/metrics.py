"""Ranking metrics at K, per user and averaged over users. Definitions: docs/evaluation.md.

Accuracy metrics read a boolean hit matrix (users x K: is the item at rank r relevant?), so every
K up to the longest list comes from one pass. `relevant` is never empty (the runner skips users
with no relevant item). Lists shorter than K count their missing ranks as misses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.dataset import Dataset
from shoprec.models.ranked import RankedList

ACCURACY_METRICS = ("precision", "recall", "map", "ndcg", "mrr", "hit_rate")
BEYOND_ACCURACY_METRICS = ("coverage", "novelty", "diversity")
METRICS = ACCURACY_METRICS + BEYOND_ACCURACY_METRICS

ItemList: TypeAlias = np.ndarray | RankedList | Sequence[int]


# --------------------------------------------------------------------- shapes
def item_matrix(recommended: Sequence[ItemList] | np.ndarray, k: int) -> np.ndarray:
    """Users x k item indices, best first, padded with -1 where a list is shorter than k."""
    out = np.full((len(recommended), k), -1, dtype=np.int64)
    for u, ranked in enumerate(recommended):
        items = np.asarray(ranked.items if isinstance(ranked, RankedList) else ranked, dtype=np.int64)[:k]
        out[u, : len(items)] = items
    return out


def hit_matrix(recommended: Sequence[ItemList] | np.ndarray, relevant: Sequence[Iterable[int]], k: int) -> np.ndarray:
    """Users x k booleans: whether the item at each rank is in that user's relevant set."""
    items = item_matrix(recommended, k)
    rel = [np.unique(np.asarray(list(r), dtype=np.int64)) for r in relevant]
    if len(rel) != len(items):
        raise ValueError(f"need one relevant set per list ({len(items)}), got {len(rel)}")
    # One key per (user, item) so a single isin answers every user at once.
    base = max(int(items.max(initial=-1)), max((int(r.max(initial=-1)) for r in rel), default=-1)) + 1
    rel_keys = np.concatenate([u * base + r for u, r in enumerate(rel)] + [np.zeros(0, np.int64)])
    rec_keys = np.arange(len(items))[:, None] * base + items
    return np.isin(rec_keys, rel_keys) & (items >= 0)


# --------------------------------------------------------------------- accuracy
def accuracy_per_user(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Each accuracy metric at `k`, one value per user (rows of `hits`)."""
    n_relevant = np.asarray(n_relevant, dtype=np.float64)
    if np.any(n_relevant < 1):
        raise ValueError("every user needs at least one relevant item")
    if hits.shape[1] < k:
        hits = np.pad(hits, ((0, 0), (0, k - hits.shape[1])))  # missing ranks are misses
    top = hits[:, :k].astype(np.float64)
    ranks = np.arange(1, k + 1)
    n_hits = top.sum(axis=1)
    precision_at_rank = np.cumsum(top, axis=1) / ranks
    discount = 1.0 / np.log2(ranks + 1)
    ideal = np.cumsum(discount)[np.minimum(k, n_relevant).astype(np.int64) - 1]
    any_hit = n_hits > 0
    first_rank = np.argmax(top, axis=1) + 1
    return {
        "precision": n_hits / k,
        "recall": n_hits / n_relevant,
        "map": (precision_at_rank * top).sum(axis=1) / np.minimum(k, n_relevant),
        "ndcg": (top * discount).sum(axis=1) / ideal,
        "mrr": np.where(any_hit, 1.0 / first_rank, 0.0),
        "hit_rate": any_hit.astype(np.float64),
    }


def _one_user(metric: str, recommended: ItemList, relevant: Iterable[int], k: int) -> float:
    rel = np.unique(np.asarray(list(relevant), dtype=np.int64))
    hits = hit_matrix([recommended], [rel], k)
    return float(accuracy_per_user(hits, np.array([len(rel)]), k)[metric][0])


def precision_at_k(recommended: ItemList, relevant: Iterable[int], k: int) -> float:
    """Hits in the top k, over k."""
    return _one_user("precision", recommended, relevant, k)


def recall_at_k(recommended: ItemList, relevant: Iterable[int], k: int) -> float:
    """Hits in the top k, over the number of relevant items."""
    return _one_user("recall", recommended, relevant, k)


def average_precision_at_k(recommended: ItemList, relevant: Iterable[int], k: int) -> float:
    """Sum of precision@r at each hit rank r <= k, over min(k, number of relevant items)."""
    return _one_user("map", recommended, relevant, k)


def ndcg_at_k(recommended: ItemList, relevant: Iterable[int], k: int) -> float:
    """Binary-gain DCG (1 / log2(rank + 1) per hit) over the DCG of min(k, |relevant|) hits on top."""
    return _one_user("ndcg", recommended, relevant, k)


def reciprocal_rank_at_k(recommended: ItemList, relevant: Iterable[int], k: int) -> float:
    """1 / rank of the first hit within the top k, 0 without one."""
    return _one_user("mrr", recommended, relevant, k)


def hit_at_k(recommended: ItemList, relevant: Iterable[int], k: int) -> float:
    """1 when the top k hold at least one relevant item, else 0."""
    return _one_user("hit_rate", recommended, relevant, k)


# --------------------------------------------------------------------- beyond accuracy
def catalogue_coverage(items: np.ndarray, k: int, n_items: int) -> float:
    """Distinct items in any user's top k (`items`: an `item_matrix`), over the catalogue size."""
    top = items[:, :k]
    return len(np.unique(top[top >= 0])) / n_items if n_items else 0.0


def item_self_information(train: Dataset) -> np.ndarray:
    """Per item, -log2(p): p the share of training users (with any event) who interacted with it;
    an item no training user touched takes p = 1 / number of training users."""
    pairs = np.unique(train.event_users.astype(np.int64) * train.n_items + train.event_items)
    n_users = len(np.unique(train.event_users))
    if n_users == 0:
        return np.zeros(train.n_items)
    users_per_item = np.bincount(pairs % train.n_items, minlength=train.n_items)
    return -np.log2(np.maximum(users_per_item, 1) / n_users)


def novelty(items: np.ndarray, k: int, self_information: np.ndarray) -> float:
    """Mean over users (with a non-empty list) of the mean self-information of their top k."""
    top = items[:, :k]
    valid = top >= 0
    length = valid.sum(axis=1)
    info = np.where(valid, self_information[np.where(valid, top, 0)], 0.0).sum(axis=1)
    users = length > 0
    return float(np.mean(info[users] / length[users])) if users.any() else float("nan")


def item_categories(dataset: Dataset, depth: int | None = None) -> np.ndarray:
    """An integer category code per item (-1 for none), from the full path or its first `depth` levels."""
    paths = dataset.items[S.CATEGORY]
    paths = paths.mask(paths == "")  # an empty path is no category
    if depth is not None:
        paths = paths.map(lambda p: S.CATEGORY_SEPARATOR.join(S.category_levels(p)[:depth]) or None, na_action="ignore")
    return pd.factorize(paths, use_na_sentinel=True)[0].astype(np.int64)


def intra_list_diversity(items: np.ndarray, k: int, categories: np.ndarray) -> float:
    """Mean over users of the share of item pairs in their top k whose categories differ.

    Lists with fewer than 2 items are skipped; items without a category count as one category
    of their own ("none"). NaN when no list has 2 items.
    """
    top = items[:, :k]
    valid = top >= 0
    length = valid.sum(axis=1)
    users = np.nonzero(length >= 2)[0]
    if not len(users):
        return float("nan")
    rows = np.repeat(np.arange(len(top)), length)
    cats = categories[top[valid]] + 1  # -1 (none) becomes 0, a category like any other
    # Pairs sharing a category = sum over categories of C(count, 2); the rest differ.
    groups, counts = np.unique(np.stack([rows, cats]), axis=1, return_counts=True)
    same = np.bincount(groups[0], weights=counts * (counts - 1) / 2, minlength=len(top))
    pairs = length * (length - 1) / 2
    return float(np.mean(1.0 - same[users] / pairs[users]))


# --------------------------------------------------------------------- everything at once
def evaluate_lists(
    recommended: Sequence[ItemList],
    relevant: Sequence[Iterable[int]],
    ks: Sequence[int],
    *,
    n_items: int,
    self_information: np.ndarray | None = None,
    categories: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric at every k, averaged over users: keys like `ndcg@10`.

    Novelty needs `self_information`, diversity `categories`; without them those are left out.
    """
    max_k = max(ks)
    items = item_matrix(recommended, max_k)
    hits = hit_matrix(items, relevant, max_k)
    n_relevant = np.array([len(np.unique(np.asarray(list(r)))) for r in relevant])
    out: dict[str, float] = {}
    for k in ks:
        per_user = accuracy_per_user(hits, n_relevant, k) if len(items) else {}
        for name in ACCURACY_METRICS:
            out[f"{name}@{k}"] = float(per_user[name].mean()) if len(items) else float("nan")
        out[f"coverage@{k}"] = catalogue_coverage(items, k, n_items)
        if self_information is not None:
            out[f"novelty@{k}"] = novelty(items, k, self_information)
        if categories is not None:
            out[f"diversity@{k}"] = intra_list_diversity(items, k, categories)
    return out

"""Business rules applied after fusion: what a shopper must not be shown, and how varied a list is.

- exclusion of items the shopper already has, per event type (by default anything they
  interacted with; a shop of consumables may exclude only purchases, or nothing);
- stock and catalogue filters (`Catalogue.eligible`);
- diversity: a cap per category, or maximal marginal relevance (Carbonell & Goldstein, 1998)
  with items of one category counted as similar.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from shoprec.data.history import Histories
from shoprec.errors import ConfigError
from shoprec.models.base import seen_items
from shoprec.models.ranked import RankedList

DIVERSITY_METHODS = ("none", "cap", "mmr")


@dataclass(frozen=True)
class RuleSettings:
    """How answers are cut.

    `exclude_event_types`: items the user had events of these types with are never recommended
    (None: any event type; an empty tuple: nothing excluded). `diversity`: none, cap (at most
    `max_per_category` items of one category) or mmr (trade-off `mmr_lambda`: 1 = relevance only).
    """

    exclude_event_types: tuple[str, ...] | None = None
    in_stock_only: bool = True
    diversity: str = "none"
    max_per_category: int = 3
    mmr_lambda: float = 0.7

    def __post_init__(self) -> None:
        if self.diversity not in DIVERSITY_METHODS:
            raise ConfigError(f"diversity must be one of {', '.join(DIVERSITY_METHODS)}, got {self.diversity!r}")
        if self.max_per_category < 1:
            raise ConfigError(f"max_per_category must be >= 1, got {self.max_per_category}")
        if not 0 <= self.mmr_lambda <= 1:
            raise ConfigError(f"mmr_lambda must be between 0 and 1, got {self.mmr_lambda}")


def excluded(histories: Histories, event_types: Collection[str] | None) -> list[np.ndarray]:
    """Per user, the items the exclusion rule removes (`event_types` as in RuleSettings)."""
    if event_types is not None and not len(event_types):
        return [np.zeros(0, dtype=np.int64) for _ in range(len(histories))]
    return seen_items(histories, event_types)


def diversify(ranked: RankedList, categories: np.ndarray, k: int, settings: RuleSettings) -> RankedList:
    """The best `k` of `ranked` under the diversity rule (`categories[item]`: a code, -1 unknown,
    never counted as a repeat)."""
    if settings.diversity == "none" or len(ranked) <= 1:
        return ranked.head(k)
    cats = categories[ranked.items]
    if settings.diversity == "cap":
        counts: dict[int, int] = {}
        keep = []
        for position, cat in enumerate(cats.tolist()):
            if cat >= 0 and counts.get(cat, 0) >= settings.max_per_category:
                continue
            counts[cat] = counts.get(cat, 0) + 1
            keep.append(position)
            if len(keep) == k:
                break
        chosen = np.array(keep, dtype=np.int64)
        return RankedList(ranked.items[chosen], ranked.scores[chosen])
    return _mmr(ranked, cats, k, settings.mmr_lambda)


def _mmr(ranked: RankedList, cats: np.ndarray, k: int, trade_off: float) -> RankedList:
    """Greedy MMR: next = argmax  trade_off * relevance - (1 - trade_off) * max similarity to those chosen,
    relevance min-max scaled to [0, 1], similarity 1 for the same known category else 0."""
    scores = ranked.scores.astype(np.float64)
    span = scores.max() - scores.min()
    relevance = (scores - scores.min()) / span if span > 0 else np.ones(len(scores))
    chosen: list[int] = []
    penalty = np.zeros(len(scores))
    available = np.ones(len(scores), dtype=bool)
    for _ in range(min(k, len(scores))):
        value = np.where(available, trade_off * relevance - (1 - trade_off) * penalty, -np.inf)
        pick = int(np.argmax(value))  # first maximum: the better-ranked item wins ties
        chosen.append(pick)
        available[pick] = False
        if cats[pick] >= 0:
            penalty = np.maximum(penalty, (cats == cats[pick]).astype(np.float64))
    order = np.array(chosen, dtype=np.int64)
    # Each item keeps its own relevance score, so after MMR scores need not decrease down the list.
    return RankedList(ranked.items[order], ranked.scores[order])

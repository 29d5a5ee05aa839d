"""Explanations: why an item was recommended, in numbers and in words.

Every recommended item gets reasons of two kinds:
- which models put it there and how much each contributed (the fusion method's per-model
  parts, or the learned ranker's SHAP contributions grouped by model and feature group);
- where the data allows, a sentence a shopper understands: "because you viewed <title>" (the
  history item the item-to-item model finds most similar), "often bought with <title>" (when
  that item was bought or put in the cart), "popular in <category> this week".

Similar items from similar_items give its two terms instead of one model's share: "viewed by
the same shoppers" (co-occurrence) and "alike in what it is: the same category (Boots), the same
brand (Stompa), a similar price" (content, with what the two items share: `likeness`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shoprec.data import schema as S
from shoprec.data.history import Histories
from shoprec.models.base import Recommender
from shoprec.ranking.catalogue import Catalogue

# What each model's contribution means, in the shop's words.
MODEL_PHRASES = {
    "popularity": "popular with shoppers",
    "context_popularity": "popular at this time of day",
    "random": "picked at random",
    "itemknn": "similar to items you interacted with",
    "itemknn_bm25": "similar to items you interacted with",
    "ease": "often chosen together with items in your history",
    "ials": "liked by shoppers with tastes like yours",
    "bpr": "liked by shoppers with tastes like yours",
    "puresvd": "liked by shoppers with tastes like yours",
    "content": "described like items in your history",
    "two_tower": "a match for your profile",
    "sasrec": "what shoppers usually pick next after your recent items",
    # feature groups of the learned ranker
    "item": "the item's own popularity, price and freshness",
    "user": "how you usually shop",
    "context": "the time of day, weekday and season",
    "match": "categories and brands you like",
    "timing": "on sale while you shop",
    # the two terms of similar_items (shoprec.models.similar_items)
    "similar_items.cooccurrence": "viewed by the same shoppers",
    "similar_items.content": "alike in what it is",
}
SIMILAR_PRICE = 0.25  # within this share of the item's price: "a similar price"
VERBS = {"view": "viewed", "click": "clicked", "add_to_cart": "added to your cart", "purchase": "bought",
         "rating": "rated", "review": "reviewed"}
BOUGHT_TOGETHER = ("purchase", "add_to_cart")
ANCHOR_HISTORY = 20  # most recent distinct history items considered as the "because" item
TOP_IN_CATEGORY = 3


@dataclass(frozen=True)
class Reason:
    """One reason: the model (or feature group) it comes from, its share of the score, and a sentence."""

    model: str | None
    contribution: float
    text: str


def model_reasons(parts: Mapping[str, float], limit: int = 3) -> list[Reason]:
    """The models that pushed the item up, largest share first (shares of the positive parts)."""
    positive = {name: value for name, value in parts.items() if value > 0}
    total = sum(positive.values())
    if total <= 0:
        return []
    ranked = sorted(positive.items(), key=lambda pair: -pair[1])[:limit]
    return [Reason(name, round(value / total, 4), reason_text(name, value / total)) for name, value in ranked]


def reason_text(name: str, share: float, detail: str | None = None) -> str:
    """A model's reason in words: its phrase (and `detail`), the model, its share."""
    phrase = MODEL_PHRASES.get(name, name)
    return f"{phrase}{': ' + detail if detail else ''} ({name}, {share:.0%})"


class Explainer:
    """Sentences for recommended items, from an item-to-item model and recent popularity."""

    def __init__(self, catalogue: Catalogue, similarity: Recommender | None, similarity_name: str | None,
                 last_week: np.ndarray | None) -> None:
        self.catalogue = catalogue
        self.similarity = similarity
        self.similarity_name = similarity_name
        self.last_week = last_week

    def anchors(self, history: Histories, items: np.ndarray) -> list[tuple[int, str, float] | None]:
        """For each item, the history item most similar to it (index, its latest event type, similarity)."""
        if self.similarity is None or not len(history.items) or not len(items):
            return [None] * len(items)
        order = np.argsort(history.timestamps, kind="stable")[::-1]
        seen: dict[int, str] = {}
        for position in order:
            item = int(history.items[position])
            if 0 <= item < self.similarity.n_items_ and item not in seen:
                seen[item] = S.EVENT_TYPES[int(history.event_types[position])]
            if len(seen) == ANCHOR_HISTORY:
                break
        if not seen:
            return [None] * len(items)
        anchors = np.array(list(seen), dtype=np.int64)
        single = Histories(
            indptr=np.arange(len(anchors) + 1, dtype=np.int64),
            items=anchors.astype(np.int32),
            event_types=np.full(len(anchors), S.EVENT_TYPE_CODE[S.EventType.VIEW.value], dtype=np.int8),
            timestamps=np.zeros(len(anchors), dtype=np.int64),
            values=np.full(len(anchors), np.nan, dtype=np.float32),
        )
        similarity = self.similarity.score(single, np.asarray(items, dtype=np.int64))  # anchors x items
        best = np.argmax(similarity, axis=0)
        out: list[tuple[int, str, float] | None] = []
        for column, row in enumerate(best):
            value = float(similarity[row, column])
            out.append((int(anchors[row]), seen[int(anchors[row])], value) if np.isfinite(value) and value > 0 else None)
        return out

    def sentences(self, history: Histories, items: np.ndarray) -> list[list[Reason]]:
        """Human reasons for each item (possibly none)."""
        anchors = self.anchors(history, items)
        out = []
        for item, anchor in zip(np.asarray(items).tolist(), anchors, strict=True):
            reasons = []
            if anchor is not None:
                index, event_type, value = anchor
                title = self.catalogue.field(S.TITLE, index) or f"item {self.catalogue.item_ids.id_of([index])[0]}"
                if event_type in BOUGHT_TOGETHER:
                    text = f"often bought with “{title}”"
                else:
                    text = f"because you {VERBS.get(event_type, 'viewed')} “{title}”"
                reasons.append(Reason(self.similarity_name, round(value, 4), text))
            popular = self.popular_in_category(int(item))
            if popular is not None:
                reasons.append(popular)
            out.append(reasons)
        return out

    def popular_in_category(self, item: int) -> Reason | None:
        """"popular in <category> this week" when the item is among its category's most viewed of the last 7 days."""
        if self.last_week is None or self.last_week[item] <= 0:
            return None
        code = self.catalogue.category_codes[item]
        if code < 0:
            return None
        same = self.catalogue.category_codes == code
        better = int((self.last_week[same] > self.last_week[item]).sum())
        if better >= TOP_IN_CATEGORY:
            return None
        category = self.catalogue.field(S.CATEGORY, item)
        leaf = str(category).split(S.CATEGORY_SEPARATOR.strip())[-1].strip()
        return Reason("context_popularity", float(self.last_week[item]), f"popular in {leaf} this week")


def likeness(catalogue: Catalogue, anchor: int, item: int) -> list[str]:
    """What `item` has in common with `anchor`, in words: the same category (the deepest level
    both have), the same brand, a price within SIMILAR_PRICE of the anchor's."""
    facts = []
    mine, theirs = (S.category_levels(str(catalogue.field(S.CATEGORY, i) or "")) for i in (anchor, item))
    shared = [a for a, b in zip(mine, theirs) if a == b]
    if shared and len(shared) == len(mine) == len(theirs):
        facts.append(f"the same category ({shared[-1]})")
    elif shared:
        facts.append(f"also in {shared[-1]}")
    brand = catalogue.field(S.BRAND, anchor)
    if brand is not None and brand == catalogue.field(S.BRAND, item):
        facts.append(f"the same brand ({brand})")
    price, other = catalogue.field(S.PRICE, anchor), catalogue.field(S.PRICE, item)
    if isinstance(price, float) and isinstance(other, float) and price > 0 and abs(other - price) <= SIMILAR_PRICE * price:
        facts.append("a similar price")
    return facts


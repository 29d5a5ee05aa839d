"""Autocomplete: what a shopper may be typing, from past queries, brands, categories and titles.

Every suggestion is keyed by each word start of its lowercase text (jieba's words for Chinese),
so "head" suggests "Wireless Headphones" and "蓝牙" suggests "无线蓝牙耳机". Suggestions are
ranked by weight: how often a query was searched, how many items (and their events) a brand or
category has, a title's events plus one.

The lookup is a sorted array of key beginnings searched by bisection (numpy.searchsorted), with
entries numbered best first so the best matches are the smallest numbers. It is written here
because tantivy's prefix search answers with documents, not with suggestion texts ranked by
our weights, and a sorted array is all a prefix lookup needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ConfigError
from shoprec.search.facets import category_prefixes
from shoprec.search.text import has_cjk, search_word_starts

KINDS = ("query", "brand", "category", "title")  # also the order of equal weights
KEY_CHARS = 12  # a key keeps this many characters from a word start; longer prefixes are checked in full
MAX_SUGGESTIONS = 100
_WORD_START = re.compile(r"(?<![^\W_])[^\W_]")


def normalise(text: str) -> str:
    """Lowercase with runs of whitespace as one space, leading space dropped (a trailing space
    stays: it says the last word is complete)."""
    return re.sub(r"\s+", " ", text.lower()).lstrip()


def _word_starts(lower: str) -> list[int]:
    starts = {m.start() for m in _WORD_START.finditer(lower)}
    if has_cjk(lower):
        starts.update(search_word_starts(lower))
    return sorted(starts)


class Autocomplete:
    """Suggestions for a typed prefix; build with `from_items` or `from_store`."""

    def __init__(self, entries: Iterable[tuple[str, str, float]]) -> None:
        """`entries`: (text, kind, weight); the same text and kind given twice add their weights."""
        weights: dict[tuple[str, str], float] = {}
        for text, kind, weight in entries:
            if kind not in KINDS:
                raise ConfigError(f"suggestion kind must be one of {', '.join(KINDS)}, got {kind!r}")
            text = " ".join(str(text).split())
            if text:
                weights[(text, kind)] = weights.get((text, kind), 0.0) + float(weight)
        ranked = sorted(weights.items(), key=lambda e: (-e[1], KINDS.index(e[0][1]), e[0][0]))
        self._texts = [text for (text, _), _ in ranked]
        self._kinds = [kind for (_, kind), _ in ranked]
        self._lower = [t.lower() for t in self._texts]
        keys, owners, starts = [], [], []
        for number, lower in enumerate(self._lower):
            for start in _word_starts(lower):
                keys.append(lower[start:start + KEY_CHARS])
                owners.append(number)
                starts.append(start)
        order = np.argsort(np.array(keys, dtype=f"<U{KEY_CHARS}"), kind="stable")
        self._keys = np.array(keys, dtype=f"<U{KEY_CHARS}")[order]
        self._owners = np.array(owners, dtype=np.int64)[order]
        self._starts = np.array(starts, dtype=np.int64)[order]

    @classmethod
    def from_items(cls, items: pd.DataFrame, *, queries: Iterable[str] = (),
                   popularity: Mapping[str, float] | None = None) -> Autocomplete:
        """Suggestions from a catalogue (titles, brands, every category level), past `queries`
        (one per search made) and item `popularity` (e.g. events per item)."""
        popularity = popularity or {}
        pop = np.array([float(popularity.get(str(i), 0.0)) for i in items[S.ITEM_ID]], dtype=np.float64)
        entries: list[tuple[str, str, float]] = [(normalise(q).strip(), "query", 1.0) for q in queries if q]
        for title, weight in zip(items[S.TITLE], pop):
            if isinstance(title, str):
                entries.append((title, "title", 1.0 + weight))
        for brand, weight in zip(items[S.BRAND], pop):
            if isinstance(brand, str):
                entries.append((brand, "brand", 1.0 + weight))
        for path, weight in zip(items[S.CATEGORY], pop):
            if isinstance(path, str):
                entries += [(level, "category", 1.0 + weight) for level in category_prefixes(path)]
        return cls(entries)

    @classmethod
    def from_store(cls, workspace: Path) -> Autocomplete:
        """Suggestions from a workspace's catalogue and the queries of its "search" events."""
        store = Store(workspace)
        try:
            items, events = store.items(), store.read_events()
        finally:
            store.close()
        searches = events[events[S.EVENT_TYPE] == S.EventType.SEARCH.value]
        others = events[events[S.EVENT_TYPE] != S.EventType.SEARCH.value]
        popularity = {str(k): float(v) for k, v in others[S.ITEM_ID].value_counts().items()}
        return cls.from_items(items, queries=searches[S.QUERY].dropna().astype(str), popularity=popularity)

    def __len__(self) -> int:
        return len(self._texts)

    def suggest(self, prefix: str, k: int = 10) -> list[dict[str, str]]:
        """Up to `k` suggestions whose text has a word starting with `prefix` (case ignored),
        best first, each {"text", "kind"}; one per text. An empty prefix suggests nothing."""
        if not 1 <= k <= MAX_SUGGESTIONS:
            raise ConfigError(f"k must be between 1 and {MAX_SUGGESTIONS}, got {k}")
        typed = normalise(prefix or "")
        if not typed.strip():
            return []
        head = typed[:KEY_CHARS]
        low = np.searchsorted(self._keys, head, side="left")
        high = np.searchsorted(self._keys, head + "\U0010ffff", side="left") if len(head) < KEY_CHARS \
            else np.searchsorted(self._keys, head, side="right")
        owners, starts = self._owners[low:high], self._starts[low:high]
        if len(typed) > KEY_CHARS:
            keep = [self._lower[o].startswith(typed, s) for o, s in zip(owners.tolist(), starts.tolist())]
            owners = owners[np.array(keep, dtype=bool)]
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        for number in np.unique(owners).tolist():  # numbers are ranks: smallest first is best first
            if self._lower[number] not in seen:
                seen.add(self._lower[number])
                out.append({"text": self._texts[number], "kind": self._kinds[number]})
                if len(out) == k:
                    break
        return out

"""Autocomplete: word-start prefixes, kinds, ranking by weight, Chinese, the store's past queries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shoprec.data import schema as S
from shoprec.data.ingest import Source, ingest
from shoprec.data.store import Store
from shoprec.data.synthetic import ShopSpec, generate_shop
from shoprec.errors import ConfigError
from shoprec.search.autocomplete import KEY_CHARS, Autocomplete

ITEMS = pd.DataFrame({
    S.ITEM_ID: ["a", "b", "c", "d"],
    S.TITLE: ["Sonora Wireless Headphones", "Sonora Wireless Headset", "Voltix Speaker", "Garden Hose"],
    S.BRAND: ["Sonora", "Sonora", "Voltix", None],
    S.CATEGORY: ["Audio > Headphones", "Audio > Headphones", "Audio > Speakers", "Garden"],
})


def test_kinds_and_order_by_weight() -> None:
    # weights: brand Sonora 1+5 + 1+0 = 7; query "sonora headphones" searched 3 times = 3;
    # title a 1+5 = 6, title b 1+0 = 1
    complete = Autocomplete.from_items(ITEMS, queries=["sonora headphones"] * 3, popularity={"a": 5.0})
    assert complete.suggest("son") == [
        {"text": "Sonora", "kind": "brand"},
        {"text": "Sonora Wireless Headphones", "kind": "title"},
        {"text": "sonora headphones", "kind": "query"},
        {"text": "Sonora Wireless Headset", "kind": "title"},
    ]
    assert complete.suggest("son", k=2) == complete.suggest("son")[:2]
    assert complete.suggest("audio") == [
        {"text": "Audio", "kind": "category"},
        {"text": "Audio > Headphones", "kind": "category"},
        {"text": "Audio > Speakers", "kind": "category"},
    ]


def test_prefixes_match_word_starts_only() -> None:
    complete = Autocomplete.from_items(ITEMS)
    assert {s["text"] for s in complete.suggest("HEAD")} == {"Sonora Wireless Headphones", "Sonora Wireless Headset",
                                                             "Audio > Headphones"}
    assert complete.suggest("eadph") == []  # inside a word
    assert {s["text"] for s in complete.suggest("wireless  head")} == {"Sonora Wireless Headphones",
                                                                      "Sonora Wireless Headset"}
    assert complete.suggest("  ") == [] and complete.suggest("") == []


def test_prefixes_longer_than_a_key_are_checked_whole() -> None:
    complete = Autocomplete.from_items(ITEMS)
    typed = "wireless headph"
    assert len(typed) > KEY_CHARS
    assert [s["text"] for s in complete.suggest(typed)] == ["Sonora Wireless Headphones"]
    assert complete.suggest("wireless headphonez") == []


def test_one_suggestion_per_text_and_bad_k() -> None:
    complete = Autocomplete([("Sonora", "brand", 5.0), ("sonora", "query", 2.0), ("Sonora", "brand", 1.0)])
    assert complete.suggest("so") == [{"text": "Sonora", "kind": "brand"}]
    assert len(complete) == 2
    with pytest.raises(ConfigError, match="k must be"):
        complete.suggest("so", k=0)
    with pytest.raises(ConfigError, match="kind"):
        Autocomplete([("x", "colour", 1.0)])


def test_chinese_titles_match_at_word_starts() -> None:
    items = generate_shop(ShopSpec(users=10, items=200, events=0, seed=5, lang="zh")).items
    complete = Autocomplete.from_items(items)
    found = complete.suggest("蓝牙", k=100)
    assert found and all("蓝牙" in s["text"] for s in found)
    assert any("无线蓝牙耳机" in s["text"] for s in found)  # "蓝牙" begins a word inside "无线蓝牙耳机"


def test_from_store_reads_past_queries(workspace: Path) -> None:
    store = Store(workspace)
    try:
        ingest(store, [Source.from_frames("items", "items", lambda: [ITEMS])])
        ingest(store, [Source.from_frames("events", "searches", lambda: [pd.DataFrame({
            S.USER_ID: ["u1", "u2", "u3"], S.ITEM_ID: ["a", "a", "c"], S.EVENT_TYPE: ["search", "search", "view"],
            S.TIMESTAMP: ["2024-01-01", "2024-01-02", "2024-01-03"], S.QUERY: ["Garden tools", "garden  TOOLS", None]})])])
    finally:
        store.close()
    complete = Autocomplete.from_store(workspace)
    assert complete.suggest("gar") == [{"text": "garden tools", "kind": "query"}, {"text": "Garden", "kind": "category"},
                                       {"text": "Garden Hose", "kind": "title"}]

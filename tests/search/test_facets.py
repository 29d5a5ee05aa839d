"""Facet helpers: category levels that agree with ItemFilters, price buckets, counting a table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoprec.data import schema as S
from shoprec.errors import ConfigError
from shoprec.ranking.filters import category_matches
from shoprec.search.facets import (
    DEFAULT_PRICE_EDGES,
    category_key,
    category_prefixes,
    check_price_edges,
    count_facets,
    price_bucket,
    price_labels,
)

PATHS = ["Audio", "Audio > Headphones", "Audio > Headphones > Wireless", "Audio Cables", "audio > speakers",
         "Home > Audio", "Audio  > Odd", "Audio>Tight", "Toys & Games > Board Games"]
WANTED = ["Audio", "audio", " Audio ", "Audio > Headphones", "Audio>Headphones", "AUDIO > headphones > wireless",
          "Audio Cables", "Home", "Aud", "Audio > Odd", "Toys & Games", "Board Games"]


def test_category_prefixes_by_hand() -> None:
    assert category_prefixes("A > B > C") == ["A", "A > B", "A > B > C"]
    assert category_prefixes("Single") == ["Single"]
    assert category_prefixes(None) == [] and category_prefixes("") == []


@pytest.mark.parametrize("wanted", WANTED)
def test_category_levels_select_exactly_what_item_filters_select(wanted: str) -> None:
    oracle = category_matches(pd.Series(PATHS), wanted)
    ours = [category_key(wanted) in {p.casefold() for p in category_prefixes(path)} for path in PATHS]
    assert ours == oracle.tolist()


def test_price_labels_and_buckets_by_hand() -> None:
    edges = (25.0, 50.0, 100.0)
    assert price_labels(edges) == ["0-25", "25-50", "50-100", "100+"]
    assert price_bucket(np.array([0.0, 24.99, 25.0, 49.5, 50.0, 99.99, 100.0, 1e6, np.nan, -3.0]), edges).tolist() == \
        [0, 0, 1, 1, 2, 2, 3, 3, -1, 0]
    assert price_labels(DEFAULT_PRICE_EDGES)[-1] == "2500+"


@pytest.mark.parametrize("edges", [(), (10.0, 5.0), (0.0, 5.0), (5.0, float("inf")), (5.0, 5.0)])
def test_bad_price_edges_are_refused(edges: tuple[float, ...]) -> None:
    with pytest.raises(ConfigError, match="price_edges"):
        check_price_edges(edges)


def test_count_facets_by_hand() -> None:
    items = pd.DataFrame({
        S.ITEM_ID: ["a", "b", "c", "d"],
        S.CATEGORY: ["Audio > Headphones", "Audio > Speakers", "Audio", None],
        S.BRAND: ["Sonora", "Sonora", None, "Voltix"],
        S.PRICE: [30.0, 10.0, np.nan, 25.0],
    })
    facets = count_facets(items, edges=(25.0, 50.0))
    assert facets == {
        "category": {"Audio": 3, "Audio > Headphones": 1, "Audio > Speakers": 1},
        "brand": {"Sonora": 2, "Voltix": 1},
        "price": {"0-25": 1, "25-50": 2},
    }
    assert list(count_facets(items, limit=1)["brand"]) == ["Sonora"]

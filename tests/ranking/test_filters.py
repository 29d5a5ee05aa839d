"""ItemFilters against hand-picked rows."""

from __future__ import annotations

import pandas as pd
import pytest

from shoprec.errors import ConfigError
from shoprec.ranking.filters import ItemFilters


@pytest.fixture
def items() -> pd.DataFrame:
    return pd.DataFrame({
        "item_id": ["a", "b", "c", "d", "e"],
        "category": ["Audio > Headphones", "Audio Cables", "Audio", None, "audio > speakers > smart"],
        "brand": ["Sony", "Belkin", None, "sony", "Bose"],
        "price": [10.0, 20.0, None, 5.0, 99.0],
        "in_stock": [True, False, None, True, True],
    })


def test_category_matches_itself_and_descendants_not_siblings(items):
    assert ItemFilters(category="Audio").mask(items).tolist() == [True, False, True, False, True]
    assert ItemFilters(category="audio>speakers").mask(items).tolist() == [False, False, False, False, True]


def test_brand_is_case_insensitive(items):
    assert ItemFilters(brand="SONY").mask(items).tolist() == [True, False, False, True, False]


def test_price_range_excludes_items_without_price(items):
    assert ItemFilters(price_min=5, price_max=20).mask(items).tolist() == [True, True, False, True, False]


def test_in_stock_treats_unknown_as_in_stock(items):
    assert ItemFilters(in_stock=True).mask(items).tolist() == [True, False, True, True, True]
    assert ItemFilters().is_empty and not ItemFilters(brand="x").is_empty


def test_bad_ranges_are_refused():
    with pytest.raises(ConfigError, match="must not exceed"):
        ItemFilters(price_min=10, price_max=1)
    with pytest.raises(ConfigError, match="finite"):
        ItemFilters(price_min=float("nan"))

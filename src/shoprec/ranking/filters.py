"""Item filters shared by recommendations and search: category (with its descendants), brand,
price range and stock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.errors import ConfigError


@dataclass(frozen=True)
class ItemFilters:
    """What a shopper narrowed the answer to; every field optional (None: no restriction).

    `category` is a category path (levels joined by " > ") or any leading part of one: it
    matches the category itself and every descendant, never a sibling that merely shares a
    prefix of characters ("Audio" matches "Audio > Headphones", not "Audio Cables").
    """

    category: str | None = None
    brand: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    in_stock: bool | None = None

    def __post_init__(self) -> None:
        for name in ("price_min", "price_max"):
            value = getattr(self, name)
            if value is not None and not np.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value}")
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ConfigError(f"price_min ({self.price_min}) must not exceed price_max ({self.price_max})")

    @property
    def is_empty(self) -> bool:
        """True when no field restricts anything."""
        return all(getattr(self, f) is None for f in ("category", "brand", "price_min", "price_max", "in_stock"))

    def mask(self, items: pd.DataFrame) -> np.ndarray:
        """A boolean array over the rows of an items table (schema.ITEM_SCHEMA columns): True where
        the item passes every filter. An item with no price fails a price filter; an item with
        unknown stock counts as in stock."""
        keep = np.ones(len(items), dtype=bool)
        if self.category is not None:
            keep &= category_matches(items[S.CATEGORY], self.category)
        if self.brand is not None:
            keep &= (items[S.BRAND].astype("string").str.casefold() == self.brand.casefold()).fillna(False).to_numpy(bool)
        price = pd.to_numeric(items[S.PRICE], errors="coerce").to_numpy(np.float64)
        if self.price_min is not None:
            keep &= price >= self.price_min  # NaN compares False: no price, no match
        if self.price_max is not None:
            keep &= price <= self.price_max
        if self.in_stock:
            keep &= items[S.IN_STOCK].astype("boolean").fillna(True).to_numpy(bool)
        return keep


def category_matches(categories: pd.Series, wanted: str) -> np.ndarray:
    """True where the category path equals `wanted` or descends from it (case-insensitive)."""
    wanted = S.CATEGORY_SEPARATOR.join(part.strip() for part in wanted.split(S.CATEGORY_SEPARATOR.strip())).casefold()
    values = categories.astype("string").str.casefold()
    exact = values == wanted
    below = values.str.startswith(wanted + S.CATEGORY_SEPARATOR.casefold())
    return (exact | below).fillna(False).to_numpy(bool)

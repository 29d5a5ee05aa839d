"""Item features learned from a training Dataset: popularity, recency, price, category, brand.

Computed once at fit time and saved with the model that uses them (arrays indexed by item).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.dataset import Dataset

NO_TIME = np.iinfo(np.int64).min


@dataclass(frozen=True)
class ItemFeatures:
    """Per-item arrays, row i = item index i.

    `category` codes index `category_names` (the full path), `top_category` the first level of
    it; -1 marks an unknown value, NaN an unknown number.
    """

    log_popularity: np.ndarray  # float64: log1p(events in the training data)
    first_event_ms: np.ndarray  # int64, NO_TIME when the item has no event
    last_event_ms: np.ndarray  # int64
    log_price: np.ndarray  # float64, NaN when unknown
    category: np.ndarray  # int64 code of the full category path
    top_category: np.ndarray  # int64 code of the first level
    brand: np.ndarray  # int64 code
    category_names: tuple[str, ...]
    brand_names: tuple[str, ...]

    @property
    def n_items(self) -> int:
        return len(self.log_popularity)

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> ItemFeatures:
        """Counts and times from the dataset's events; price, category and brand from its items table."""
        n = dataset.n_items
        counts = np.bincount(dataset.event_items, minlength=n).astype(np.float64)
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(n, NO_TIME, dtype=np.int64)
        np.minimum.at(first, dataset.event_items, dataset.timestamps)
        np.maximum.at(last, dataset.event_items, dataset.timestamps)
        first[counts == 0] = NO_TIME
        items = dataset.items
        price = pd.to_numeric(items[S.PRICE], errors="coerce").to_numpy(np.float64)
        price = np.where(price >= 0, np.log1p(np.where(price >= 0, price, 0.0)), np.nan)
        category, category_names = _codes(items[S.CATEGORY])
        top = items[S.CATEGORY].astype("string").str.split(S.CATEGORY_SEPARATOR.strip()).str[0].str.strip()
        top_category, _ = _codes(top)
        brand, brand_names = _codes(items[S.BRAND].astype("string").str.casefold())
        return cls(np.log1p(counts), first, last, price, category, top_category, brand, category_names, brand_names)

    def to_state(self) -> dict[str, object]:
        """Arrays and lists for a model's saved state (see `from_state`)."""
        return {f"item_{name}": getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> ItemFeatures:
        """Rebuild from `to_state` output (JSON turns the name tuples into lists)."""
        values = {name: state[f"item_{name}"] for name in cls.__dataclass_fields__}
        values["category_names"] = tuple(values["category_names"])  # type: ignore[arg-type]
        values["brand_names"] = tuple(values["brand_names"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def _codes(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes (-1 for missing or empty) and the distinct values they index."""
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    codes, uniques = pd.factorize(text, sort=True)
    return codes.astype(np.int64), tuple(str(u) for u in uniques)

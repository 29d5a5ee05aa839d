"""The catalogue as the recommender sees it right now: the store's items table aligned to a
bundle's item indices.

A bundle's models score the items they were trained on; the store's catalogue keeps changing
(new items, price and stock updates, deletions). `Catalogue` answers, per bundle item, whether it
is still on sale, and holds the fields answers show (title, category, brand, price).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.idmap import IdMap
from shoprec.ranking.filters import ItemFilters


@dataclass(frozen=True)
class Catalogue:
    """Row i describes bundle item i; `listed[i]` is False once the item left the store's catalogue."""

    item_ids: IdMap
    table: pd.DataFrame  # schema.ITEM_COLUMNS, one row per bundle item, in index order
    listed: np.ndarray  # bool
    in_stock: np.ndarray  # bool (unknown stock counts as in stock)
    category_codes: np.ndarray  # int64, -1 unknown

    @classmethod
    def build(cls, items: pd.DataFrame, item_ids: IdMap) -> Catalogue:
        """Align the store's `items` table to `item_ids` (items the store no longer lists are unlisted;
        when the store holds no catalogue at all, every item counts as listed)."""
        frame = items.assign(**{S.ITEM_ID: items[S.ITEM_ID].astype(str)}).drop_duplicates(S.ITEM_ID, keep="last")
        aligned = frame.set_index(S.ITEM_ID).reindex(item_ids.ids)
        listed = aligned.index.isin(frame[S.ITEM_ID]) if len(frame) else np.ones(len(item_ids), dtype=bool)
        aligned.index.name = S.ITEM_ID
        table = aligned.reset_index()
        for column in S.ITEM_COLUMNS:
            if column not in table:
                table[column] = None
        stock = table[S.IN_STOCK].astype("boolean").fillna(True).to_numpy(bool)
        codes, _ = pd.factorize(table[S.CATEGORY].astype("string"))
        return cls(item_ids, table, np.asarray(listed, dtype=bool), stock, codes.astype(np.int64))

    def __len__(self) -> int:
        return len(self.item_ids)

    def eligible(self, filters: ItemFilters | None = None, in_stock_only: bool = True) -> np.ndarray:
        """Items that may be shown: listed, in stock (unless `in_stock_only` is False) and passing `filters`."""
        mask = self.listed.copy()
        if in_stock_only:
            mask &= self.in_stock
        if filters is not None and not filters.is_empty:
            mask &= filters.mask(self.table)
        return mask

    def field(self, column: str, index: int) -> str | float | None:
        """One catalogue field of one item (None when unknown)."""
        value = self.table[column].iloc[index]
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        return float(value) if column == S.PRICE else str(value)

"""The catalogue as the recommender sees it right now: the store's items table aligned to a
bundle's item indices.

A bundle's models score the items they were trained on; the store's catalogue keeps changing
(new items, price and stock updates, deletions). `Catalogue` answers, per bundle item, whether it
is still on sale, and holds the fields answers show (title, category, brand, price).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from shoprec.data import schema as S
from shoprec.data.idmap import IdMap
from shoprec.ranking.filters import ItemFilters

SHOWN = (S.TITLE, S.CATEGORY, S.BRAND, S.PRICE)
MAX_CACHED_FILTERS = 256


@dataclass(frozen=True)
class Catalogue:
    """Row i describes bundle item i; `listed[i]` is False once the item left the store's catalogue."""

    item_ids: IdMap
    table: pd.DataFrame  # schema.ITEM_COLUMNS, one row per bundle item, in index order
    listed: np.ndarray  # bool
    in_stock: np.ndarray  # bool (unknown stock counts as in stock)
    category_codes: np.ndarray  # int64, -1 unknown
    # The columns answers show, as numpy object arrays: one value costs a list index, not a pandas lookup.
    shown: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    filter_masks: dict[ItemFilters, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

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
        shown = {column: table[column].to_numpy(dtype=object) for column in SHOWN}
        return cls(item_ids, table, np.asarray(listed, dtype=bool), stock, codes.astype(np.int64), shown)

    def __len__(self) -> int:
        return len(self.item_ids)

    def eligible(self, filters: ItemFilters | None = None, in_stock_only: bool = True) -> np.ndarray:
        """Items that may be shown: listed, in stock (unless `in_stock_only` is False) and passing `filters`."""
        mask = self.listed.copy()
        if in_stock_only or (filters is not None and filters.in_stock):
            mask &= self.in_stock
        if filters is not None:
            rest = replace(filters, in_stock=None)  # stock is the array above: no pass over the table
            if not rest.is_empty:
                mask &= self._filter_mask(rest)
        return mask

    def _filter_mask(self, filters: ItemFilters) -> np.ndarray:
        """`filters.mask` over the table, remembered for the catalogue's life (shoppers repeat filters)."""
        cache: dict[ItemFilters, np.ndarray] = self.filter_masks
        mask = cache.get(filters)
        if mask is None:
            if len(cache) >= MAX_CACHED_FILTERS:
                with contextlib.suppress(RuntimeError, StopIteration):  # another request thread changed it meanwhile
                    cache.pop(next(iter(cache)), None)  # the oldest
            mask = cache[filters] = filters.mask(self.table)
            mask.flags.writeable = False
        return mask

    def field(self, column: str, index: int) -> str | float | None:
        """One catalogue field of one item (None when unknown)."""
        value = self.shown[column][index] if column in self.shown else self.table[column].iloc[index]
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        return float(value) if column == S.PRICE else str(value)

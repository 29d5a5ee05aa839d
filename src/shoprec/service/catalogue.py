"""The catalogue as the service sees it: the store's items table, cached, re-read when it changes.

Item pages and search hits read it on every request, so it is kept in memory and re-read only
when the store's manifest names a new items file: a PUT or DELETE through this service, or an
ingest run beside it. Each re-read says what changed (items added or edited, items removed), so
that the search index is updated with exactly those.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.util import hash_pandas_object

from shoprec.data import schema as S
from shoprec.data.store import Store


@dataclass
class CatalogueChange:
    """What a re-read found: rows new or different (schema.ITEM_COLUMNS) and ids gone."""

    upserted: pd.DataFrame
    removed: list[str] = field(default_factory=list)


class ItemCache:
    """A cached, id-indexed copy of `Store.items()`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._file: str | None = None
        self._frame = _indexed(S.ITEM_SCHEMA.empty_table().to_pandas())
        self.sync()

    def is_current(self) -> bool:
        """Whether the store still holds the items file read last."""
        return self.store.manifest().items == self._file

    def sync(self) -> CatalogueChange | None:
        """Re-read the items table if the store holds a newer one; returns what changed (None: nothing)."""
        if self.store.manifest().items == self._file:
            return None
        with self._lock:
            current = self.store.manifest().items
            if current == self._file:
                return None
            old, new = self._frame, _indexed(self.store.items())
            self._frame, self._file = new, current
        return _difference(old, new)

    @property
    def frame(self) -> pd.DataFrame:
        """All items (schema.ITEM_COLUMNS), indexed by item id."""
        return self._frame

    def __len__(self) -> int:
        return len(self._frame)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._frame.index

    def get(self, item_id: str) -> dict[str, Any] | None:
        """One item's fields (None for missing values), or None when it is not in the catalogue."""
        frame = self._frame
        if item_id not in frame.index:
            return None
        return {str(column): plain_value(value) for column, value in frame.loc[item_id, list(S.ITEM_COLUMNS)].items()}


def _indexed(items: pd.DataFrame) -> pd.DataFrame:
    frame = items.set_index(S.ITEM_ID, drop=False)
    frame.index.name = None
    return frame


def _difference(old: pd.DataFrame, new: pd.DataFrame) -> CatalogueChange:
    removed = old.index.difference(new.index)
    common = new.index.intersection(old.index)
    changed = _row_hashes(new.loc[common]) != _row_hashes(old.loc[common])
    upserted = new[~new.index.isin(old.index) | new.index.isin(common[changed])]
    return CatalogueChange(upserted.reset_index(drop=True), [str(i) for i in removed])


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    text = frame[list(S.ITEM_COLUMNS)].astype("string").fillna("\x00")  # missing differs from "" and from "nan"
    return hash_pandas_object(text, index=False).to_numpy()


def plain_value(value: object) -> Any:
    """A JSON-able Python value: numpy scalars unwrapped, NaN/NA as None."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value

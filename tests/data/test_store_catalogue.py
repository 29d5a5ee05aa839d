"""Store.upsert_items / delete_items: catalogue changes made one item at a time (the service's PUT and DELETE)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import DataError


def _items(*rows: tuple[str, str, float, bool]) -> pd.DataFrame:
    return pd.DataFrame({
        S.ITEM_ID: [r[0] for r in rows], S.TITLE: [r[1] for r in rows], S.DESCRIPTION: [None] * len(rows),
        S.CATEGORY: ["Audio"] * len(rows), S.BRAND: ["Acme"] * len(rows), S.PRICE: [r[2] for r in rows],
        S.IN_STOCK: [r[3] for r in rows], S.ATTRIBUTES: [None] * len(rows),
    })


def test_upsert_adds_new_items_and_replaces_whole_rows_in_place(workspace: Path) -> None:
    store = Store(workspace)
    assert store.upsert_items(_items(("a", "Lamp", 10.0, True), ("b", "Desk", 99.0, True), ("c", "Chair", 45.0, True))) == (3, 0)
    replacement = _items(("b", "Standing desk", 250.0, False), ("d", "Rug", 30.0, True))
    replacement.loc[0, S.BRAND] = None  # a PUT replaces the whole row: an absent brand clears it
    assert store.upsert_items(replacement) == (1, 1)
    items = store.items()
    assert list(items[S.ITEM_ID]) == ["a", "b", "c", "d"]
    desk = items.set_index(S.ITEM_ID).loc["b"]
    assert desk[S.TITLE] == "Standing desk" and desk[S.PRICE] == 250.0 and not desk[S.IN_STOCK]
    assert pd.isna(desk[S.BRAND])
    assert items.set_index(S.ITEM_ID).loc["a", S.TITLE] == "Lamp"
    # a second Store (another process) sees the same catalogue
    assert list(Store(workspace).items()[S.ITEM_ID]) == ["a", "b", "c", "d"]


def test_delete_items_removes_only_the_named_ones_and_keeps_their_events(workspace: Path) -> None:
    store = Store(workspace)
    store.upsert_items(_items(("a", "Lamp", 10.0, True), ("b", "Desk", 99.0, True)))
    store.append_events(pd.DataFrame({S.USER_ID: ["u1"], S.ITEM_ID: ["b"], S.EVENT_TYPE: ["view"],
                                      S.TIMESTAMP: pd.to_datetime(["2024-01-01"], utc=True)}))
    assert store.delete_items(["b", "nope"]) == 1
    assert list(store.items()[S.ITEM_ID]) == ["a"]
    assert store.delete_items(["b"]) == 0
    assert list(store.read_events()[S.ITEM_ID]) == ["b"]


def test_upsert_refuses_repeated_or_empty_ids(workspace: Path) -> None:
    store = Store(workspace)
    with pytest.raises(DataError, match="item_id"):
        store.upsert_items(_items(("a", "Lamp", 10.0, True), ("a", "Lamp 2", 11.0, True)))
    assert store.items().empty

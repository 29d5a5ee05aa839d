"""RetailRocket e-commerce dataset: events.csv, item_properties_part*.csv, category_tree.csv.

Events (timestamp in ms, visitorid, event: view/addtocart/transaction, itemid) become events.
Item properties are a log of (timestamp, itemid, property, value); the latest `categoryid`,
`available` and price (property 790, values like 'n277.200') per item become the catalogue, with
the category's path built from the tree. Other properties are hashed ids and are left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shoprec.data import schema as S
from shoprec.data.adapters.common import dataset_folder, file_source, find, frame_source
from shoprec.data.ingest import Source
from shoprec.data.mapping import ColumnMapping
from shoprec.data.readers import ReadOptions

EVENTS = ColumnMapping(
    columns={S.USER_ID: "visitorid", S.ITEM_ID: "itemid", S.EVENT_TYPE: "event"},
    event_type_map={"view": "view", "addtocart": "add_to_cart", "transaction": "purchase"},
)
PRICE_PROPERTY = "790"
KEPT_PROPERTIES = ("categoryid", "available", PRICE_PROPERTY)


def sources(path: Path, options: ReadOptions) -> list[Source]:
    """The catalogue from the property logs (when present), then the events."""
    folder = dataset_folder(path, ("events.csv",))
    result: list[Source] = []
    parts = sorted(folder.glob("item_properties*.csv*"))
    if parts:
        tree = find(folder, "category_tree.csv", required=False)
        result.append(frame_source("items", ", ".join(p.name for p in parts), lambda: _items(parts, tree, options.encoding)))
    result.append(file_source("events", find(folder, "events.csv"), options, EVENTS))  # type: ignore[arg-type]
    return result


def _items(parts: list[Path], tree_path: Path | None, encoding: str) -> pd.DataFrame:
    latest: pd.DataFrame | None = None
    for part in parts:
        for chunk in pd.read_csv(part, dtype=str, encoding=encoding, chunksize=1_000_000):
            chunk = chunk[chunk["property"].isin(KEPT_PROPERTIES)].copy()
            chunk["timestamp"] = pd.to_numeric(chunk["timestamp"], errors="coerce")
            latest = chunk if latest is None else pd.concat([latest, chunk])
            latest = latest.sort_values("timestamp", kind="stable").drop_duplicates(["itemid", "property"], keep="last")
    if latest is None:
        return pd.DataFrame(columns=[S.ITEM_ID])
    wide = latest.pivot(index="itemid", columns="property", values="value")
    items = pd.DataFrame({S.ITEM_ID: wide.index.astype(str)})
    if PRICE_PROPERTY in wide:
        # Prices are stored as 'n<number>' (with 1000x scaling in some releases; kept as given).
        items[S.PRICE] = wide[PRICE_PROPERTY].str.removeprefix("n").to_numpy()
    if "available" in wide:
        items[S.IN_STOCK] = wide["available"].to_numpy()
    if "categoryid" in wide:
        paths = _category_paths(tree_path, encoding) if tree_path is not None else {}
        items[S.CATEGORY] = [paths.get(c, c) if isinstance(c, str) else None for c in wide["categoryid"]]
    return items


def _category_paths(tree_path: Path, encoding: str) -> dict[str, str]:
    tree = pd.read_csv(tree_path, dtype=str, encoding=encoding)
    parent = dict(zip(tree["categoryid"], tree["parentid"]))
    paths: dict[str, str] = {}
    for category in parent:
        chain, node, guard = [], category, 0
        while isinstance(node, str) and guard < 50:  # guard against cycles in a damaged tree
            chain.append(node)
            node, guard = parent.get(node), guard + 1
        paths[category] = S.CATEGORY_SEPARATOR.join(reversed(chain))
    return paths

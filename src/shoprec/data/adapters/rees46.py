"""REES46 "eCommerce behavior data from multi category store" (monthly CSVs such as 2019-Oct.csv).

Columns: event_time, event_type (view, cart, remove_from_cart, purchase), product_id, category_id,
category_code (e.g. electronics.smartphone), brand, price, user_id, user_session. Each event
carries the product's category, brand and price, which become the catalogue.
"""

from __future__ import annotations

from pathlib import Path

from shoprec.data import schema as S
from shoprec.data.adapters.common import file_source, with_columns
from shoprec.data.ingest import Source
from shoprec.data.mapping import ColumnMapping
from shoprec.data.readers import RawChunk, ReadOptions

MAPPING = ColumnMapping(
    columns={S.TIMESTAMP: "event_time", S.ITEM_ID: "product_id", S.SESSION_ID: "user_session", S.CATEGORY: "category_code"},
    event_type_map={"cart": "add_to_cart", "remove_from_cart": "remove_from_cart", "view": "view", "purchase": "purchase"},
)


def _category_path(chunk: RawChunk) -> RawChunk:
    if "category_code" not in chunk.frame:
        return chunk
    code = chunk.frame["category_code"].astype("string")
    return with_columns(chunk, category_code=code.str.replace(".", S.CATEGORY_SEPARATOR, regex=False).astype(object))


def sources(path: Path, options: ReadOptions) -> list[Source]:
    """One events source per monthly file (a folder ingests every *.csv[.gz] in it, in name order)."""
    files = sorted(p for p in path.iterdir() if p.name.endswith((".csv", ".csv.gz", ".zip"))) if path.is_dir() else [path]
    return [file_source("events", f, options, MAPPING, _category_path) for f in files]

"""Home Depot Product Search Relevance (Kaggle 2016): products, descriptions, attributes, judgments.

`products.csv` (product_uid, product_title) and `train.csv` (id, product_uid, product_title,
search_term, relevance) give titles; `product_descriptions.csv` the descriptions; the optional
`attributes.csv` (product_uid, name, value) the brand ("MFG Brand Name") and free attributes.
`train.csv` also gives the search judgments used by search evaluation. There are no events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shoprec.data import schema as S
from shoprec.data.adapters.common import dataset_folder, file_source, find, frame_source
from shoprec.data.ingest import Source
from shoprec.data.mapping import ColumnMapping
from shoprec.data.readers import ReadOptions

TITLES = ColumnMapping(columns={S.ITEM_ID: "product_uid", S.TITLE: "product_title"})
DESCRIPTIONS = ColumnMapping(columns={S.ITEM_ID: "product_uid", S.DESCRIPTION: "product_description"})
JUDGMENTS = ColumnMapping(columns={S.ITEM_ID: "product_uid", S.QUERY: "search_term"})
BRAND_ATTRIBUTE = "MFG Brand Name"


def sources(path: Path, options: ReadOptions) -> list[Source]:
    """Items (titles, then descriptions, then attributes), then the judgments of train.csv."""
    folder = dataset_folder(path, ("train.csv", "products.csv"))
    train = find(folder, "train.csv", required=False)
    products = find(folder, "products.csv", required=False)
    if train is None and products is None:
        find(folder, "train.csv", "products.csv")  # raises, naming what was expected
    result: list[Source] = []
    if products is not None:
        result.append(file_source("items", products, options, TITLES))
    if train is not None:
        # train.csv repeats each product's title; only item_id and title are taken from it as items.
        result.append(file_source("items", train, options, TITLES, _only_titles))
    descriptions = find(folder, "product_descriptions.csv", required=False)
    if descriptions is not None:
        result.append(file_source("items", descriptions, options, DESCRIPTIONS))
    attributes = find(folder, "attributes.csv", required=False)
    if attributes is not None:
        result.append(frame_source("items", str(attributes), lambda: _attribute_items(attributes, options.encoding)))
    if train is not None:
        result.append(file_source("judgments", train, options, JUDGMENTS, _only_judgments))
    return result


def _only_titles(chunk):  # type: ignore[no-untyped-def]
    from shoprec.data.readers import RawChunk

    return RawChunk(chunk.file, chunk.frame[["product_uid", "product_title"]], chunk.lines, chunk.rejects, raw_lines=chunk.raw_lines)


def _only_judgments(chunk):  # type: ignore[no-untyped-def]
    from shoprec.data.readers import RawChunk

    return RawChunk(chunk.file, chunk.frame[["product_uid", "search_term", "relevance"]], chunk.lines, chunk.rejects, raw_lines=chunk.raw_lines)


def _attribute_items(path: Path, encoding: str) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, encoding=encoding).dropna(subset=["product_uid", "name"])
    raw["product_uid"] = raw["product_uid"].str.replace(r"\.0$", "", regex=True)
    rows = []
    for uid, group in raw.groupby("product_uid", sort=False):
        attrs = {str(n): str(v) for n, v in zip(group["name"], group["value"]) if isinstance(v, str)}
        brand = attrs.pop(BRAND_ATTRIBUTE, None)
        rows.append({S.ITEM_ID: uid, S.BRAND: brand, S.ATTRIBUTES: json.dumps(attrs, ensure_ascii=False) if attrs else None})
    return pd.DataFrame(rows, columns=[S.ITEM_ID, S.BRAND, S.ATTRIBUTES])

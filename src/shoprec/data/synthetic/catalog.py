"""The synthetic catalogue: a category tree, brands per department, and items with titles,
descriptions, log-normal prices and power-law popularity.

Internally items are numbered so that each leaf's items are contiguous and leaves are grouped by
department; the behaviour sampler relies on that to draw an item of a category by one binary search.
External item ids are assigned in a shuffled order, so an id says nothing about the category.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from shoprec.data import schema as S
from shoprec.data.synthetic.vocabulary import Vocabulary

# Spread of log prices around a leaf's median (sigma of the log-normal).
PRICE_SIGMA = 0.45
# Zipf exponent of item popularity within a leaf.
POPULARITY_EXPONENT = 1.0
IN_STOCK_RATE = 0.95
# Search phrasings kept per item (see Vocabulary.query).
QUERY_STYLES = 3


@dataclass(frozen=True)
class Catalog:
    """Items in internal order (see module docstring) and the canonical items frame."""

    items: pd.DataFrame  # schema.ITEM_COLUMNS, one row per item, sorted by item_id
    item_ids: np.ndarray  # external id of each internal item index
    leaf_paths: tuple[str, ...]
    department_names: tuple[str, ...]
    department_of_leaf: np.ndarray  # int64, per leaf
    leaf_of_item: np.ndarray  # int64, per item (non-decreasing)
    brand_of_item: np.ndarray  # int64, global brand index
    brand_names: tuple[str, ...]
    department_of_brand: np.ndarray  # int64, per global brand
    price: np.ndarray  # float64
    price_ratio: np.ndarray  # price / the leaf's median price
    popularity: np.ndarray  # float64, base popularity (sums to 1)
    in_stock: np.ndarray  # bool
    queries: pa.Array  # string, QUERY_STYLES per item: item i owns [i*QUERY_STYLES, (i+1)*QUERY_STYLES)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.item_ids)

    @property
    def department_of_item(self) -> np.ndarray:
        """Department index of every item."""
        return self.department_of_leaf[self.leaf_of_item]


def id_labels(prefix: str, numbers: np.ndarray, total: int) -> np.ndarray:
    """External ids like "i000123": the prefix and a zero-padded number, at least 6 digits."""
    width = max(6, len(str(max(total - 1, 0))))
    return np.array([f"{prefix}{n:0{width}d}" for n in numbers.tolist()], dtype=object)


def _items_per_leaf(rng: np.random.Generator, n_items: int, leaf_weight: np.ndarray) -> np.ndarray:
    n_leaves = len(leaf_weight)
    share = leaf_weight / leaf_weight.sum()
    if n_items >= n_leaves:
        # Every leaf gets at least one product, so every category (and every flagship title) exists.
        return 1 + rng.multinomial(n_items - n_leaves, share)
    return rng.multinomial(n_items, share)


def _pick(rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    """A uniform index below each of `sizes`."""
    return np.floor(rng.random(len(sizes)) * sizes).astype(np.int64)


def build_catalog(rng: np.random.Generator, n_items: int, vocab: Vocabulary) -> Catalog:
    """Draw a catalogue of `n_items` products from the vocabulary."""
    departments = vocab.departments
    leaves = [leaf for dept in departments for leaf in dept.leaves]
    department_of_leaf = np.array([d for d, dept in enumerate(departments) for _ in dept.leaves], dtype=np.int64)
    brand_names = tuple(b for dept in departments for b in dept.brands)
    department_of_brand = np.array([d for d, dept in enumerate(departments) for _ in dept.brands], dtype=np.int64)
    brand_offset = np.concatenate([[0], np.cumsum([len(dept.brands) for dept in departments])])

    # Some aisles are simply bigger (and busier) than others.
    leaf_weight = rng.lognormal(0.0, 0.4, len(leaves))
    counts = _items_per_leaf(rng, n_items, leaf_weight)
    leaf_of_item = np.repeat(np.arange(len(leaves)), counts)
    leaf_start = np.concatenate([[0], np.cumsum(counts)])[:-1]
    rank_in_leaf = np.arange(n_items) - leaf_start[leaf_of_item]  # 0 = the leaf's first item
    dept_of_item = department_of_leaf[leaf_of_item]

    # Brands: within a department a few brands carry most products (Zipf-like shares).
    brands_in_dept = np.diff(brand_offset)[dept_of_item]
    brand_draw = np.minimum((rng.pareto(1.2, n_items) * 1.5).astype(np.int64), brands_in_dept - 1)
    brand_perm = np.concatenate([off + rng.permutation(n) for off, n in zip(brand_offset[:-1], np.diff(brand_offset))])
    brand_of_item = brand_perm[brand_offset[dept_of_item] + brand_draw]
    brand_premium = rng.lognormal(0.0, 0.25, len(brand_names))

    # Log-normal prices around the leaf median, nudged by the brand's positioning; a bigger pack or
    # more storage costs more (the variant index runs from the smallest).
    kinds = [leaf.variant_kind for leaf in leaves]
    variant = _pick(rng, np.array([len(vocab.variants[k]) for k in kinds])[leaf_of_item])
    kind_of_item = np.array(kinds, dtype=object)[leaf_of_item]
    pack = np.array(vocab.variants["pack"], dtype=float)[np.minimum(variant, len(vocab.variants["pack"]) - 1)]
    variant_factor = np.where(kind_of_item == "pack", pack**0.7, np.where(kind_of_item == "capacity", 1.2**variant, 1.0))
    median = np.array([leaf.median_price for leaf in leaves])[leaf_of_item]
    raw_price = median * variant_factor * brand_premium[brand_of_item] * rng.lognormal(0.0, PRICE_SIGMA, n_items)
    if vocab.lang == "zh":
        price = np.maximum(np.round(raw_price), 2.0) - 0.1  # 79.9, 299.9
    else:
        price = np.maximum(np.round(raw_price), 1.0) - 0.01  # 4.99, 79.99
    price_ratio = price / (median * variant_factor)  # how dear an item is for what it is

    # Popularity: Zipf within each leaf (random rank order), scaled by the leaf's own weight.
    within_rank = np.empty(n_items, dtype=np.int64)
    order = np.lexsort((rng.random(n_items), leaf_of_item))
    within_rank[order] = np.arange(n_items) - leaf_start[leaf_of_item[order]]
    popularity = leaf_weight[leaf_of_item] * (within_rank + 1.0) ** -POPULARITY_EXPONENT
    popularity /= popularity.sum()
    in_stock = rng.random(n_items) < IN_STOCK_RATE

    texts = _texts(rng, vocab, leaves, leaf_of_item, rank_in_leaf, variant, brand_of_item, brand_names, dept_of_item)
    numbers = rng.permutation(n_items)
    item_ids = id_labels("i", numbers, n_items)
    order_by_id = np.argsort(numbers)
    table = pa.table(
        {
            S.ITEM_ID: pa.array(item_ids[order_by_id], pa.string()),
            S.TITLE: pa.array(texts["title"], pa.string()).take(order_by_id),
            S.DESCRIPTION: pa.array(texts["description"], pa.string()).take(order_by_id),
            S.CATEGORY: pa.array([leaf.path for leaf in leaves], pa.string()).take(leaf_of_item[order_by_id]),
            S.BRAND: pa.array(brand_names, pa.string()).take(brand_of_item[order_by_id]),
            S.PRICE: pa.array(price[order_by_id], pa.float64()),
            S.IN_STOCK: pa.array(in_stock[order_by_id], pa.bool_()),
            S.ATTRIBUTES: pa.array(texts["attributes"], pa.string()).take(order_by_id),
        },
        schema=S.ITEM_SCHEMA,
    )
    return Catalog(
        items=table.to_pandas(),
        item_ids=item_ids,
        leaf_paths=tuple(leaf.path for leaf in leaves),
        department_names=tuple(dept.name for dept in departments),
        department_of_leaf=department_of_leaf,
        leaf_of_item=leaf_of_item,
        brand_of_item=brand_of_item,
        brand_names=brand_names,
        department_of_brand=department_of_brand,
        price=price,
        price_ratio=price_ratio,
        popularity=popularity,
        in_stock=in_stock,
        queries=pa.array(texts["queries"], pa.string()),
    )


def _texts(
    rng: np.random.Generator,
    vocab: Vocabulary,
    leaves: list,
    leaf_of_item: np.ndarray,
    rank_in_leaf: np.ndarray,
    var: np.ndarray,
    brand_of_item: np.ndarray,
    brand_names: tuple[str, ...],
    dept_of_item: np.ndarray,
) -> dict[str, list[str]]:
    """Titles, descriptions, attribute JSON and search phrasings, one loop per item (not per event)."""
    n = len(leaf_of_item)
    n_adj = np.array([len(leaf.adjectives) for leaf in leaves])[leaf_of_item]
    n_noun = np.array([len(leaf.nouns) for leaf in leaves])[leaf_of_item]
    n_feat = np.array([len(leaf.features) for leaf in leaves])[leaf_of_item]
    adj, noun, feat = _pick(rng, n_adj), _pick(rng, n_noun), _pick(rng, n_feat)
    # A leaf's first product is its flagship, named with the leaf's first words ("无线蓝牙耳机 降噪").
    flagship = rank_in_leaf == 0
    adj[flagship], noun[flagship], feat[flagship] = 0, 0, 0
    colour = _pick(rng, np.full(n, len(vocab.variants["color"])))
    material = _pick(rng, np.array([len(d.materials) for d in vocab.departments])[dept_of_item])
    use = _pick(rng, np.array([len(d.uses) for d in vocab.departments])[dept_of_item])
    n_sentences = rng.integers(1, 4, n)
    sentence_order = np.argsort(rng.random((n, len(vocab.sentences))), axis=1)
    query_styles = np.arange(QUERY_STYLES)

    titles: list[str] = []
    descriptions: list[str] = []
    attributes: list[str] = []
    queries: list[str] = []
    for i in range(n):
        leaf = leaves[leaf_of_item[i]]
        dept = vocab.departments[dept_of_item[i]]
        kind = leaf.variant_kind
        words = {
            "brand": brand_names[brand_of_item[i]],
            "adjective": leaf.adjectives[adj[i]],
            "noun": leaf.nouns[noun[i]],
            "feature": leaf.features[feat[i]],
            "material": dept.materials[material[i]],
            "use": dept.uses[use[i]],
            "variant": vocab.variant_text(kind, vocab.variants[kind][var[i]]),
        }
        titles.append(vocab.title(words["brand"], words["adjective"], words["noun"], words["feature"], words["variant"]))
        sentences = [vocab.sentences[j].format(**words) for j in sentence_order[i, : n_sentences[i]]]
        descriptions.append(("" if vocab.lang == "zh" else " ").join(sentences))
        # Clothes and devices come in a colour as well as a size or capacity; food and packs do not.
        attrs = {"color": vocab.variants["color"][colour[i]]} if kind in ("size", "capacity") else {}
        attrs[kind] = vocab.variants[kind][var[i]]
        attrs["material"] = words["material"]
        attributes.append(json.dumps(attrs, ensure_ascii=False, sort_keys=True))
        queries.extend(vocab.query(words["brand"], words["adjective"], words["noun"], s) for s in query_styles)
    return {"title": titles, "description": descriptions, "attributes": attributes, "queries": queries}

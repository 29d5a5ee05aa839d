"""What the lexical index stores and how: its tantivy schema, one document per item, its
settings, and its state on disk (what it was built from, per-item bookkeeping).

Every text field is indexed three ways: `<field>` with tantivy's English stemmer (BM25 scoring),
`<field>_raw` lowercased but unstemmed (typo and prefix matching compare spellings, and a stem
is not one: "cordles" stems to "cordl", one typo from "cordless" but three from its stem), and
`<field>_zh` for text with CJK characters, pre-segmented by jieba into space-separated words.
A text goes to the first two or to the third, never both.
"""

from __future__ import annotations

import fcntl
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tantivy import Document, Index, IndexWriter, Schema, SchemaBuilder

from shoprec import threads as thread_policy
from shoprec.atomic import staged_folder, write_atomic, write_with
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ConfigError, DataError, NotFittedError, ShoprecError
from shoprec.progress import task
from shoprec.search.facets import DEFAULT_FACET_LIMIT, DEFAULT_PRICE_EDGES, category_prefixes, check_price_edges
from shoprec.search.text import TypoRule, chinese_index_text, has_cjk

FORMAT = 2  # bump when the schema or the documents change: open_or_build then rebuilds
# Index builds of this many documents or more show progress (an upsert through the API does not).
PROGRESS_MIN_DOCUMENTS = 5_000
STATE_FILE, CATALOG_FILE = "state.json", "catalog.parquet"

ITEM_ID = S.ITEM_ID
TEXT_FIELDS = (S.TITLE, S.BRAND, S.CATEGORY, S.DESCRIPTION, S.ATTRIBUTES)
DEFAULT_BOOSTS = {S.TITLE: 3.0, S.BRAND: 2.0, S.CATEGORY: 1.5, S.ATTRIBUTES: 1.0, S.DESCRIPTION: 0.5}
SEQ, POPULARITY, PRICE, OUT_OF_STOCK = "seq", "popularity", S.PRICE, "out_of_stock"
# Relevance is multiplied by log2(2 + tiebreak) (tantivy's weight_by_field): with tiebreak =
# TIEBREAK_SCALE * log1p(popularity) that is at most ~1.002, so equal scores (items matching the
# same words the same way) come out most popular first and no real difference is overturned.
TIEBREAK, TIEBREAK_SCALE = "tiebreak", 1e-4
TITLE_SHOWN = "title_shown"  # the title as written, stored for hits (not searched)
BRAND_KEY, BRAND_FACET = "brand_key", "brand_facet"  # casefolded for filters; as written for counts
CATEGORY_KEY, CATEGORY_FACET = "category_key", "category_facet"  # every level of the path, likewise


def raw(field_name: str) -> str:
    """The unstemmed copy of a text field (typo and prefix matching)."""
    return f"{field_name}_raw"


def zh(field_name: str) -> str:
    """The Chinese (jieba-segmented) copy of a text field."""
    return f"{field_name}_zh"


SEARCHED_FIELDS = TEXT_FIELDS + tuple(raw(f) for f in TEXT_FIELDS) + tuple(zh(f) for f in TEXT_FIELDS)


@dataclass(frozen=True)
class LexicalSettings:
    """How the lexical index scores and matches.

    `boosts` weigh each text field's BM25 (fields not named keep their default); a typo or
    prefix match scores `fuzzy_weight` times the field's boost. A query word may have one typo
    from `one_edit_from` characters and two from `two_edits_from`. `match_all` requires every
    query word; with `relax`, a query no item fully matches answers with items matching any word.
    """

    boosts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_BOOSTS))
    fuzzy_weight: float = 0.3
    one_edit_from: int = 5
    two_edits_from: int = 9
    prefix_last: bool = True
    match_all: bool = True
    relax: bool = True
    price_edges: tuple[float, ...] = DEFAULT_PRICE_EDGES
    facet_limit: int = DEFAULT_FACET_LIMIT
    synonyms_file: Path | None = None
    threads: int = 1  # tantivy writer threads; at most shoprec.threads.tantivy_threads() are used
    heap_mb: int = 64

    def __post_init__(self) -> None:
        unknown = sorted(set(self.boosts) - set(TEXT_FIELDS))
        if unknown:
            raise ConfigError(f"boosts: unknown field {unknown[0]!r}, expected some of {', '.join(TEXT_FIELDS)}")
        boosts = {**DEFAULT_BOOSTS, **{k: float(v) for k, v in self.boosts.items()}}
        for name, value in boosts.items():
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"boosts[{name!r}] must be a finite number >= 0, got {value}")
        object.__setattr__(self, "boosts", boosts)
        if not math.isfinite(self.fuzzy_weight) or self.fuzzy_weight < 0:
            raise ConfigError(f"fuzzy_weight must be a finite number >= 0, got {self.fuzzy_weight}")
        TypoRule(self.one_edit_from, self.two_edits_from)  # raises on a bad rule
        object.__setattr__(self, "price_edges", check_price_edges(self.price_edges))
        if self.facet_limit < 1:
            raise ConfigError(f"facet_limit must be at least 1, got {self.facet_limit}")
        if self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        if self.heap_mb < 15:
            raise ConfigError(f"heap_mb must be at least 15 (tantivy's minimum per thread), got {self.heap_mb}")
        if self.synonyms_file is not None:
            object.__setattr__(self, "synonyms_file", Path(self.synonyms_file))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["boosts"] = dict(self.boosts)
        out["price_edges"] = list(self.price_edges)
        out["synonyms_file"] = None if self.synonyms_file is None else str(self.synonyms_file)
        return out

    @classmethod
    def from_json(cls, raw_settings: Mapping[str, Any]) -> LexicalSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw_settings.items() if k in known}
        if "price_edges" in values:
            values["price_edges"] = tuple(values["price_edges"])
        return cls(**values)


def index_schema() -> Schema:
    """The tantivy schema of the lexical index."""
    builder = SchemaBuilder()
    builder.add_text_field(ITEM_ID, stored=True, tokenizer_name="raw", index_option="basic")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="en_stem", index_option="freq")
        builder.add_text_field(raw(name), tokenizer_name="default", index_option="basic")
        builder.add_text_field(zh(name), tokenizer_name="whitespace", index_option="freq")
    builder.add_bytes_field(TITLE_SHOWN, stored=True)
    builder.add_text_field(BRAND_KEY, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(BRAND_FACET, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(CATEGORY_KEY, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(CATEGORY_FACET, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_float_field(PRICE, indexed=True, fast=True)
    builder.add_float_field(POPULARITY, fast=True)
    builder.add_float_field(TIEBREAK, fast=True)
    builder.add_unsigned_field(SEQ, fast=True)
    builder.add_boolean_field(OUT_OF_STOCK, indexed=True)
    return builder.build()


# ---- items in ----------------------------------------------------------------------------------
def empty_items() -> pd.DataFrame:
    """An items table with no rows."""
    return S.ITEM_SCHEMA.empty_table().to_pandas()


def canonical_items(items: pd.DataFrame) -> pd.DataFrame:
    """Validate an items table and give it every item column: text as str or None, price as
    float (NaN when missing), in_stock as True/False/None. Errors name the field."""
    if not isinstance(items, pd.DataFrame):
        raise DataError(f"expected an items table (a pandas DataFrame), got {type(items).__name__}")
    if ITEM_ID not in items.columns:
        raise DataError("the items table has no item_id column", field=ITEM_ID)
    ids = items[ITEM_ID]
    if ids.isna().any():
        raise DataError(f"{int(ids.isna().sum())} rows have no item id", field=ITEM_ID)
    out = pd.DataFrame({ITEM_ID: pd.Series(ids.astype(str).to_numpy(object), dtype=object)})
    repeated = out[ITEM_ID][out[ITEM_ID].duplicated()].unique()
    if len(repeated):
        raise DataError(f"item ids must be unique, repeated: {', '.join(map(str, repeated[:5]))}", field=ITEM_ID)
    for name in (S.TITLE, S.DESCRIPTION, S.CATEGORY, S.BRAND, S.ATTRIBUTES):
        column = items[name] if name in items.columns else pd.Series([None] * len(items))
        # object dtype: pandas would otherwise store the missing values as NaN, not None
        out[name] = pd.Series([None if _missing(v) else str(v) for v in column], dtype=object)
    price = items[S.PRICE] if S.PRICE in items.columns else pd.Series([np.nan] * len(items))
    numbers = pd.to_numeric(price, errors="coerce").to_numpy(np.float64)
    bad = np.isnan(numbers) & ~price.isna().to_numpy()
    if bad.any():
        raise DataError(f"expected a number, got {price[bad].iloc[0]!r}", field=S.PRICE)
    out[S.PRICE] = numbers
    stock = items[S.IN_STOCK] if S.IN_STOCK in items.columns else pd.Series([None] * len(items))
    try:
        flags = stock.astype("boolean")
    except (TypeError, ValueError) as exc:
        raise DataError(f"expected true/false, got {stock.dropna().iloc[0]!r}", field=S.IN_STOCK) from exc
    out[S.IN_STOCK] = pd.Series([None if v is pd.NA else bool(v) for v in flags], dtype=object)
    return out


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A hash of each canonical row: a changed item gets a new one."""
    return pd.util.hash_pandas_object(frame[list(S.ITEM_COLUMNS)], index=False).to_numpy(np.uint64)


def attribute_text(value: str | None, item_id: str) -> str:
    """The values of an attributes JSON object as one text (keys are not searched)."""
    if not value:
        return ""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise DataError(f"item {item_id}: expected a JSON object, got {value[:60]!r}", field=S.ATTRIBUTES) from exc
    if not isinstance(parsed, dict):
        raise DataError(f"item {item_id}: expected a JSON object, got {value[:60]!r}", field=S.ATTRIBUTES)
    return " ".join(_leaves(parsed))


def _leaves(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for inner in value.values():
            yield from _leaves(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def document(row: Mapping[Any, Any], seq: int, popularity: float, used: set[str]) -> Document:
    """The tantivy document of one canonical item row; adds the searched fields it fills to `used`."""
    item_id = row[ITEM_ID]
    doc = Document()
    doc.add_text(ITEM_ID, item_id)
    doc.add_unsigned(SEQ, seq)
    doc.add_float(POPULARITY, float(popularity))
    doc.add_float(TIEBREAK, TIEBREAK_SCALE * math.log1p(max(float(popularity), 0.0)))
    if row[S.TITLE] is not None:
        doc.add_bytes(TITLE_SHOWN, row[S.TITLE].encode("utf-8"))
    for name in TEXT_FIELDS:
        text = attribute_text(row[name], item_id) if name == S.ATTRIBUTES else (row[name] or "")
        if not text.strip():
            continue
        if has_cjk(text):
            doc.add_text(zh(name), chinese_index_text(text))
            used.add(zh(name))
        else:
            doc.add_text(name, text)
            doc.add_text(raw(name), text)
            used.update((name, raw(name)))
    if row[S.BRAND]:
        doc.add_text(BRAND_KEY, row[S.BRAND].casefold())
        doc.add_text(BRAND_FACET, row[S.BRAND])
    for level in category_prefixes(row[S.CATEGORY]):
        doc.add_text(CATEGORY_KEY, level.casefold())
        doc.add_text(CATEGORY_FACET, level)
    if math.isfinite(row[S.PRICE]):
        doc.add_float(PRICE, float(row[S.PRICE]))
    if row[S.IN_STOCK] is False:
        doc.add_boolean(OUT_OF_STOCK, True)
    return doc


# ---- state -----------------------------------------------------------------------------------
class StaleFormatError(ShoprecError):
    """An index written by another version of shoprec: rebuild it."""


def empty_catalog() -> pd.DataFrame:
    """Per-item bookkeeping with no rows: seq, popularity and row_hash by item id."""
    return pd.DataFrame({SEQ: np.zeros(0, np.int64), POPULARITY: np.zeros(0, np.float64),
                         "row_hash": np.zeros(0, np.uint64)}, index=pd.Index([], dtype=object, name=ITEM_ID))


@dataclass
class IndexState:
    """Settings, per-item bookkeeping, the next sequence number, the store items table the index
    was made from (None when built from a frame) and the searched fields any item ever filled
    (queries leave the others out: the Chinese fields of an English shop, say)."""

    settings: LexicalSettings
    catalog: pd.DataFrame
    next_seq: int
    source: str | None
    fields: set[str] = field(default_factory=set)

    def save(self, path: Path) -> None:
        table = pa.table({ITEM_ID: pa.array(self.catalog.index.to_numpy(object), pa.string()),
                          SEQ: self.catalog[SEQ].to_numpy(np.int64), POPULARITY: self.catalog[POPULARITY].to_numpy(np.float64),
                          "row_hash": self.catalog["row_hash"].to_numpy(np.uint64)})
        write_with(path / CATALOG_FILE, lambda staged: pq.write_table(table, staged))
        state = {"format": FORMAT, "settings": self.settings.to_json(), "next_seq": self.next_seq, "source": self.source,
                 "fields": sorted(self.fields)}
        write_atomic(path / STATE_FILE, json.dumps(state, indent=2))

    @classmethod
    def load(cls, path: Path) -> IndexState:
        state_path = path / STATE_FILE
        if not state_path.is_file():
            raise NotFittedError(f"no lexical index at {path}: build one with LexicalIndex.build, or run 'shoprec search'")
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise StaleFormatError(f"{state_path} is unreadable ({exc}): rebuild the index") from exc
        if state.get("format") != FORMAT:
            raise StaleFormatError(f"the lexical index at {path} has format {state.get('format')}, this shoprec "
                                   f"reads {FORMAT}: rebuild it")
        catalog = pq.read_table(path / CATALOG_FILE).to_pandas().set_index(ITEM_ID)
        return cls(LexicalSettings.from_json(state["settings"]), catalog, int(state["next_seq"]), state["source"],
                   set(state["fields"]))


def diff(catalog: pd.DataFrame, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Rows of `frame` that are new or changed against the indexed `catalog`, and indexed ids
    no longer in `frame`."""
    hashes = row_hashes(frame)
    known = catalog["row_hash"].reindex(frame[ITEM_ID])
    changed = known.isna().to_numpy() | (known.fillna(0).to_numpy(np.uint64) != hashes)
    removed = sorted(set(catalog.index) - set(frame[ITEM_ID]))
    return changed, removed


def write_items(index: Index, state: IndexState, frame: pd.DataFrame, popularity: Mapping[str, float] | None,
                replace: Sequence[str]) -> None:
    """Delete the `replace` ids, add the rows of `frame` and commit; update `state` to match."""
    popularity = popularity or {}
    old = state.catalog
    ids = frame[ITEM_ID].tolist()
    known = old.reindex(ids)
    seqs = known[SEQ].to_numpy(np.float64, copy=True)
    fresh = np.isnan(seqs)
    seqs[fresh] = state.next_seq + np.arange(int(fresh.sum()))
    pops = np.array([popularity.get(i, np.nan) for i in ids], dtype=np.float64)
    pops = np.where(np.isnan(pops), known[POPULARITY].fillna(0.0).to_numpy(np.float64), pops)
    if not np.isfinite(pops).all():
        raise DataError("popularity must be finite numbers", field=POPULARITY)
    writer = _writer(index, state.settings)
    try:
        for item_id in replace:
            writer.delete_documents_by_term(ITEM_ID, item_id)
        with task("search: indexing documents", total=len(frame), unit="documents",
                  min_total=PROGRESS_MIN_DOCUMENTS) as progress:
            for row, seq, pop in zip(frame.to_dict("records"), seqs.astype(np.int64).tolist(), pops.tolist()):
                writer.add_document(document(row, seq, pop, state.fields))
                progress.advance()
            writer.commit()
    except BaseException:
        writer.rollback()
        raise
    finally:
        writer.wait_merging_threads()
    added = pd.DataFrame({SEQ: seqs.astype(np.int64), POPULARITY: pops, "row_hash": row_hashes(frame)},
                         index=pd.Index(ids, dtype=object, name=ITEM_ID))
    kept = old.drop(index=[i for i in replace if i in old.index])
    state.catalog = pd.concat([kept, added]) if len(kept) else added
    state.next_seq += int(fresh.sum())


def _writer(index: Index, settings: LexicalSettings) -> IndexWriter:
    n = min(settings.threads, thread_policy.tantivy_threads())
    try:
        return index.writer(heap_size=settings.heap_mb * n * 1_000_000, num_threads=n)
    except ValueError as exc:
        raise ShoprecError(f"the lexical index is being written by another process ({exc}); try again") from exc


@contextmanager
def staging(path: Path) -> Iterator[Path]:
    """A fresh folder beside `path` to build into; on success it replaces `path` whole (durably)."""
    with staged_folder(path) as tmp:
        yield tmp


def lock_path(path: Path) -> Path:
    """The lock file of the index at `path` (beside it: a rebuild replaces the folder)."""
    return path.parent / f".{path.name}.lock"


@contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive file lock: one writer of an index at a time, across processes."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def event_counts(store: Store) -> dict[str, float]:
    """Events per item in the store (searches left out): the popularity the index sorts by."""
    events = store.read_events()
    if not len(events):
        return {}
    events = events[events[S.EVENT_TYPE] != S.EventType.SEARCH.value]
    return {str(k): float(v) for k, v in events[S.ITEM_ID].value_counts().items()}

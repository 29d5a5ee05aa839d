"""Semantic search: item texts embedded by a sentence model, nearest neighbours by cosine in faiss.

Layout under `<workspace>/search/semantic/`:
- `index/`: the index state (meta.json, state.npz with ids, text keys and vectors, facts.parquet
  with the fields filters need, index.faiss for HNSW), written to a new folder and swapped in;
- `cache/`: the embedding cache (see embeddings_cache.py): rebuilding or updating encodes only
  texts never embedded before;
- `models/`: the distilled static encoder, when that encoder is used.

Vectors are L2-normalised, so inner product is cosine. An exact IndexFlatIP serves catalogues
under ~100k items; HNSW is the option for larger ones. Deleted or replaced items are
tombstoned and skipped with a faiss ID selector; the state is compacted when a quarter is dead
(always, for the flat index, where compaction is a copy).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd

from shoprec.atomic import staged_folder
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.errors import ConfigError, ShoprecError
from shoprec.ranking.filters import ItemFilters
from shoprec.search.embeddings_cache import ENCODERS, EmbeddingCache, Encoder, encoder_name, load_encoder, text_keys
from shoprec.search.text import MAX_QUERY_CHARS

FOLDER = Path("search") / "semantic"
FORMAT_VERSION = 1
INDEX_KINDS = ("auto", "flat", "hnsw")
HNSW_FROM = 100_000  # "auto" switches to HNSW from this many items
_FACT_COLUMNS = (S.CATEGORY, S.BRAND, S.PRICE, S.IN_STOCK)
_QUERY_CACHE = 256


@dataclass(frozen=True)
class SemanticSettings:
    """How items are embedded and indexed.

    `description_chars`: how many leading characters of the description join the item text
    (0: title, brand and category only). `index`: "flat" (exact), "hnsw" or "auto".
    """

    encoder: str = "minilm"
    description_chars: int = 0
    index: str = "auto"
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 128

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ConfigError(f"encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}")
        if self.index not in INDEX_KINDS:
            raise ConfigError(f"index must be one of {', '.join(INDEX_KINDS)}, got {self.index!r}")
        for name in ("hnsw_m", "ef_construction", "ef_search"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.description_chars < 0:
            raise ConfigError(f"description_chars must be >= 0, got {self.description_chars}")

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SemanticSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def item_texts(items: pd.DataFrame, description_chars: int = 0) -> list[str]:
    """The text embedded for each item: title, brand (unless the title names it), category levels
    and the head of the description (cut at a word boundary)."""
    texts = []
    for title, brand, category, description in zip(_strings(items, S.TITLE), _strings(items, S.BRAND),
                                                    _strings(items, S.CATEGORY), _strings(items, S.DESCRIPTION)):
        parts = [title] if title else []
        if brand and brand.casefold() not in title.casefold():
            parts.append(brand)
        if category:
            parts.append(", ".join(S.category_levels(category)))
        if description_chars and description:
            head = description[:description_chars]
            if len(description) > description_chars and " " in head:
                head = head.rsplit(" ", 1)[0]
            parts.append(head)
        texts.append(". ".join(p.strip() for p in parts if p.strip()))
    return texts


def _strings(items: pd.DataFrame, column: str) -> list[str]:
    if column not in items.columns:
        return [""] * len(items)
    return [v if isinstance(v, str) else "" for v in items[column].tolist()]


class SemanticIndex:
    """Nearest-neighbour search over item embeddings; `build`, `open`, `open_or_build`, `upsert`, `delete`."""

    def __init__(self, path: Path, settings: SemanticSettings, ids: np.ndarray, alive: np.ndarray, keys: np.ndarray,
                 vectors: np.ndarray, facts: pd.DataFrame, index: Any = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self._ids, self._alive, self._keys, self._vectors = ids.astype(object), alive.astype(bool), keys, vectors
        self._facts = facts
        self._position = {str(i): p for p, i in enumerate(self._ids) if self._alive[p]}
        self._index = index if index is not None else self._new_index(vectors)
        self._encoder: Encoder | None = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self.encoded_last = 0  # texts encoded by the last build/upsert (the rest came from the cache)

    # ------------------------------------------------------------------ building and opening
    @classmethod
    def build(cls, path: Path, items: pd.DataFrame, settings: SemanticSettings | None = None) -> SemanticIndex:
        """Embed every item of `items` (reusing cached embeddings) and write a fresh index at `path`."""
        settings = settings or SemanticSettings()
        dim = 0
        empty = cls(path, settings, np.zeros(0, object), np.zeros(0, bool), np.zeros(0, "S20"),
                    np.zeros((0, dim), np.float32), _facts_of(items.iloc[:0]))
        empty._index = None
        empty.upsert(items)
        return empty

    @classmethod
    def open(cls, path: Path) -> SemanticIndex:
        """Read an index written by `build`; a ShoprecError when it is missing or damaged."""
        folder = _index_folder(Path(path))
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format_version") != FORMAT_VERSION:
                raise ShoprecError(f"{folder}: format_version {meta.get('format_version')}, expected {FORMAT_VERSION}")
            with np.load(folder / "state.npz", allow_pickle=False) as state:
                ids, alive, keys, vectors = (state["ids"], state["alive"], state["keys"], state["vectors"])
            facts = pd.read_parquet(folder / "facts.parquet")
            index = faiss.read_index(str(folder / "index.faiss")) if (folder / "index.faiss").exists() else None
        except (OSError, ValueError, KeyError, json.JSONDecodeError, RuntimeError) as exc:
            raise ShoprecError(f"no readable semantic index at {folder}: {exc}") from exc
        return cls(path, SemanticSettings.from_json(meta["settings"]), ids, alive, keys, vectors.astype(np.float32),
                   facts, index)

    @classmethod
    def open_or_build(cls, workspace: Path, settings: SemanticSettings | None = None,
                      items: pd.DataFrame | None = None) -> SemanticIndex:
        """The workspace's index, brought up to date with its catalogue (or `items`).

        Only items that are new or whose text changed are embedded; items gone from the
        catalogue are dropped. A stored index built with other settings is rebuilt (still
        through the embedding cache).
        """
        path = Path(workspace) / FOLDER
        if items is None:
            store = Store(Path(workspace))
            try:
                items = store.items()
            finally:
                store.close()
        if (_index_folder(path) / "meta.json").exists():
            try:
                index = cls.open(path)
            except ShoprecError:
                index = None
            if index is not None and (settings is None or index.settings == settings):
                index.sync(items)
                return index
        return cls.build(path, items, settings)

    # ------------------------------------------------------------------ updates
    def sync(self, items: pd.DataFrame) -> tuple[int, int]:
        """Make the index hold exactly `items`: upsert new or changed ones, delete the rest.
        Returns (items embedded or re-embedded, items deleted)."""
        ids = items[S.ITEM_ID].astype(str).to_numpy()
        present = set(ids.tolist())
        gone = [i for i in self._position if i not in present]
        changed = self._changed(items)
        facts_changed = not _facts_of(items).sort_index().equals(self._facts.sort_index())
        if gone:
            self.delete(gone)
        if changed.any() or facts_changed:
            self.upsert(items[changed] if not facts_changed else items)
        return self.encoded_last if changed.any() else 0, len(gone)

    def _changed(self, items: pd.DataFrame) -> np.ndarray:
        keys = text_keys(encoder_name(self.settings.encoder), item_texts(items, self.settings.description_chars))
        positions = np.array([self._position.get(str(i), -1) for i in items[S.ITEM_ID]], dtype=np.int64)
        known = positions >= 0
        same = np.zeros(len(items), bool)
        same[known] = self._keys[positions[known]] == keys[known]
        return ~same

    def upsert(self, items: pd.DataFrame) -> None:
        """Add new items and re-embed changed ones (only texts not in the cache are encoded); saves."""
        if S.ITEM_ID not in items.columns:
            raise ConfigError(f"items must have an '{S.ITEM_ID}' column, got {list(items.columns)}")
        items = items.drop_duplicates(S.ITEM_ID, keep="last")
        ids = items[S.ITEM_ID].astype(str).to_numpy()
        model = encoder_name(self.settings.encoder)
        texts = item_texts(items, self.settings.description_chars)
        keys = text_keys(model, texts)
        positions = np.array([self._position.get(i, -1) for i in ids], dtype=np.int64)
        known = positions >= 0
        unchanged = np.zeros(len(ids), bool)
        unchanged[known] = self._keys[positions[known]] == keys[known]
        todo = np.flatnonzero(~unchanged)
        cache = EmbeddingCache(self.path / "cache", model)
        missing = bool(cache.missing(keys[todo]).any())
        vectors, self.encoded_last = cache.embed([texts[i] for i in todo], self.encoder if missing else None,
                                                 keys=keys[todo])
        self._alive[positions[todo][known[todo]]] = False
        self._ids = np.concatenate([self._ids, ids[todo].astype(object)])
        self._alive = np.concatenate([self._alive, np.ones(len(todo), bool)])
        self._keys = np.concatenate([self._keys, keys[todo]])
        self._vectors = vectors if not len(self._vectors) else np.concatenate([self._vectors, vectors])
        if self._index is not None and len(todo):
            self._index.add(vectors)
        self._facts = pd.concat([self._facts.drop(index=ids, errors="ignore"), _facts_of(items)])
        self._after_update()
        self._prune_cache(cache)

    def delete(self, item_ids: list[str] | np.ndarray) -> int:
        """Drop items (unknown ids are ignored); saves. Returns how many were dropped."""
        positions = [self._position[str(i)] for i in item_ids if str(i) in self._position]
        self._alive[positions] = False
        self._facts = self._facts.drop(index=[str(i) for i in item_ids], errors="ignore")
        self._after_update()
        return len(positions)

    def _after_update(self) -> None:
        dead = int((~self._alive).sum())
        if self._index is None or (dead and (self._kind() == "flat" or dead > 0.25 * len(self._alive))):
            keep = self._alive
            self._ids, self._alive, self._keys, self._vectors = (self._ids[keep], self._alive[keep], self._keys[keep],
                                                                 self._vectors[keep])
            self._index = self._new_index(self._vectors)
        self._position = {str(i): p for p, i in enumerate(self._ids) if self._alive[p]}
        self._save()

    def _prune_cache(self, cache: EmbeddingCache) -> None:
        # Old texts stay cached (an edit undone costs nothing) until they outnumber the live ones.
        if len(cache) > 2 * max(len(self), 1_000):
            cache.retain(self._keys[self._alive])

    # ------------------------------------------------------------------ faiss
    def _kind(self) -> str:
        if self.settings.index != "auto":
            return self.settings.index
        return "hnsw" if len(self._alive) >= HNSW_FROM else "flat"

    def _new_index(self, vectors: np.ndarray) -> Any:
        dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else self._dim_hint()
        index: Any
        if self._kind() == "hnsw":
            index = faiss.IndexHNSWFlat(dim, self.settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.settings.ef_construction
        else:
            index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index

    def _dim_hint(self) -> int:
        return 384 if self.settings.encoder == "minilm" else 256

    def _save(self) -> None:
        with staged_folder(_index_folder(self.path)) as new:
            np.savez(new / "state.npz", ids=self._ids.astype(str), alive=self._alive, keys=self._keys, vectors=self._vectors)
            self._facts.to_parquet(new / "facts.parquet")
            if self._kind() == "hnsw":
                faiss.write_index(self._index, str(new / "index.faiss"))
            meta = {"format_version": FORMAT_VERSION, "settings": asdict(self.settings), "items": len(self),
                    "model": encoder_name(self.settings.encoder), "index": self._kind()}
            (new / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    # ------------------------------------------------------------------ queries
    @property
    def encoder(self) -> Encoder:
        """The sentence encoder, loaded on first use (~2 s for MiniLM)."""
        if self._encoder is None:
            self._encoder = load_encoder(self.settings.encoder, self.path / "models")
        return self._encoder

    def __len__(self) -> int:
        return len(self._position)

    def __contains__(self, item_id: object) -> bool:
        return str(item_id) in self._position

    def embed_queries(self, queries: list[str]) -> np.ndarray:
        """Embeddings of many queries in one batch (much faster than one by one); the last
        `_QUERY_CACHE` are remembered, so `search` on them right after encodes nothing."""
        queries = [q[:MAX_QUERY_CHARS] for q in queries]
        todo = [q for q in dict.fromkeys(queries) if q not in self._queries]
        if todo:
            for query, vector in zip(todo, self.encoder.encode(todo)):
                self._remember(query, vector)
        return np.stack([self.embed_query(q) for q in queries]) if queries else np.zeros((0, self._dim_hint()), np.float32)

    def _remember(self, query: str, vector: np.ndarray) -> None:
        self._queries[query] = vector
        if len(self._queries) > _QUERY_CACHE:
            self._queries.popitem(last=False)

    def embed_query(self, query: str) -> np.ndarray:
        """The query's normalised embedding (the last few hundred are remembered); a query is cut
        to the first MAX_QUERY_CHARS characters, as the lexical engine cuts it."""
        query = query[:MAX_QUERY_CHARS]
        if query in self._queries:
            self._queries.move_to_end(query)
            return self._queries[query]
        vector = self.encoder.encode([query])[0]
        self._remember(query, vector)
        return vector

    def _allowed(self, filters: ItemFilters | None) -> np.ndarray:
        allowed = self._alive.copy()
        if filters is not None and not filters.is_empty:
            passing = self._facts.index[filters.mask(self._facts.reset_index())]
            allowed &= np.isin(self._ids, passing.to_numpy())
        return allowed

    def search(self, query: str, k: int = 10, filters: ItemFilters | None = None) -> list[tuple[str, float]]:
        """The `k` items closest to `query` by cosine, best first, as (item_id, score)."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        if not query.strip() or not len(self):
            return []
        allowed = self._allowed(filters)
        n_allowed = int(allowed.sum())
        if not n_allowed:
            return []
        vector = self.embed_query(query)[None, :]
        k = min(k, n_allowed)
        if self._kind() == "hnsw" and n_allowed < 20_000 and n_allowed < len(allowed):
            # A narrow filter starves the HNSW walk; the few passing vectors are scored exactly instead.
            rows = np.flatnonzero(allowed)
            scores = self._vectors[rows] @ vector[0]
            top = np.argsort(-scores, kind="stable")[:k]
            return [(str(self._ids[rows[i]]), float(scores[i])) for i in top]
        params: Any = faiss.SearchParameters()
        if self._kind() == "hnsw":
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # missing from faiss' stubs
            params.efSearch = max(self.settings.ef_search, k)
        bitmap = None
        if n_allowed < len(allowed):
            bitmap = np.packbits(allowed, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
        scores, rows = self._index.search(np.ascontiguousarray(vector, dtype=np.float32), k, params=params)
        del bitmap
        return [(str(self._ids[r]), float(s)) for s, r in zip(scores[0], rows[0]) if r >= 0]

    def similarity(self, query: str, item_ids: list[str] | np.ndarray) -> np.ndarray:
        """Cosine between `query` and each item (NaN for an item not in the index)."""
        positions = np.array([self._position.get(str(i), -1) for i in item_ids], dtype=np.int64)
        out = np.full(len(positions), np.nan)
        known = positions >= 0
        if known.any() and query.strip():
            out[known] = self._vectors[positions[known]] @ self.embed_query(query)
        return out


def _index_folder(path: Path) -> Path:
    folder = Path(path) / "index"
    new = folder.with_name(folder.name + ".new")
    if not folder.exists() and (new / "meta.json").exists():
        new.rename(folder)  # a swap interrupted between its two renames
    return folder


def _facts_of(items: pd.DataFrame) -> pd.DataFrame:
    """The fields filters read, indexed by item id."""
    frame = pd.DataFrame({S.ITEM_ID: items[S.ITEM_ID].astype(str).to_numpy()})
    for column in _FACT_COLUMNS:
        frame[column] = items[column].to_numpy() if column in items.columns else None
    frame[S.PRICE] = pd.to_numeric(frame[S.PRICE], errors="coerce").astype("float64")
    frame[S.IN_STOCK] = frame[S.IN_STOCK].astype("boolean")
    for column in (S.CATEGORY, S.BRAND):
        frame[column] = frame[column].astype("string")
    return frame.set_index(S.ITEM_ID)

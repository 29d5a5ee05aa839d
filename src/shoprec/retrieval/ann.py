"""Maximum-inner-product search over a model's item vectors with faiss: exact for small catalogues,
HNSW (or IVF) for large ones.

`AnnIndex.build(model.item_vectors())` picks the kind: below EXACT_MAX_ITEMS items an exact
`IndexFlatIP` (scanning 50,000 vectors of 65 floats takes about a millisecond, so an approximation
buys little and costs recall), above it an HNSW graph on the inner product. `search` gives each
query's best items with their exact inner products. `retrieve` answers "top k for these histories"
for an embedding model (shoprec.retrieval.embeddings) with the business filters applied, asking
the index for more than k and falling back to exhaustive scoring when the filters leave too few.
See docs/retrieval.md for the measured recall and latency behind the defaults.

Threads: faiss parallelises with OpenMP, whose thread count is per calling thread. A search uses
one thread by default (a service answers requests side by side, one per thread); a build uses
every core by default. Both restore the calling thread's setting afterwards.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from shoprec import threads as thread_policy
from shoprec.data.history import Histories
from shoprec.errors import ShoprecError
from shoprec.models.base import top_k
from shoprec.models.ranked import RankedList
from shoprec.retrieval.embeddings import EmbeddingModel, is_embedding_model

Kind = Literal["auto", "exact", "hnsw", "ivf"]
KINDS: tuple[str, ...] = ("auto", "exact", "hnsw", "ivf")

# kind="auto": exact search up to this many items, HNSW above.
EXACT_MAX_ITEMS = 50_000
# HNSW: links per node, build-time and search-time beam widths (docs/retrieval.md: on iALS vectors
# of the 100,000-item benchmark shop, recall@10 against exact was 0.993 at ef_search 64 and 0.997 at
# 128, each about 0.1-0.2 ms a query; 128 leaves room for larger catalogues, where recall drops at
# a given beam). A search for k items uses a beam of at least HNSW_BEAM_PER_RESULT x k: with a beam
# of exactly k the deep end of the list is often wrong (recall of the top 267 of 20,000 random
# vectors: 0.95 with a beam of 267, 0.99 with 534), and `retrieve` reads that deep end when filters
# remove the head.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 128
HNSW_BEAM_PER_RESULT = 2
# IVF: lists = IVF_LISTS_PER_SQRT x sqrt(items), of which a share IVF_NPROBE_SHARE is scanned per
# query. The lists are k-means cells (Euclidean), which suit the inner product poorly when vector
# lengths vary as much as iALS's: on the 100,000-item benchmark shop recall@10 was 0.65 scanning 32
# of 1,264 lists and 0.94 scanning 128 (HNSW: 0.997 at a similar latency), hence "auto" never
# picks IVF and its default scans an eighth of the lists.
IVF_LISTS_PER_SQRT = 4
IVF_NPROBE_SHARE = 1 / 8
# faiss asks for at least 39 training vectors per list; fewer lists when the catalogue is small.
IVF_MIN_POINTS_PER_LIST = 39

INDEX_FILE = "index.faiss"
META_FILE = "index.json"
FORMAT_VERSION = 1

# retrieve(): the index is asked for (k + RETRIEVE_MARGIN) / (share of items allowed) + (items the
# user excludes), doubled while too few survive the filters, up to MAX_FETCH_SHARE of the catalogue
# (at least MIN_FETCH_CAP, at most MAX_FETCH items); past that (or when fewer than MIN_ALLOWED_SHARE
# of the items are allowed) the allowed items are scored exhaustively instead, which is then
# cheaper than a wide approximate search.
RETRIEVE_MARGIN = 10
MAX_FETCH_SHARE = 0.05
MIN_FETCH_CAP = 1_000
MAX_FETCH = 4_096
MIN_ALLOWED_SHARE = 0.02
# Exhaustive scoring works on blocks of at most this many users x items cells (80 MB of float32).
EXHAUSTIVE_CELLS = 20_000_000


@dataclass(eq=False)
class AnnIndex:
    """A faiss index over item vectors for maximum inner product search (items are rows 0..n_items-1).

    Build with `AnnIndex.build`, read with `AnnIndex.load`. `kind` is "exact", "hnsw" or "ivf";
    `params` holds the kind's settings (m, ef_construction, ef_search; nlist, nprobe).
    """

    kind: str
    n_items: int
    dim: int
    params: dict[str, int] = field(default_factory=dict)
    index: Any = field(default=None, repr=False)  # the faiss.Index

    # ----------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        item_vectors: np.ndarray,
        kind: Kind = "auto",
        *,
        m: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = HNSW_EF_SEARCH,
        nlist: int | None = None,
        nprobe: int | None = None,
        threads: int | None = None,
    ) -> AnnIndex:
        """An index over `item_vectors` (n_items x d, float, finite).

        kind "auto" is "exact" up to EXACT_MAX_ITEMS items and "hnsw" above. `m`,
        `ef_construction` and `ef_search` set the HNSW graph, `nlist` (default IVF_LISTS_PER_SQRT x
        sqrt(n_items)) and `nprobe` (default IVF_NPROBE_SHARE of the lists) the IVF lists. `threads`: OpenMP threads for the build (None:
        the thread policy's count, shoprec.threads).
        """
        vectors = check_vectors(item_vectors, "item vectors")
        if kind not in KINDS:
            raise ShoprecError(f"index kind must be one of {', '.join(KINDS)}, got {kind!r}")
        n, d = vectors.shape
        if kind == "auto":
            kind = "exact" if n <= EXACT_MAX_ITEMS else "hnsw"
        for name, value in (("m", m), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            _check_positive(name, value)
        with omp_threads(threads or thread_policy.count()):
            index: Any
            if kind == "exact":
                index = faiss.IndexFlatIP(d)
                params: dict[str, int] = {}
            elif kind == "hnsw":
                graph = faiss.IndexHNSWFlat(d, int(m), faiss.METRIC_INNER_PRODUCT)
                graph.hnsw.efConstruction = int(ef_construction)
                graph.hnsw.efSearch = int(ef_search)
                # Items go in longest vector first. Under the inner product the long vectors are
                # the ones every query's top items come from; inserted first they become the
                # graph's well-linked backbone. In item order, about 3% of iALS queries got stuck
                # among short vectors (recall@10 plateaued at 0.97 whatever ef_search; 0.997 in
                # this order at ef_search 128, docs/retrieval.md). The id map keeps item numbers.
                order = np.argsort(-np.linalg.norm(vectors, axis=1), kind="stable")
                index = faiss.IndexIDMap(graph)
                index.add_with_ids(vectors[order], order.astype(np.int64))
                params = {"m": int(m), "ef_construction": int(ef_construction), "ef_search": int(ef_search)}
            else:
                lists = default_nlist(n) if nlist is None else nlist
                _check_positive("nlist", lists)
                if lists > n:
                    raise ShoprecError(f"nlist must be at most the number of items ({n}), got {lists}")
                probes = math.ceil(IVF_NPROBE_SHARE * lists) if nprobe is None else nprobe
                _check_positive("nprobe", probes)
                quantizer = faiss.IndexFlatIP(d)
                index = faiss.IndexIVFFlat(quantizer, d, int(lists), faiss.METRIC_INNER_PRODUCT)
                index.train(vectors)
                index.nprobe = int(min(probes, lists))
                params = {"nlist": int(lists), "nprobe": int(min(probes, lists))}
            if kind != "hnsw":
                index.add(vectors)
        # (faiss's Python layer keeps the IVF quantizer and the HNSW graph alive as long as the index.)
        return cls(kind=kind, n_items=n, dim=d, params=params, index=index)

    # ----------------------------------------------------------------- searching
    def search(
        self,
        user_vectors: np.ndarray,
        k: int,
        *,
        ef_search: int | None = None,
        nprobe: int | None = None,
        threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best `k` items per query by inner product: (items int64, scores float32), each
        n_queries x min(k, n_items), best first (equal scores: lower item first).

        Scores are the exact inner products of the returned items. An approximate index may find
        fewer than k items for a query; the missing places hold item -1 and score -inf.
        `ef_search` / `nprobe` override the index's setting for this call (HNSW: the beam is at
        least HNSW_BEAM_PER_RESULT x k wide); `threads`: OpenMP threads for this call.
        """
        queries = check_vectors(user_vectors, "user vectors", allow_empty_rows=True)
        if queries.shape[1] != self.dim:
            raise ShoprecError(f"user vectors must have {self.dim} dimensions (the index's), got {queries.shape[1]}")
        if k < 1:
            raise ShoprecError(f"k must be >= 1, got {k}")
        k = min(int(k), self.n_items)
        if not len(queries):
            return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
        params = self._search_parameters(ef_search, nprobe, k)
        with omp_threads(threads):
            scores, items = self.index.search(queries, k, params=params)
        items = items.astype(np.int64, copy=False)
        scores = np.where(items >= 0, scores, -np.inf).astype(np.float32)
        # faiss orders equal scores arbitrarily; the rest of shoprec puts the lower item first.
        order = np.lexsort((np.where(items >= 0, items, np.iinfo(np.int64).max), -scores), axis=1)
        return np.take_along_axis(items, order, axis=1), np.take_along_axis(scores, order, axis=1)

    def _search_parameters(self, ef_search: int | None, nprobe: int | None, k: int) -> Any:
        if self.kind == "hnsw":
            if ef_search is not None:
                _check_positive("ef_search", ef_search)
            beam = self.params["ef_search"] if ef_search is None else int(ef_search)
            # (faiss's type stubs lack the search-parameter classes its Python module has.)
            return faiss.SearchParametersHNSW(efSearch=max(beam, HNSW_BEAM_PER_RESULT * k))  # type: ignore[attr-defined]
        if self.kind == "ivf" and nprobe is not None:
            _check_positive("nprobe", nprobe)
            return faiss.SearchParametersIVF(nprobe=int(nprobe))  # type: ignore[call-arg]
        return None

    # ----------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        """Write the index to `directory`: faiss's own format (index.faiss) and index.json (kind,
        parameters, n_items, dim), the JSON last, so a folder without it is an unfinished save."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(directory / INDEX_FILE))
        meta = {"format_version": FORMAT_VERSION, "kind": self.kind, "params": self.params,
                "n_items": self.n_items, "dim": self.dim}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, *, n_items: int | None = None, dim: int | None = None) -> AnnIndex:
        """Read an index written by `save`. `n_items` / `dim`, when given (the model's catalogue
        size and vector width), must match the index's, or ShoprecError says which differs."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.exists():
            raise ShoprecError(f"{directory}: no {META_FILE}, so not a saved index (or an unfinished save)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ShoprecError(f"{meta_path}: format_version must be {FORMAT_VERSION}, got {meta.get('format_version')}")
        index = faiss.read_index(str(directory / INDEX_FILE))
        loaded = cls(kind=meta["kind"], n_items=int(meta["n_items"]), dim=int(meta["dim"]),
                     params={k: int(v) for k, v in meta["params"].items()}, index=index)
        if index.ntotal != loaded.n_items or index.d != loaded.dim:
            raise ShoprecError(f"{directory}: {INDEX_FILE} holds {index.ntotal} vectors of {index.d} dimensions, "
                               f"{META_FILE} says {loaded.n_items} of {loaded.dim}")
        loaded.check_matches(n_items, dim, where=str(directory))
        return loaded

    def check_matches(self, n_items: int | None, dim: int | None = None, *, where: str = "the index") -> None:
        """ShoprecError unless the index covers `n_items` items of `dim` dimensions (None: not checked)."""
        if n_items is not None and n_items != self.n_items:
            raise ShoprecError(f"{where} covers {self.n_items} items but the model has {n_items}: "
                               "rebuild the index from the model's item vectors")
        if dim is not None and dim != self.dim:
            raise ShoprecError(f"{where} holds vectors of {self.dim} dimensions but the model's have {dim}: "
                               "rebuild the index from the model's item vectors")


# --------------------------------------------------------------------- retrieval with filters
def retrieve(
    model: EmbeddingModel,
    histories: Histories,
    k: int,
    allowed: np.ndarray | None = None,
    exclude: Sequence[np.ndarray] | None = None,
    index: AnnIndex | None = None,
    *,
    ef_search: int | None = None,
    nprobe: int | None = None,
    threads: int = 1,
) -> list[RankedList]:
    """The best `k` items for each history by `model.user_vectors(h) @ model.item_vectors().T`, best
    first, from `index` (None: exhaustive scoring of every allowed item).

    `allowed` (a boolean mask over items) keeps only those items; `exclude[u]` holds items user u
    must not get. The index is asked for k plus a margin, scaled up by how few items are allowed,
    plus the user's excluded items, and asked again for twice as many while fewer than k survive the
    filters; the allowed items are scored exhaustively when that would cost less (past
    MAX_FETCH_SHARE of the catalogue, or fewer than MIN_ALLOWED_SHARE of the items allowed). So the
    answer equals exact top-k whenever the index returns the true neighbours, and a list holds k
    items whenever k items are allowed and not excluded. Scores are the vectors' inner products
    (equal to `model.score` up to float rounding); equal scores go to the lower item.
    """
    if not is_embedding_model(model):
        raise ShoprecError(f"{type(model).__name__} has no item and user vectors (item_vectors / user_vectors), "
                           "so it cannot be served from an ANN index")
    if k < 1:
        raise ShoprecError(f"k must be >= 1, got {k}")
    items = model.item_vectors()
    n_items = items.shape[0]
    if index is not None:
        index.check_matches(n_items, items.shape[1])
    if allowed is not None:
        allowed = np.asarray(allowed)
        if allowed.dtype != bool or allowed.shape != (n_items,):
            raise ShoprecError(f"allowed must be a boolean mask of {n_items} items, got {allowed.dtype} {allowed.shape}")
    if exclude is not None and len(exclude) != len(histories):
        raise ShoprecError(f"exclude must hold one array per user ({len(histories)}), got {len(exclude)}")
    users = check_vectors(model.user_vectors(histories), "user vectors", allow_empty_rows=True)
    excluded = [_excluded_items(exclude, u, n_items) for u in range(len(histories))]

    n_allowed = n_items if allowed is None else int(allowed.sum())
    eligible = np.array([n_allowed - (len(e) if allowed is None else int(allowed[e].sum())) for e in excluded])
    results: list[RankedList | None] = [RankedList.empty() if e == 0 else None for e in eligible]
    cap = min(n_items, max(MIN_FETCH_CAP, min(MAX_FETCH, int(MAX_FETCH_SHARE * n_items))))
    share = n_allowed / max(n_items, 1)
    fetch = np.array([math.ceil((k + RETRIEVE_MARGIN) / max(share, 1e-12)) + len(e) for e in excluded])
    pending = [u for u in range(len(histories)) if results[u] is None]
    if index is None or share < MIN_ALLOWED_SHARE:
        exhaustive, pending = pending, []
    else:
        exhaustive = [u for u in pending if fetch[u] > cap]
        pending = [u for u in pending if fetch[u] <= cap]
    while pending:
        assert index is not None
        width = int(min(fetch[pending].max(), n_items))
        found, scores = index.search(users[pending], width, ef_search=ef_search, nprobe=nprobe, threads=threads)
        still = []
        for row, u in enumerate(pending):
            keep = found[row] >= 0
            if allowed is not None:
                keep &= allowed[np.maximum(found[row], 0)]
            if len(excluded[u]):
                keep &= ~np.isin(found[row], excluded[u])
            if keep.sum() >= min(k, eligible[u]):
                chosen = np.flatnonzero(keep)[:k]
                results[u] = RankedList(found[row, chosen], scores[row, chosen])
            elif width >= n_items or fetch[u] >= cap:
                exhaustive.append(u)
            else:
                fetch[u] = min(2 * fetch[u], cap)
                still.append(u)
        pending = still
    if exhaustive:
        for u, ranked in zip(exhaustive, _exhaustive(users[exhaustive], items, k, allowed,
                                                     [excluded[u] for u in exhaustive]), strict=True):
            results[u] = ranked
    return [r if r is not None else RankedList.empty() for r in results]


def _excluded_items(exclude: Sequence[np.ndarray] | None, u: int, n_items: int) -> np.ndarray:
    """User u's excluded items inside the catalogue, distinct and sorted."""
    if exclude is None:
        return np.zeros(0, dtype=np.int64)
    items = np.unique(np.asarray(exclude[u], dtype=np.int64))
    return items[(items >= 0) & (items < n_items)]


def _exhaustive(users: np.ndarray, items: np.ndarray, k: int, allowed: np.ndarray | None,
                excluded: list[np.ndarray]) -> list[RankedList]:
    """Exact top-k over the allowed items by inner product, excluded items masked."""
    columns = np.arange(len(items)) if allowed is None else np.flatnonzero(allowed)
    candidates = items if allowed is None else items[columns]
    block = max(1, EXHAUSTIVE_CELLS // max(len(columns), 1))
    lists: list[RankedList] = []
    for start in range(0, len(users), block):
        scores = users[start:start + block] @ candidates.T
        for row, skip in enumerate(excluded[start:start + block]):
            positions = np.searchsorted(columns, skip)
            inside = positions < len(columns)
            inside[inside] = columns[positions[inside]] == skip[inside]
            scores[row, positions[inside]] = -np.inf
        lists.extend(top_k(scores, columns, k))
    return lists


# --------------------------------------------------------------------- helpers
def check_vectors(vectors: np.ndarray, what: str, *, allow_empty_rows: bool = False) -> np.ndarray:
    """`vectors` as a C-contiguous float32 matrix, or ShoprecError when it is not a non-empty 2-d
    float array of finite values (`allow_empty_rows`: zero rows are fine, as for a batch of queries)."""
    array = np.asarray(vectors)
    if array.ndim != 2:
        raise ShoprecError(f"{what} must be a 2-d array (rows x dimensions), got {array.ndim} dimensions")
    if not np.issubdtype(array.dtype, np.floating):
        raise ShoprecError(f"{what} must be floating point, got {array.dtype}")
    if array.shape[1] == 0 or (array.shape[0] == 0 and not allow_empty_rows):
        raise ShoprecError(f"{what} are empty (shape {array.shape}): there is nothing to index")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise ShoprecError(f"{what} must be finite, row {row} holds NaN or infinity")
    return array


def default_nlist(n_items: int) -> int:
    """IVF lists for `n_items` items: IVF_LISTS_PER_SQRT x sqrt(n), at most n / IVF_MIN_POINTS_PER_LIST."""
    return max(1, min(int(IVF_LISTS_PER_SQRT * math.sqrt(n_items)), n_items // IVF_MIN_POINTS_PER_LIST))


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ShoprecError(f"{name} must be an integer >= 1, got {value!r}")


@contextmanager
def omp_threads(n: int) -> Iterator[None]:
    """faiss's OpenMP thread count set to `n` for the calling thread inside the block, restored after."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)

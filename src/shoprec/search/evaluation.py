"""Search evaluation: every judged query run over the whole catalogue, scored, and timed.

`evaluate_search` takes any function from a query to ranked item ids (the engine in one mode,
a baseline library), so what is measured is exactly what is served. Latency is measured per
query around that call; run it inside `single_thread()` for the one-core numbers the protocol
asks for. `split_queries` makes the train / held-out split of queries that learned modes use.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from shoprec.data import schema as S
from shoprec.errors import ConfigError, ShoprecError
from shoprec.progress import track
from shoprec.search.judgments import by_query
from shoprec.search.metrics import ndcg_at_k, percentile_ms, recall_at_k


@dataclass(frozen=True)
class SearchScores:
    """Mean metrics over queries and latency percentiles; `per_query` has one row per query
    (query, ndcg, recall, ms; NaN where a metric leaves the query out)."""

    k: int
    recall_k: int
    ndcg: float
    recall: float
    p50_ms: float
    p99_ms: float
    per_query: pd.DataFrame

    @property
    def queries(self) -> int:
        return len(self.per_query)

    def to_json(self) -> dict[str, float | int]:
        """{"ndcg@10", "recall@100", "p50_ms", "p99_ms", "queries"} (keys follow k and recall_k)."""
        return {f"ndcg@{self.k}": self.ndcg, f"recall@{self.recall_k}": self.recall, "p50_ms": self.p50_ms,
                "p99_ms": self.p99_ms, "queries": self.queries}


def evaluate_search(search: Callable[[str], Sequence[str]], judgments: pd.DataFrame, *, k: int = 10,
                    recall_k: int = 100, queries: Collection[str] | None = None, label: str = "queries") -> SearchScores:
    """Run `search` on each judged query (or only those in `queries`) and score the answers.

    `search(query)` returns item ids best first; it should return at least `recall_k` of them.
    """
    if k < 1 or recall_k < 1:
        raise ConfigError(f"k and recall_k must be at least 1, got {k} and {recall_k}")
    judged = by_query(judgments)
    if queries is not None:
        wanted = set(queries)
        judged = {q: j for q, j in judged.items() if q in wanted}
    if not judged:
        raise ShoprecError("no judged query to evaluate")
    rows = []
    for query, items in track(judged.items(), f"searching {label}", total=len(judged), unit="queries"):
        start = time.perf_counter()
        ranked = [str(item) for item in search(query)]
        elapsed = time.perf_counter() - start
        ndcg = ndcg_at_k(ranked, items, k)
        recall = recall_at_k(ranked, items, recall_k)
        rows.append((query, np.nan if ndcg is None else ndcg, np.nan if recall is None else recall, elapsed * 1000.0))
    per_query = pd.DataFrame(rows, columns=[S.QUERY, "ndcg", "recall", "ms"])
    seconds = per_query["ms"].to_numpy() / 1000.0
    return SearchScores(k, recall_k, _mean(per_query["ndcg"]), _mean(per_query["recall"]),
                        percentile_ms(seconds, 50), percentile_ms(seconds, 99), per_query)


def mean_ndcg(rankings: Mapping[str, Sequence[str]], judgments: pd.DataFrame, k: int = 10) -> float:
    """Mean NDCG@k of ready rankings (query -> item ids), over the queries that have an ideal."""
    judged = by_query(judgments)
    values = [ndcg_at_k(ranked, judged[q], k) for q, ranked in rankings.items() if q in judged]
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else float("nan")


def _mean(values: pd.Series) -> float:
    present = values.dropna()
    return float(present.mean()) if len(present) else float("nan")


def split_queries(judgments: pd.DataFrame, train_fraction: float = 0.5, seed: int = 42) -> tuple[list[str], list[str]]:
    """Distinct judged queries split at random into (train, held-out), disjoint, both sorted.

    The split is by query, never by judgment: a query is either learned from or scored on.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"train_fraction must be between 0 and 1 (exclusive), got {train_fraction}")
    queries = np.array(sorted(set(judgments[S.QUERY].astype(str))), dtype=object)
    if len(queries) < 2:
        raise ShoprecError(f"splitting needs at least 2 distinct judged queries, got {len(queries)}")
    order = np.random.default_rng(seed).permutation(len(queries))
    n_train = min(max(int(round(train_fraction * len(queries))), 1), len(queries) - 1)
    return sorted(queries[order[:n_train]].tolist()), sorted(queries[order[n_train:]].tolist())


@contextmanager
def single_thread() -> Iterator[None]:
    """BLAS, OpenMP (faiss) and torch limited to one thread inside the block, restored after."""
    torch = sys.modules.get("torch")
    faiss = sys.modules.get("faiss")
    torch_threads = torch.get_num_threads() if torch is not None else None
    faiss_threads = faiss.omp_get_max_threads() if faiss is not None else None
    try:
        with threadpool_limits(limits=1):
            if torch is not None:
                torch.set_num_threads(1)
            if faiss is not None:
                faiss.omp_set_num_threads(1)
            yield
    finally:
        if torch is not None and torch_threads is not None:
            torch.set_num_threads(torch_threads)
        if faiss is not None and faiss_threads is not None:
            faiss.omp_set_num_threads(faiss_threads)

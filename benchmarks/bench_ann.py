"""Exact against approximate (HNSW) retrieval of iALS recommendations on synthetic shops.

    python benchmarks/bench_ann.py --items 100000 300000
    python benchmarks/bench_ann.py --items 1000000 --ef 64 128 256

For each catalogue size N: a synthetic shop (`shoprec generate --items N --users N/2 --events 10N
--seed 7`, events capped by --max-events) is ingested into a temporary workspace and read back as
`shoprec train` reads it; iALS (64 factors) is fitted on it. 1,000 users with a non-empty history
(seeded draw) are folded in; their exact top 10 (numpy over the whole catalogue) is the truth.

Measured, one query at a time on one thread (BLAS and OpenMP limited to 1):
- exact: numpy scoring of the whole catalogue plus a top-10 partition, and faiss IndexFlatIP;
- HNSW (shoprec.retrieval.ann.AnnIndex, inner product) at each --ef: recall@10 against exact;
- end to end, `retrieve` from a history (fold-in, seen items excluded, top 10) exhaustively and
  from HNSW at the default ef_search, beside `model.recommend` (score everything, top k).
Also the index build time (every core) and size (faiss's serialised bytes; for numpy, the item
vectors), and recall@10 of the empty-history (popularity fallback) query.

With --random-factors-above N, catalogues larger than N get seeded random item factors (norms
spread like a fitted model's) instead of a fit, and the table says so. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

from shoprec.cli.generate import generate_into_store
from shoprec.data.dataset import Dataset
from shoprec.data.history import Histories
from shoprec.data.store import Store, load_events_dataset
from shoprec.models.base import seen_items
from shoprec.models.ials import IALSRecommender
from shoprec.retrieval.ann import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, AnnIndex, omp_threads, retrieve

K = 10


@dataclass
class Row:
    method: str
    build_s: float | None
    bytes: int | None
    recall: float | None
    p50_ms: float
    p99_ms: float


def make_dataset(n_items: int, users_per_item: float, events_per_item: int, max_events: int,
                 workspace: Path) -> Dataset:
    """The synthetic shop, ingested and read back the way `shoprec train` reads it."""
    store = Store(workspace)
    try:
        generate_into_store(store, users=max(1, int(users_per_item * n_items)), items=n_items,
                            events=min(events_per_item * n_items, max_events), seed=7, lang="en", days=120,
                            start="2024-09-01")
    finally:
        store.close()
    dataset, _ = load_events_dataset(workspace)
    return dataset


def random_model(dataset: Dataset, factors: int, seed: int) -> IALSRecommender:
    """iALS with seeded random item factors whose norms follow popularity, as fitted ones do."""
    model = IALSRecommender(factors=factors)
    model.n_items_, model.weights_ = dataset.n_items, dataset.weights
    rng = np.random.default_rng(seed)
    popularity = np.asarray(dataset.interactions().sum(axis=0), dtype=np.float32).ravel()
    directions = rng.standard_normal((dataset.n_items, factors))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    norms = 0.01 + np.log1p(popularity) / max(np.log1p(popularity).max(), 1e-9)
    model.item_factors_ = (directions * norms[:, None]).astype(np.float32)
    y = model.item_factors_.astype(np.float64)
    model.gram_ = y.T @ y
    model.popularity_ = popularity
    return model


def timed(function, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50 and p99 milliseconds of `function(i)` for i in range(n), after two warm-up calls."""
    function(0)
    function(1 % n)
    times = np.empty(n)
    for i in range(n):
        start = time.perf_counter()
        function(i)
        times[i] = (time.perf_counter() - start) * 1000
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def recall(found_scores: np.ndarray, truth_scores: np.ndarray) -> float:
    """Recall@k counting ties: a found item is a hit when its exact score reaches the k-th best exact
    score (two items of equal score are equally right; popularity has many ties)."""
    k = truth_scores.shape[1]
    threshold = truth_scores[:, -1:] - 1e-6 * np.abs(truth_scores[:, -1:])
    return float(np.mean(np.minimum((found_scores >= threshold).sum(axis=1), k) / k))


def exact_scores(users: np.ndarray, items: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Each query's exact score of each found item (-inf where nothing was found)."""
    scores = np.einsum("qd,qkd->qk", users, items[np.maximum(found, 0)])
    return np.where(found >= 0, scores, -np.inf)


def exact_top(users: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    out = []
    for start in range(0, len(users), 200):
        scores = users[start:start + 200] @ items.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1)
        out.append(np.take_along_axis(top, order, 1))
    return np.vstack(out)


def numpy_query(items: np.ndarray, user: np.ndarray) -> np.ndarray:
    scores = items @ user
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top])]


def bench(n_items: int, args: argparse.Namespace) -> tuple[list[Row], dict[str, object]]:
    info: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench_ann_") as tmp:
        started = time.perf_counter()
        dataset = make_dataset(n_items, args.users_per_item, args.events_per_item, args.max_events, Path(tmp) / "ws")
        info["data_s"] = time.perf_counter() - started
    info.update(users=dataset.n_users, events=dataset.n_events)
    started = time.perf_counter()
    if args.random_factors_above is not None and n_items > args.random_factors_above:
        model = random_model(dataset, args.factors, seed=7)
        info["factors"] = "random"
    else:
        model = IALSRecommender(factors=args.factors, iterations=args.iterations).fit(dataset)
        info["factors"] = f"fitted, {args.iterations} iterations"
    info["fit_s"] = time.perf_counter() - started

    rng = np.random.default_rng(0)
    pool = rng.permutation(dataset.n_users)[: 10 * args.queries]
    histories_all = dataset.histories(pool)
    vectors_all = model.user_vectors(histories_all)
    warm = np.flatnonzero(vectors_all[:, -1] == 0)[: args.queries]  # folded in, not the empty-history fallback
    histories = histories_all.select(warm)
    users = np.ascontiguousarray(vectors_all[warm])
    items = model.item_vectors()
    truth = exact_scores(users, items, exact_top(users, items, K))
    cold = model.user_vectors(Histories.empty(1))
    cold_truth = exact_scores(cold, items, np.argsort(-(cold @ items.T), axis=1, kind="stable")[:, :K])
    seen = seen_items(histories)
    n_latency = min(args.latency_queries, len(users))
    rows = []

    with threadpool_limits(1), omp_threads(1):
        p50, p99 = timed(lambda i: numpy_query(items, users[i]), n_latency)
        rows.append(Row("exact, numpy (score all, partition)", None, items.nbytes, 1.0, p50, p99))
    started = time.perf_counter()
    flat = AnnIndex.build(items, "exact")
    build = time.perf_counter() - started
    p50, p99 = timed(lambda i: flat.search(users[i:i + 1], K), n_latency)
    found, _ = flat.search(users, K, threads=os.cpu_count() or 1)
    rows.append(Row("exact, faiss IndexFlatIP", build, len(faiss.serialize_index(flat.index)),
                    recall(exact_scores(users, items, found), truth), p50, p99))

    started = time.perf_counter()
    hnsw = AnnIndex.build(items, "hnsw", m=args.m, ef_construction=args.ef_construction)
    build = time.perf_counter() - started
    size = len(faiss.serialize_index(hnsw.index))
    cold_recall = {}
    for ef in args.ef:
        found, _ = hnsw.search(users, K, ef_search=ef, threads=os.cpu_count() or 1)
        p50, p99 = timed(lambda i, ef=ef: hnsw.search(users[i:i + 1], K, ef_search=ef), n_latency)
        rows.append(Row(f"HNSW M={args.m} efC={args.ef_construction}, ef_search={ef}", build, size,
                        recall(exact_scores(users, items, found), truth), p50, p99))
        cold_found, _ = hnsw.search(cold, K, ef_search=ef)
        cold_recall[ef] = recall(exact_scores(cold, items, cold_found), cold_truth)
    info["cold_recall"] = cold_recall

    # End to end from a history: fold-in, seen items excluded, top 10.
    with threadpool_limits(1), omp_threads(1):
        p50, p99 = timed(lambda i: model.recommend(histories.user(i), K, exclude=[seen[i]]), n_latency)
        rows.append(Row("end to end: model.recommend (score all, top k)", None, None, None, p50, p99))
        p50, p99 = timed(lambda i: retrieve(model, histories.user(i), K, exclude=[seen[i]]), n_latency)
        rows.append(Row("end to end: retrieve, exhaustive (index=None)", None, None, None, p50, p99))
        p50, p99 = timed(lambda i: retrieve(model, histories.user(i), K, exclude=[seen[i]], index=hnsw), n_latency)
        exact_lists = retrieve(model, histories, K, exclude=seen)
        ann_lists = retrieve(model, histories, K, exclude=seen, index=hnsw)
        agreement = recall(np.array([r.scores for r in ann_lists]), np.array([r.scores for r in exact_lists]))
        rows.append(Row(f"end to end: retrieve, HNSW ef_search={HNSW_EF_SEARCH}", None, None, agreement, p50, p99))
    return rows, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[100_000])
    parser.add_argument("--users-per-item", type=float, default=0.5)
    parser.add_argument("--events-per-item", type=int, default=10)
    parser.add_argument("--max-events", type=int, default=10_000_000, help="cap on generated events")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--random-factors-above", type=int, default=None)
    parser.add_argument("--queries", type=int, default=1000, help="users whose recall is measured")
    parser.add_argument("--latency-queries", type=int, default=300, help="of those, how many are timed one by one")
    parser.add_argument("--m", type=int, default=HNSW_M)
    parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION)
    parser.add_argument("--ef", type=int, nargs="+", default=[32, 64, HNSW_EF_SEARCH, 256])
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}, faiss {faiss.__version__}\n")
    for n_items in args.items:
        rows, info = bench(n_items, args)
        print(f"## {n_items:,} items, {info['users']:,} users, {info['events']:,} events; iALS {args.factors} factors "
              f"({info['factors']}); data {info['data_s']:.0f} s, fit {info['fit_s']:.0f} s\n")
        print("| retrieval | build s | index MB | recall@10 | p50 ms | p99 ms |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for row in rows:
            build = "" if row.build_s is None else f"{row.build_s:.1f}"
            size = "" if row.bytes is None else f"{row.bytes / 2**20:.0f}"
            rec = "" if row.recall is None else f"{row.recall:.4f}"
            print(f"| {row.method} | {build} | {size} | {rec} | {row.p50_ms:.3f} | {row.p99_ms:.3f} |")
        cold = ", ".join(f"ef_search={ef}: {value:.2f}" for ef, value in info["cold_recall"].items())  # type: ignore[attr-defined]
        print(f"\nEmpty-history (popularity fallback) query, HNSW recall@10: {cold}; load average now "
              f"{os.getloadavg()[0]:.1f}\n", flush=True)


if __name__ == "__main__":
    main()

"""Lexical search latency on the Home Depot catalogue (about 55,000 products).

    python benchmarks/bench_search_lexical.py [--data ../shared/data/homedepot] [--queries 1000] [--ndcg]

The catalogue goes through the homedepot adapter into a temporary workspace (as `shoprec ingest
--format homedepot` does), the index is built from the store's items table with one writer
thread, then `--queries` distinct search terms of train.csv (a seeded sample) are each searched
once, single-threaded, after a warm-up of 50 other terms. Modes: the full call (k=10, facets and
highlights, as the storefront asks), a bare top-10, a top-100 with any word matching (candidates
for re-ranking), and autocomplete on each term's first three characters. With `--ndcg`, NDCG@10 of
both matching rules over every judged query (the protocol of ../shared/data/README.md).
Latency is wall-clock and the thread's CPU time per query (the latter is what a query costs with a
core to itself, on a machine shared with other work). Prints markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np

from shoprec.data.adapters import adapter_sources
from shoprec.data.ingest import ingest
from shoprec.data.readers import ReadOptions
from shoprec.data.store import Store
from shoprec.search.autocomplete import Autocomplete
from shoprec.search.lexical import LexicalIndex, LexicalSettings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "homedepot"
WARMUP = 50


def _timed(run: Callable[[str], object], queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU milliseconds of each call (CPU time of this thread: what a query costs when
    it has a core to itself, whatever else the machine runs)."""
    wall, cpu = [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.thread_time()
        run(query)
        wall.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    return np.array(wall) * 1000.0, np.array(cpu) * 1000.0


def _folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED, help="The Home Depot folder (train.csv, products.csv).")
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ndcg", action="store_true", help="Also NDCG@10 of all judged queries, both matching rules.")
    args = parser.parse_args()
    if not (args.data / "train.csv").exists():
        sys.exit(f"no Home Depot data at {args.data}")

    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        store = Store(workspace)
        started = time.perf_counter()
        ingest(store, adapter_sources("homedepot", args.data, ReadOptions()))
        ingest_s = time.perf_counter() - started
        items, judgments = store.items(), store.judgments()
        store.close()

        started = time.perf_counter()
        index = LexicalIndex.build(Path(tmp) / "lexical", items, settings=LexicalSettings(threads=1))
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        complete = Autocomplete.from_items(items)
        complete_s = time.perf_counter() - started

        terms = sorted(set(judgments["query"].astype(str)))
        rng = np.random.default_rng(args.seed)
        picked = [terms[i] for i in rng.permutation(len(terms))[: args.queries + WARMUP]]
        warmup, queries = picked[:WARMUP], picked[WARMUP:]
        for query in warmup:
            index.search(query, 10)
        modes: dict[str, Callable[[str], object]] = {
            "search, k=10, facets + highlights": lambda q: index.search(q, 10),
            "search, k=10, no facets or highlights": lambda q: index.search(q, 10, facets=False, highlight=False),
            "search, k=100, any word (candidates)": lambda q: index.search(q, 100, facets=False, highlight=False,
                                                                          match_all=False),
            "autocomplete, first 3 characters": lambda q: complete.suggest(q[:3], 10),
        }
        rows = [(mode, _timed(run, queries)) for mode, run in modes.items()]
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        index_mb = _folder_mb(Path(tmp) / "lexical")

        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} CPUs, load average {load}, "
              f"Python {platform.python_version()}, "
              f"tantivy {version('tantivy')}; `python benchmarks/bench_search_lexical.py"
              f"{' --ndcg' if args.ndcg else ''}`\n")
        print("| products | ingest s | index build s | index MB | autocomplete build s | peak RSS MB |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(f"| {len(index):,} | {ingest_s:.1f} | {build_s:.1f} | {index_mb:.0f} | {complete_s:.1f} | {peak_mb:.0f} |\n")
        print(f"| mode ({len(queries):,} queries, one thread) | p50 ms | p90 ms | p99 ms | mean ms | CPU p50 ms | CPU p99 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for mode, (wall, cpu) in rows:
            p50, p90, p99 = np.percentile(wall, [50, 90, 99])
            c50, c99 = np.percentile(cpu, [50, 99])
            print(f"| {mode} | {p50:.2f} | {p90:.2f} | {p99:.2f} | {wall.mean():.2f} | {c50:.2f} | {c99:.2f} |")

        if args.ndcg:
            from shoprec.search.evaluation import evaluate_search

            print("\n| matching rule | NDCG@10 | recall@100 | queries |")
            print("|---|---:|---:|---:|")
            for label, match_all in (("every word (default; any word when none matches all)", True), ("any word", False)):
                scores = evaluate_search(lambda q, m=match_all: [h.item_id for h in index.search(
                    q, 100, facets=False, highlight=False, match_all=m).hits], judgments)
                print(f"| {label} | {scores.ndcg:.4f} | {scores.recall:.4f} | {scores.queries:,} |")


if __name__ == "__main__":
    main()

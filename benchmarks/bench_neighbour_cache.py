"""Similar items with and without the engine's neighbour cache, in one process, on one request stream.

    python benchmarks/bench_neighbour_cache.py --workspace /tmp/bench_ws [--requests 5000] [--skew 0 1]

The workspace's current bundle and store (e.g. the 100,000-item shop of bench_service.py
--prepare). For each skew, one seeded stream of `--requests` item pages: uniform over the listed
items (skew 0) or the item of popularity rank r with weight r ** -skew (ranks a seeded shuffle),
k=10 each. The same stream is answered by one engine with the cache (ranking/neighbour_cache.py,
starting empty) and one whose cache keeps nothing (every answer scored in full, as before),
alternating request by request so both see the same machine. Reports each one's CPU time per
request (this thread) and the cache's hit rate, and checks that both gave the same answers.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from shoprec.bundle import load_current
from shoprec.data import schema as S
from shoprec.data.store import Store
from shoprec.ranking.engine import RecommendationEngine
from shoprec.ranking.neighbour_cache import NeighbourCache
from shoprec.threads import set_threads


def stream(listed: list[str], n: int, skew: float, seed: int) -> list[str]:
    order = list(listed)
    random.Random(seed).shuffle(order)
    weights = np.arange(1, len(order) + 1, dtype=np.float64) ** -skew
    picks = np.random.default_rng(seed).choice(len(order), size=n, p=weights / weights.sum())
    return [order[i] for i in picks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--skew", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    store = Store(args.workspace)
    bundle = load_current(args.workspace)
    items = store.items()
    listed = items.loc[items[S.IN_STOCK] != False, S.ITEM_ID].astype(str).tolist()  # noqa: E712 - nullable
    listed = [i for i in listed if bundle.item_ids.index(i) is not None]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; bundle {bundle.version}, {len(bundle.item_ids):,} items", file=sys.stderr)
    print("| item pages | requests | engine | CPU ms/request (mean) | CPU ms p50 | CPU ms p99 | hit rate |")
    print("|---|---:|---|---:|---:|---:|---:|")
    set_threads(1)  # one request, one thread, as a service worker scores it
    for skew in args.skew:
        cached = RecommendationEngine(store, bundle)
        full = RecommendationEngine(store, bundle, items=items)
        full.neighbours = NeighbourCache(size=0)
        times: dict[str, list[float]] = {"cached": [], "full": []}
        for item in stream(listed, args.requests, skew, args.seed):
            answers = []
            for name, engine in (("cached", cached), ("full", full)):
                started = time.thread_time()
                answers.append([r.item_id for r in engine.similar(item, 10)])
                times[name].append((time.thread_time() - started) * 1000)
            if answers[0] != answers[1]:
                sys.exit(f"different answers for {item}: {answers}")
        label = "uniform" if skew == 0 else f"Zipf, s={skew:g}"
        hit = cached.neighbours.hits / max(1, cached.neighbours.hits + cached.neighbours.misses)
        for name in ("full", "cached"):
            t = np.array(times[name])
            print(f"| {label} | {len(t):,} | {'neighbour cache' if name == 'cached' else 'scored in full'} | "
                  f"{t.mean():.2f} | {np.median(t):.2f} | {np.percentile(t, 99):.2f} | {hit if name == 'cached' else 0:.0%} |")
    store.close()


if __name__ == "__main__":
    main()

"""What each search mode answers a shopper on Home Depot: total, facets, latency of the full call.

    python benchmarks/bench_search_modes.py [--cache /tmp/shoprec-bench-cache] [--queries 500] [--seed 7]

Reads the workspace `benchmarks/bench_search.py` leaves under --cache (the Home Depot catalogue,
54,994 products, with both indexes; MiniLM encodes the catalogue once, about 9 minutes on 2 cores,
so run that first). `--queries` distinct search terms of train.csv (a seeded sample, after a warm-up
of 20 others) are searched once per mode on one thread, as the storefront asks: k=10, page 1, with
facets and highlights (`SearchEngine.search`). Per mode: wall and CPU milliseconds of the call,
the median and 90th percentile of `total`, and the queries whose `total` was below the hits of
their first page (a total that lies).

To compare code versions on the same workspace and queries, run this script with another
checkout's `src` first on PYTHONPATH (the script itself only calls SearchEngine).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shoprec.search.engine import SearchEngine
from shoprec.search.evaluation import single_thread

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "homedepot"
MODES = ("lexical", "semantic", "hybrid")
WARMUP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED, help="The Home Depot folder (train.csv).")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/shoprec-bench-cache"))
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    workspace = args.cache / "homedepot"
    if not (workspace / "search" / "semantic").exists():
        sys.exit(f"no semantic index under {workspace}: run benchmarks/bench_search.py --cache {args.cache} first")
    train = pd.read_csv(args.data / "train.csv", encoding="latin-1", usecols=["search_term"])
    terms = sorted(set(train["search_term"].astype(str)))
    random.Random(args.seed).shuffle(terms)
    warmup, queries = terms[:WARMUP], terms[WARMUP:WARMUP + args.queries]
    engine = SearchEngine.open(workspace)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}, code from {Path(sys.modules[SearchEngine.__module__].__file__ or '').parents[2]}")
    print()
    print("| mode | queries | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | total p50 | total p90 | total below first page |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with single_thread():
        for mode in MODES:
            for query in warmup:
                engine.search(query, mode=mode, k=10)
            wall, cpu, totals, lies = [], [], [], 0
            for query in queries:
                started, started_cpu = time.perf_counter(), time.thread_time()
                result = engine.search(query, mode=mode, k=10)
                wall.append(time.perf_counter() - started)
                cpu.append(time.thread_time() - started_cpu)
                totals.append(result.total)
                lies += result.total < len(result.hits)
            w, c = np.array(wall) * 1000, np.array(cpu) * 1000
            print(f"| {mode} | {len(queries):,} | {np.median(w):.2f} | {np.percentile(w, 99):.2f} | {np.median(c):.2f} | "
                  f"{np.percentile(c, 99):.2f} | {np.median(totals):,.0f} | {np.percentile(totals, 90):,.0f} | "
                  f"{lies} |")


if __name__ == "__main__":
    main()

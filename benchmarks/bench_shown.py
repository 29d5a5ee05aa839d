"""What recording a served list costs the request that answered it (shoprec.experiments.shown).

    python benchmarks/bench_shown.py --lists 20000 --processes 1 2

Every recommendation, search and similar-items answer records its list in
`store/shown.sqlite`. Two ways side by side, on the same rows, in a fresh database each:

- `direct`: the request's thread commits one INSERT (WAL, synchronous=NORMAL), as the service did
  up to commit edfc5e3;
- `queued`: `ShownLog.record_served` (the service now): the request's thread appends to a queue
  and a writer thread commits it every FLUSH_EVERY_S in one transaction.

`--processes 2` runs two writers at once on the same file, as `shoprec serve --workers 2` does
(they share SQLite's write lock). Each process records `--lists` lists of 10 item ids, one call
timed at a time, with a pause of `--gap-us` between calls (a service answers, it does not only
record); the table gives the time per call on the request's thread (p50, p99, max) and the rows
found in the file afterwards (none may be missing). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from shoprec.experiments.shown import Served, ShownLog


def _lists(worker: int, n: int) -> list[Served]:
    now = int(time.time() * 1000)
    return [Served(f"w{worker}-{i:08d}", now, f"u{i % 5000}", "recommendations", None, None,
                   [f"item-{(i * 7 + j) % 100_000}" for j in range(10)]) for i in range(n)]


def _pause(gap_us: float) -> None:
    end = time.perf_counter() + gap_us / 1e6
    while time.perf_counter() < end:
        pass


def _run(way: str, path: str, worker: int, n: int, gap_us: float, out: mp.Queue) -> None:
    lists = _lists(worker, n)
    took = np.empty(n)
    log = ShownLog(Path(path))  # the schema, and the queued way's writer
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous=NORMAL")
    for i, served in enumerate(lists):
        start = time.perf_counter()
        if way == "direct":
            conn.execute("INSERT OR REPLACE INTO served VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (served.request_id, served.ts_ms, served.user_id, served.surface, served.experiment,
                          served.variant, json.dumps(served.items), None))
        else:
            log.record_served(served)
        took[i] = time.perf_counter() - start
        _pause(gap_us)
    log.close()
    conn.close()
    out.put(took)


def measure(way: str, processes: int, n: int, gap_us: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "shown.sqlite")
        ShownLog(Path(path)).close()
        results: mp.Queue = mp.Queue()
        started = time.perf_counter()
        workers = [mp.Process(target=_run, args=(way, path, w, n, gap_us, results)) for w in range(processes)]
        for w in workers:
            w.start()
        took = np.concatenate([results.get() for _ in workers])
        for w in workers:
            w.join()
        wall = time.perf_counter() - started
        rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM served").fetchone()[0]
    return {"calls": float(took.size), "p50_us": float(np.percentile(took, 50) * 1e6), "p99_us": float(np.percentile(took, 99) * 1e6),
            "max_ms": float(took.max() * 1e3), "total_s": float(took.sum()), "wall_s": wall, "rows": float(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lists", type=int, default=20_000, help="Lists each process records.")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gap-us", type=float, default=200.0, help="Busy time between two calls (the rest of a request).")
    args = parser.parse_args()
    print("| way | processes | lists | on the request's thread: p50 µs | p99 µs | max ms | thread time per list µs | rows in the file |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for processes in args.processes:
        for way in ("direct", "queued"):
            r = measure(way, processes, args.lists, args.gap_us)
            print(f"| {way} | {processes} | {int(r['calls']):,} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | {r['max_ms']:.2f} | "
                  f"{r['total_s'] / r['calls'] * 1e6:.1f} | {int(r['rows']):,} |", flush=True)


if __name__ == "__main__":
    main()

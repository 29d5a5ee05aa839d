"""Ingest time and peak memory for synthetic shops of several sizes (CSV, gzip CSV and Parquet files).

    python benchmarks/bench_ingest.py --events 1000000 10000000

For each size the shop's files are written once (not timed), then each file format is ingested
into a fresh workspace in a separate process, which reports its own wall time and peak RSS.
Prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from shoprec.data.ingest import Source, ingest
from shoprec.data.readers import read_records
from shoprec.data.store import Store
files, ws = json.loads(sys.argv[1]), Path(sys.argv[2])
started = time.perf_counter()
summary = ingest(Store(ws), [Source(kind, path, (lambda p=path: read_records(Path(p)))) for kind, path in files])
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "accepted": summary.accepted, "rejected": summary.rejected_total}))
"""


def _files(out: Path, events: int, users: int, items: int, file_format: str) -> dict[str, Path]:
    from shoprec.data.synthetic import ShopSpec, generate_shop, write_shop_files

    return write_shop_files(generate_shop(ShopSpec(users=users, items=items, events=events, seed=7)), out, file_format)


def _ingest(files: list[tuple[str, str]], workspace: Path) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(files), str(workspace)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    args = parser.parse_args()
    rows = []
    for events in args.events:
        users, items = max(1_000, events // 50), max(1_000, events // 200)
        for file_format in args.formats:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                paths = _files(Path(tmp) / "files", events, users, items, file_format)
                write_seconds = time.perf_counter() - started
                size_mb = paths["events"].stat().st_size / 2**20
                ordered = [(kind, str(paths[kind])) for kind in ("items", "users", "events")]
                measured = _ingest(ordered, Path(tmp) / "ws")
                store_mb = sum(p.stat().st_size for p in (Path(tmp) / "ws").rglob("*") if p.is_file()) / 2**20
            rows.append((events, users, items, file_format, size_mb, measured, store_mb, write_seconds))
            print(f"done {events:,} {file_format}: {measured}", file=sys.stderr, flush=True)
    print("| events | users | items | file | file MB | ingest s | events/s | peak RSS MB | store MB |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for events, users, items, fmt, size_mb, m, store_mb, _ in rows:
        print(f"| {events:,} | {users:,} | {items:,} | {fmt} | {size_mb:,.0f} | {m['seconds']:.1f} | {events / m['seconds']:,.0f} | {m['peak_mb']:,.0f} | {store_mb:,.0f} |")


if __name__ == "__main__":
    main()

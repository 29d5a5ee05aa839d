"""Batch recommendations: users/s and peak memory of `shoprec recommend --all-users --out FILE`.

    python benchmarks/bench_batch_recommend.py --workspace /tmp/bench-1m --prepare
    python benchmarks/bench_batch_recommend.py --workspace /tmp/bench-1m --models default,itemknn_bm25 --formats parquet,csv

`--prepare` fills the workspace first: the "Time to value" 1M-event shop (`shoprec generate
--users 50000 --items 20000 --events 1000000 --seed 7`) and `shoprec train` with its default models
and fusion. Each run is `shoprec recommend --all-users --k K --out recs.<format> [--model M] --json`
in its own process, one at a time; its peak resident memory is the process's own (wait4's
ru_maxrss). Wall seconds count the whole command (start, bundle and store read, every batch);
"answering s" only the batches (the command's own summary). `--users-file N` answers N ids instead,
most of them unknown to the store (a 1M-user run on a smaller store: the fallback chain for the rest).
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-c", "from shoprec.cli import main; main()", *args]


def prepare(workspace: Path, users: int, items: int, events: int) -> None:
    subprocess.run(_argv("generate", "--workspace", str(workspace), "--users", str(users), "--items", str(items),
                         "--events", str(events), "--seed", "7", "--quiet"), check=True)
    subprocess.run(_argv("train", "--workspace", str(workspace), "--quiet"), check=True)


def run_once(workspace: Path, out: Path, k: int, model: str | None, users_file: Path | None,
             batch_size: int | None) -> dict[str, float | str]:
    """One `recommend --all-users` (or `--users FILE`) in its own process: its summary, wall seconds, peak RSS."""
    args = ["recommend", "--workspace", str(workspace), "--k", str(k), "--out", str(out), "--json", "--quiet"]
    args += ["--users", str(users_file)] if users_file else ["--all-users"]
    args += ["--model", model] if model else []
    args += ["--batch-size", str(batch_size)] if batch_size else []
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(_argv(*args), stdout=stdout, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode() if process.stderr else ""
        if process.returncode != 0:
            raise SystemExit(f"recommend failed ({process.returncode}): {stderr[-800:]}")
        stdout.seek(0)
        summary = json.loads(stdout.read())
    return {**summary, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "file_mb": out.stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--prepare", action="store_true", help="generate and train the 1M-event shop first")
    parser.add_argument("--shop", default="50000,20000,1000000", help="users,items,events for --prepare")
    parser.add_argument("--models", default="default", help="bundle entries to run, comma-separated ('default': the bundle's)")
    parser.add_argument("--formats", default="parquet", help="some of parquet,csv,jsonl")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--batch-size", type=int, help="users per batch (default: the command's)")
    parser.add_argument("--users-file", type=int, metavar="N", help="answer N ids (the store's first, then unknown ones)")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.workspace, *(int(v) for v in args.shop.split(",")))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, SHOPREC_THREADS={os.environ.get('SHOPREC_THREADS', '(unset)')}, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        users_file = None
        if args.users_file:
            users_file = Path(tmp) / "users.txt"
            known = [f"u{i:06d}" for i in range(1, args.users_file + 1)]  # the synthetic shop's ids, then unknown ones
            users_file.write_text("\n".join(known) + "\n")
        for model in [m.strip() for m in args.models.split(",") if m.strip()]:
            for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
                out = Path(tmp) / f"recs.{fmt}"
                result = run_once(args.workspace, out, args.k, None if model == "default" else model, users_file,
                                  args.batch_size)
                out.unlink()
                rows.append(result)
                print(f"  {result['model']} {fmt}: {result['users']:,} users in {result['wall_s']:.1f} s", file=sys.stderr, flush=True)
    print("| model | format | users | rows | wall s | answering s | users/s (wall) | users/s (answering) | peak RSS MB | file MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['format']} | {r['users']:,} | {r['rows']:,} | {r['wall_s']:.1f} | {r['seconds']:.1f} | "
              f"{r['users'] / r['wall_s']:,.0f} | {r['users_per_second']:,.0f} | {r['peak_rss_mb']:,.0f} | {r['file_mb']:.1f} |")


if __name__ == "__main__":
    main()

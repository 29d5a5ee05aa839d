"""Training time and peak memory, local engine against Spark (local mode), on one synthetic shop.

    .venv/bin/python benchmarks/bench_spark_train.py --items 1000 --users 2000 --events 100000

The shop is generated once with `shoprec generate` (not timed). Then each model (ials, popularity,
itemknn by default) is trained alone with each engine, every run a separate `shoprec train
--fusion none --json` process: "fit s" is the model's own fit as the command reports it, "command
s" the whole process (start-up, reading the store, the cold-start popularity every bundle gets,
writing the bundle; for Spark also starting the JVM). Peak memory is the largest sum of resident
memory of the process and its descendants (the Spark JVM), sampled every 50 ms from /proc, and, as
a cross-check, the largest single process's peak from getrusage(RUSAGE_CHILDREN) in a wrapper
process that runs only that command. Linux only. Prints a markdown
table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHOPREC = [sys.executable, "-c", "from shoprec.cli import main; main()"]
# Runs a command and then prints, on a last line of its own, the largest resident set (KB) of the
# descendants it waited for: getrusage(RUSAGE_CHILDREN) of a process that ran only that command.
_WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
sys.exit(done.returncode)
"""
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants now, in MB (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text().split()
        except OSError:  # the process ended while we looked
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) ": state, ppid, ...
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = int(statm[1]) * PAGE_MB
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def measured_run(command: list[str], env: dict[str, str]) -> tuple[dict[str, object], float, float, float]:
    """Run `command`; returns its JSON output, its wall seconds, its peak process-tree RSS and the
    largest single process's peak RSS (getrusage), both in MB."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", _WRAPPER, *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    out, err = process.communicate()
    if process.returncode:
        sys.exit(f"{' '.join(command[3:])} failed ({process.returncode}): {err.strip()[-2000:]}")
    output, _, largest_kb = out.rstrip().rpartition("\n")
    return json.loads(output), seconds, peak, int(largest_kb) / 1024  # ru_maxrss is in KB on Linux


def main(argv: list[str] | None = None) -> None:
    """Generate the shop, train each model with each engine, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=100_000)
    parser.add_argument("--models", default="ials,popularity,itemknn")
    parser.add_argument("--engines", nargs="+", default=["local", "spark"], choices=["local", "spark"])
    parser.add_argument("--master", default="local[2]", help="Spark master (default: local[2])")
    parser.add_argument("--driver-memory", default="2g", help="Spark driver memory (local mode runs everything in the driver)")
    args = parser.parse_args(argv)

    env = {**os.environ, "SHOPREC_PROGRESS": "0"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workspace = str(Path(tmp) / "ws")
        subprocess.run([*SHOPREC, "generate", "--workspace", workspace, "--items", str(args.items), "--users",
                        str(args.users), "--events", str(args.events), "--json"], check=True, capture_output=True, env=env)
        for model in args.models.split(","):
            for engine in args.engines:
                command = [*SHOPREC, "train", "--workspace", workspace, "--models", model, "--fusion", "none",
                           "--engine", engine, "--json"]
                run_env = env
                if engine == "spark":
                    command += ["--master", args.master]
                    run_env = {**env, "PYSPARK_SUBMIT_ARGS": f"--driver-memory {args.driver_memory} pyspark-shell"}
                summary, seconds, peak, largest = measured_run(command, run_env)
                fit = summary["train_seconds"][model]  # type: ignore[index]
                rows.append((model, engine, fit, seconds, peak, largest))
                print(f"done {model} {engine}: fit {fit:.2f} s, command {seconds:.1f} s, peak {peak:,.0f} MB",
                      file=sys.stderr, flush=True)

    print(f"Shop: {args.events:,} events, {args.users:,} users, {args.items:,} items; Spark master {args.master}, "
          f"driver memory {args.driver_memory}.\n")
    print("| model | engine | fit s | command s | peak RSS MB (process + children) | largest process MB |")
    print("|---|---|---:|---:|---:|---:|")
    for model, engine, fit, seconds, peak, largest in rows:
        print(f"| {model} | {engine} | {fit:.2f} | {seconds:.1f} | {peak:,.0f} | {largest:,.0f} |")


if __name__ == "__main__":
    main()

"""How shoprec's offline work and serving grow with the shop: ingest, training per model (local and
Spark local mode), peak memory, and recommendation latency with exact and ANN retrieval.

    python benchmarks/bench_scale.py --sizes 1m 3m 10m --models popularity,itemknn,ials,ease \
        --spark-models popularity,itemknn,ials --work /tmp/scale

Sizes (events, users, items), scaled together so that a shopper's history length and the events per
item stay about the same:

    1m   1,000,000 events     50,000 users     100,000 items
    3m   3,000,000 events    150,000 users     300,000 items
    10m 10,000,000 events    500,000 users   1,000,000 items

For each size: the synthetic shop is written as Parquet files (`shoprec generate --out`, not timed
as part of ingest), ingested into a fresh workspace (`shoprec ingest --kind items|users|events`, the
three times summed, the largest peak), and each model is trained
alone (`shoprec train --models M --fusion none`) in its own process, which reports its wall time and
its peak resident memory; `--spark-models` trains those again with `--engine spark --master
local[2]` first (Spark's JVM is a child process: the table shows the Python process's own peak and
the largest sum over the process and its children, sampled twice a second). Serving latency: `--serve-model` (default ials)
answers `--requests` shoppers one at a time through RecommendationEngine, with exact scoring of the
whole catalogue and with the bundle's ANN index (when it has one); recall@10 of the ANN answers
against the exact ones is reported. Prints markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SIZES = {
    "100k": (100_000, 5_000, 10_000),
    "1m": (1_000_000, 50_000, 100_000),
    "3m": (3_000_000, 150_000, 300_000),
    "10m": (10_000_000, 500_000, 1_000_000),
}

# Runs one `shoprec` command in this process and reports its wall time and peak RSS as the last line.
_CLI_CHILD = """
import json, resource, sys, time
from shoprec.cli import cli
started = time.perf_counter()
error = None
try:
    cli.main(sys.argv[1:], standalone_mode=False)
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
print("@@" + json.dumps({"seconds": time.perf_counter() - started, "error": error,
                         "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_cli(*args: str, timeout: float | None = None) -> dict[str, object]:
    """`shoprec ARGS` in a child process: {"seconds", "peak_mb", "tree_peak_mb", "error"} (error None
    on success). peak_mb is the Python process's own peak (ru_maxrss); tree_peak_mb the largest sum
    of resident memory over the process and its descendants (Spark's JVM), sampled twice a second."""
    import os
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-c", _CLI_CHILD, *args], stdout=out, stderr=err, text=True,
                                 env={**os.environ, "SHOPREC_PROGRESS": "0"})
        started, tree_peak = time.monotonic(), 0.0
        while child.poll() is None:
            tree_peak = max(tree_peak, tree_rss_mb(child.pid))
            if timeout is not None and time.monotonic() - started > timeout:
                for pid in descendants(child.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, 9)
                child.kill()
                child.wait()
                return {"seconds": float("nan"), "peak_mb": float("nan"), "tree_peak_mb": tree_peak,
                        "error": f"timed out after {timeout:.0f} s"}
            time.sleep(0.5)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = [line for line in stdout.splitlines() if line.startswith("@@")]
    if not lines:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "tree_peak_mb": tree_peak,
                "error": f"exit {child.returncode}: {stderr.strip()[-400:]}"}
    result: dict[str, object] = json.loads(lines[-1][2:])
    result["tree_peak_mb"] = max(tree_peak, float(result["peak_mb"]))  # type: ignore[arg-type]
    if result["error"] is None and child.returncode != 0:
        result["error"] = f"exit {child.returncode}"
    return result


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def tree_rss_mb(pid: int) -> float:
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for member in descendants(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * page
    return total / 2**20


_SERVE_CHILD = """
import json, sys, time, resource
import numpy as np
from pathlib import Path
from shoprec.bundle import load_current
from shoprec.data import schema as S
from shoprec.ranking.engine import RecommendationEngine
from shoprec.service.histories import IndexedStore
ws, model, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
store = IndexedStore(ws); store.warm()
bundle = load_current(ws)
engine = RecommendationEngine(store, bundle)
users = store.users()[S.USER_ID].astype(str).to_numpy()
rng = np.random.default_rng(7)
chosen = [str(u) for u in rng.choice(users, size=min(n, len(users)), replace=False)]
out = {"peak_mb_loaded": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
answers = {}
for mode in ("exact", "ann"):
    if not engine.set_retrieval(model, mode):
        continue
    for u in chosen[:20]:
        engine.recommend(u, 10, model=model)  # warm up
    times, lists = [], []
    for u in chosen:
        started = time.perf_counter()
        recs = engine.recommend(u, 10, model=model)
        times.append(time.perf_counter() - started)
        lists.append([r.item_id for r in recs if r.source == "personal"])
    ms = np.array(times) * 1000
    out[mode] = {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}
    answers[mode] = lists
if "ann" in answers:
    hits = [len(set(a) & set(e)) / len(e) for a, e in zip(answers["ann"], answers["exact"]) if e]
    out["recall_at_10"] = float(np.mean(hits)) if hits else None
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("@@" + json.dumps(out))
"""


def serve_latency(workspace: Path, model: str, requests: int) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _SERVE_CHILD, str(workspace), model, str(requests)],
                          capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("@@")]
    if not lines:
        return {"error": done.stderr.strip()[-400:]}
    return json.loads(lines[-1][2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1m"], choices=sorted(SIZES))
    parser.add_argument("--tables-from", type=Path, help="Only print the tables of a results.json written earlier.")
    parser.add_argument("--models", default="popularity,itemknn,ials,ease")
    parser.add_argument("--spark-models", default="", help="Also train these with --engine spark --master local[2].")
    parser.add_argument("--serve-model", default="ials")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/shoprec-scale"))
    parser.add_argument("--timeout", type=float, default=1800.0, help="Seconds one training command may take.")
    parser.add_argument("--keep", action="store_true", help="Keep each size's workspace (default: removed after it).")
    args = parser.parse_args()
    if args.tables_from:
        print_tables(json.loads(args.tables_from.read_text()))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    for size in args.sizes:
        events, users, items = SIZES[size]
        folder = args.work / size
        shutil.rmtree(folder, ignore_errors=True)
        files, workspace = folder / "files", folder / "ws"
        row: dict[str, object] = {"size": size, "events": events, "users": users, "items": items}
        row["generate"] = run_cli("generate", "--out", str(files), "--file-format", "parquet", "--events", str(events),
                                  "--users", str(users), "--items", str(items), "--seed", "7")
        parts = [run_cli("ingest", "--workspace", str(workspace), "--kind", kind, str(files / f"{kind}.parquet"))
                 for kind in ("items", "users", "events")]
        failed = [p["error"] for p in parts if p["error"]]
        row["ingest"] = {"seconds": sum(float(p["seconds"]) for p in parts),  # type: ignore[arg-type]
                         "peak_mb": max(float(p["peak_mb"]) for p in parts), "error": failed[0] if failed else None}  # type: ignore[arg-type]
        row["store_mb"] = sum(p.stat().st_size for p in (workspace / "store").rglob("*") if p.is_file()) / 2**20
        print(f"{size}: generate {row['generate']}, ingest {row['ingest']}", file=sys.stderr, flush=True)
        trained: dict[str, object] = {}
        row["train"] = trained
        rows.append(row)
        for model in [m for m in args.spark_models.split(",") if m]:
            trained[f"{model} (spark local[2])"] = run_cli("train", "--workspace", str(workspace), "--models", model, "--fusion", "none",
                                                          "--engine", "spark", "--master", "local[2]", timeout=args.timeout)
            print(f"{size}: {model} spark {trained[f'{model} (spark local[2])']}", file=sys.stderr, flush=True)
            _save(args.work, rows)
        # The serving model last, so that the current bundle is its own when latency is measured.
        local = sorted([m for m in args.models.split(",") if m], key=lambda m: m == args.serve_model)
        for model in local:
            trained[f"{model} (local)"] = run_cli("train", "--workspace", str(workspace), "--models", model, "--fusion", "none",
                                                  timeout=args.timeout)
            print(f"{size}: {model} local {trained[f'{model} (local)']}", file=sys.stderr, flush=True)
            _save(args.work, rows)
        if args.serve_model:
            if not local or local[-1] != args.serve_model or trained[f"{args.serve_model} (local)"]["error"]:  # type: ignore[index]
                run_cli("train", "--workspace", str(workspace), "--models", args.serve_model, "--fusion", "none")
            row["serve"] = serve_latency(workspace, args.serve_model, args.requests)
            print(f"{size}: serve {row['serve']}", file=sys.stderr, flush=True)
        _save(args.work, rows)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print_tables(rows)


def _save(work: Path, rows: list[dict[str, object]]) -> None:
    """Results so far (a long run that stops early keeps what it measured)."""
    (work / "results.json").write_text(json.dumps(rows, indent=2, default=str))


def _cell(result: object) -> tuple[str, str]:
    r = result if isinstance(result, dict) else {}
    if r.get("error"):
        error = str(r["error"])
        kind = "refused" if "limited to" in error else "timed out" if "timed out" in error else "failed"
        cause = next((line for line in error.splitlines() if "Caused by" in line), error.splitlines()[0])
        return kind, cause.replace("|", "/")[:160]
    return f"{r['seconds']:,.1f}", f"{r['peak_mb']:,.0f}"


def print_tables(rows: list[dict[str, object]]) -> None:
    print("| events | users | items | ingest s | ingest peak MB | store MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        seconds, peak = _cell(r["ingest"])
        print(f"| {r['events']:,} | {r['users']:,} | {r['items']:,} | {seconds} | {peak} | {r['store_mb']:,.0f} |")
    print()
    print("| events | items | model (engine) | train s | peak MB, Python process | peak MB, with child processes (JVM) |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    for r in rows:
        for name, result in r["train"].items():  # type: ignore[attr-defined]
            seconds, peak = _cell(result)
            tree = f"{result['tree_peak_mb']:,.0f}" if not result.get("error") else ""
            print(f"| {r['events']:,} | {r['items']:,} | {name} | {seconds} | {peak} | {tree} |")
    print()
    print("| events | items | retrieval | p50 ms | p99 ms | recall@10 vs exact | peak MB |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        serve = r.get("serve") or {}
        for mode in ("exact", "ann"):
            if mode in serve:  # type: ignore[operator]
                s = serve[mode]  # type: ignore[index]
                recall = f"{serve['recall_at_10']:.3f}" if mode == "ann" and serve.get("recall_at_10") is not None else ""  # type: ignore[union-attr]
                print(f"| {r['events']:,} | {r['items']:,} | {mode} | {s['p50']:.1f} | {s['p99']:.1f} | {recall} | {serve['peak_mb']:,.0f} |")  # type: ignore[index]


if __name__ == "__main__":
    main()

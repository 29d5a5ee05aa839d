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
its peak resident memory (ru_maxrss). `--spark-models` trains those again with `--engine spark
--master local[2]` (Spark's JVM memory is not in the Python process's peak: it is reported apart
from the executor's settings, see docs/spark.md). Serving latency: `--serve-model` (default ials)
answers `--requests` shoppers one at a time through RecommendationEngine, with exact scoring of the
whole catalogue and with the bundle's ANN index (when it has one); recall@10 of the ANN answers
against the exact ones is reported. Prints markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
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


def run_cli(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """`shoprec ARGS` in a child process: {"seconds", "peak_mb", "error"} (error None on success)."""
    import os

    done = subprocess.run([sys.executable, "-c", _CLI_CHILD, *args], capture_output=True, text=True,
                          env={**os.environ, "SHOPREC_PROGRESS": "0", **(env or {})})
    lines = [line for line in done.stdout.splitlines() if line.startswith("@@")]
    if not lines:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "error": f"exit {done.returncode}: {done.stderr.strip()[-400:]}"}
    result: dict[str, object] = json.loads(lines[-1][2:])
    if result["error"] is None and done.returncode != 0:
        result["error"] = f"exit {done.returncode}"
    return result


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
    parser.add_argument("--models", default="popularity,itemknn,ials,ease")
    parser.add_argument("--spark-models", default="", help="Also train these with --engine spark --master local[2].")
    parser.add_argument("--serve-model", default="ials")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/shoprec-scale"))
    parser.add_argument("--keep", action="store_true", help="Keep each size's workspace (default: removed after it).")
    args = parser.parse_args()
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
        for model in [m for m in args.models.split(",") if m]:
            trained[f"{model} (local)"] = run_cli("train", "--workspace", str(workspace), "--models", model, "--fusion", "none")
            print(f"{size}: {model} local {trained[f'{model} (local)']}", file=sys.stderr, flush=True)
        for model in [m for m in args.spark_models.split(",") if m]:
            trained[f"{model} (spark local[2])"] = run_cli("train", "--workspace", str(workspace), "--models", model, "--fusion", "none",
                                                          "--engine", "spark", "--master", "local[2]")
            print(f"{size}: {model} spark {trained[f'{model} (spark local[2])']}", file=sys.stderr, flush=True)
        row["train"] = trained
        if args.serve_model:
            run_cli("train", "--workspace", str(workspace), "--models", args.serve_model, "--fusion", "none")
            row["serve"] = serve_latency(workspace, args.serve_model, args.requests)
            print(f"{size}: serve {row['serve']}", file=sys.stderr, flush=True)
        rows.append(row)
        (args.work / "results.json").write_text(json.dumps(rows, indent=2))
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print_tables(rows)


def _cell(result: object) -> tuple[str, str]:
    r = result if isinstance(result, dict) else {}
    if r.get("error"):
        return "refused" if "limited to" in str(r["error"]) else "failed", str(r["error"])[:160]
    return f"{r['seconds']:,.1f}", f"{r['peak_mb']:,.0f}"


def print_tables(rows: list[dict[str, object]]) -> None:
    print("| events | users | items | ingest s | ingest peak MB | store MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        seconds, peak = _cell(r["ingest"])
        print(f"| {r['events']:,} | {r['users']:,} | {r['items']:,} | {seconds} | {peak} | {r['store_mb']:,.0f} |")
    print()
    print("| events | model (engine) | train s | peak MB (Python process) |")
    print("| ---: | --- | ---: | ---: |")
    for r in rows:
        for name, result in r["train"].items():  # type: ignore[attr-defined]
            seconds, peak = _cell(result)
            print(f"| {r['events']:,} | {name} | {seconds} | {peak} |")
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

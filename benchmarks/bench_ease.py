"""EASE's inverse: float32 against float64 quality on real data, and the fit's time and memory by size.

    python benchmarks/bench_ease.py quality [--l2 10]             # MovieLens and REES46, three protocols
    python benchmarks/bench_ease.py limits --sizes 5000,10000,16000,20000

`quality` fits EASE twice on each split (precision float64 and float32, the only difference) and
prints NDCG@10, recall@20 and the share of identical top-10 lists. `limits` fits EASE on a
synthetic interaction matrix of n items in a child process per (size, precision), and prints the
fit's wall time and the child's peak resident memory (ru_maxrss); the route each size takes by
default is shoprec.models.dense_inverse.plan_inverse. Threads: `--threads` (default: all cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench_models import PROTOCOLS, load_dataset

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def quality(data_dir: Path, l2: float) -> None:
    from shoprec.evaluation.runner import DEFAULT_TARGET_EVENT_TYPES, build_task, evaluate, recommend_all
    from shoprec.evaluation.splits import make_split
    from shoprec.models.registry import create

    print(f"EASE l2={l2}")
    print("| dataset | protocol | NDCG@10 float64 | NDCG@10 float32 | recall@20 float64 | recall@20 float32 "
          "| same top-10 lists | fit s float64 | fit s float32 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for dataset_name in ("movielens", "rees46"):
        dataset = load_dataset(dataset_name, data_dir)
        for protocol_name, protocol in PROTOCOLS.items():
            split = make_split(dataset, protocol.method, **protocol.options)
            models = {p: create("ease", precision=p, l2=l2) for p in ("float64", "float32")}
            result = evaluate(models, split, ks=(10, 20))
            task = build_task(split, DEFAULT_TARGET_EVENT_TYPES, exclude_seen=True)
            lists = {p: recommend_all(m, task, 10, 1000, p) for p, m in models.items()}
            same = np.mean([np.array_equal(a.items, b.items) for a, b in zip(lists["float64"], lists["float32"])])
            r = result.results
            print(f"| {dataset_name} | {protocol_name} | {r['float64']['ndcg@10']:.4f} | {r['float32']['ndcg@10']:.4f} "
                  f"| {r['float64']['recall@20']:.4f} | {r['float32']['recall@20']:.4f} | {same:.3f} "
                  f"| {r['float64']['train_seconds']:.2f} | {r['float32']['train_seconds']:.2f} |", flush=True)


def child(n: int, precision: str) -> None:
    """One fit on a synthetic n-item matrix; prints JSON (seconds, peak RSS, route)."""
    import scipy.sparse as sp

    from shoprec.config import WeightConfig
    from shoprec.models.ease import EASERecommender

    rng = np.random.default_rng(0)
    users, per_user = max(2 * n, 1000), 30
    rows = np.repeat(np.arange(users), per_user)
    # popularity-skewed items, as in a shop
    cols = np.minimum((rng.pareto(1.2, len(rows)) * n / 20).astype(np.int64), n - 1)
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(users, n))
    x.sum_duplicates()

    class Matrix:  # the two things EASE reads from a Dataset
        n_items = n
        weights = WeightConfig()

        def interactions(self) -> sp.csr_matrix:
            return x

    model = EASERecommender(precision=precision, max_items=n)
    started = time.perf_counter()
    model.fit(Matrix())  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"n": n, "precision": precision, "route": model.inverse_, "seconds": round(seconds, 1),
                      "peak_gib": round(peak_gib, 2)}))


def limits(sizes: list[int], precisions: list[str], threads: int | None, timeout: float) -> None:
    from shoprec.models.dense_inverse import plan_inverse

    print(f"threads: {threads or len(os.sched_getaffinity(0))}")
    print("| items | precision | route | fit s | peak memory GiB |")
    print("|---:|---|---|---:|---:|")
    env = dict(os.environ)
    if threads:
        env["SHOPREC_THREADS"] = str(threads)
    for n in sizes:
        for precision in precisions:
            plan = plan_inverse(n, precision)
            try:
                out = subprocess.run([sys.executable, __file__, "child", str(n), precision], env=env, text=True,
                                     capture_output=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                print(f"| {n:,} | {precision} | {plan.describe()} | > {timeout:.0f} | - |", flush=True)
                continue
            if out.returncode != 0:
                why = out.stderr.strip().splitlines()[-1:] or [f"exit {out.returncode}"]
                print(f"| {n:,} | {precision} | {plan.describe()} | failed: {why[0]} | - |", flush=True)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {n:,} | {precision} | {plan.describe()} | {row['seconds']:.1f} | {row['peak_gib']:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--data-dir", type=Path, default=SHARED_DATA)
    q.add_argument("--l2", type=float, default=500.0, help="EASE's l2 (500 is the default; 10 the smallest tuned)")
    lim = sub.add_parser("limits")
    lim.add_argument("--sizes", default="5000,10000,16000,20000")
    lim.add_argument("--precisions", default="auto,float32,float64")
    lim.add_argument("--threads", type=int)
    lim.add_argument("--timeout", type=float, default=1800)
    c = sub.add_parser("child")
    c.add_argument("n", type=int)
    c.add_argument("precision")
    args = parser.parse_args()
    if args.what == "child":
        child(args.n, args.precision)
        return
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, python {platform.python_version()}")
    if args.what == "quality":
        quality(args.data_dir, args.l2)
    else:
        limits([int(s) for s in args.sizes.split(",")], args.precisions.split(","), args.threads, args.timeout)


if __name__ == "__main__":
    main()

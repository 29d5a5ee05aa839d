"""LightGBM's ranker fit by thread count and OpenMP wait policy, on a quiet or a busy machine.

    python benchmarks/bench_threads.py                  # as the machine is
    python benchmarks/bench_threads.py --busy 2         # with 2 busy-looping processes beside it

Each fit runs in its own process (the wait policy is read when OpenMP loads): a LambdaMART fit of
100 rounds on 150,000 rows (1,500 groups of 100, 40 features), the size of a fusion ranker's
training set on the demo shop. Prints wall seconds per (threads, wait policy), median of
`--repeat` runs, and the load average. shoprec.threads sets OMP_WAIT_POLICY=PASSIVE because of
what this measures on two shared cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time

FIT = """
import sys, time
import numpy as np
import lightgbm as lgb
rng = np.random.default_rng(0)
groups, per = 1500, 100
x = rng.random((groups * per, 40)); y = (rng.random(groups * per) < 0.03).astype(int)
params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "num_leaves": 15, "learning_rate": 0.05,
          "num_threads": int(sys.argv[1]), "verbose": -1, "deterministic": True}
started = time.perf_counter()
lgb.train(params, lgb.Dataset(x, y, group=np.full(groups, per)), num_boost_round=100)
print(time.perf_counter() - started)
"""


def _spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def fit_seconds(threads: int, wait: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    if wait:
        env["OMP_WAIT_POLICY"] = wait
    out = subprocess.run([sys.executable, "-c", FIT, str(threads)], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=0, help="busy-looping processes to run beside the fits")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    spinners = [multiprocessing.Process(target=_spin, args=(time.time() + 3600,), daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    try:
        time.sleep(2 if spinners else 0)
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
              f"{len(os.sched_getaffinity(0))} cores, {args.busy} busy processes beside, "
              f"load average {os.getloadavg()[0]:.2f}")
        print("| threads | OMP_WAIT_POLICY | fit s (median) | runs |")
        print("|---:|---|---:|---|")
        for threads in (int(t) for t in args.threads.split(",")):
            for wait in (None, "PASSIVE"):
                runs = [fit_seconds(threads, wait) for _ in range(args.repeat)]
                print(f"| {threads} | {wait or '(default)'} | {statistics.median(runs):.2f} | "
                      f"{', '.join(f'{r:.1f}' for r in runs)} |", flush=True)
    finally:
        for spinner in spinners:
            spinner.terminate()


if __name__ == "__main__":
    main()

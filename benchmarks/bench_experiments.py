"""Online experiments, simulated: does the report name a planted better variant, and how often does it
name a winner between two identical variants (the false-positive rate, stated 5%)?

    python benchmarks/bench_experiments.py --workspace /dev/shm/exp-shop --planted 5 --identical 40

`--workspace` is prepared first when empty: a synthetic shop (`shoprec generate --users 1000 --items
300 --events 20000 --seed 7`) and an item-kNN bundle (`shoprec train --models itemknn`, which adds
context_popularity). One `shoprec serve` runs in its own process for all the runs; each run is one
experiment (`ExperimentFile.start`, what `shoprec experiment start` does), then `shoprec simulate`'s
shoppers (simulator.simulate over HTTP, fresh shopper ids per run), then the stop and the report.

- planted: A = context_popularity (popular items for everyone), B = itemknn (reads the history the
  simulated shoppers' taste put there); `--planted-shoppers` shoppers, `--days` days, seeds 0..N-1.
- identical: A = B = itemknn; `--identical-shoppers` shoppers, seeds 1000..; the share of runs with
  a winner estimates the false-positive rate, and the p-values should be uniform (Kolmogorov-Smirnov).

Prints a markdown table. Workspace on tmpfs: the events' fsync would otherwise dominate.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from scipy import stats

from shoprec.experiments.definitions import ExperimentFile, new_experiment
from shoprec.experiments.report import build_report
from shoprec.experiments.shown import ShownLog, path_in
from shoprec.experiments.simulator import SimulationSettings, simulate

KEY = "bench-experiments-key"


def _shoprec(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes] | None:
    command = [sys.executable, "-c", "from shoprec.cli import main; main()", *args]
    if args[0] == "serve":
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(command, check=True, env=env)
    return None


def prepare(workspace: Path) -> None:
    if (workspace / "bundles" / "CURRENT").exists():
        return
    _shoprec("generate", "--workspace", str(workspace), "--users", "1000", "--items", "300", "--events", "20000", "--seed", "7")
    _shoprec("train", "--workspace", str(workspace), "--models", "itemknn")


def run(workspace: Path, url: str, name: str, a: str, b: str, shoppers: int, days: int, seed: int) -> dict:
    ExperimentFile(workspace).start(new_experiment(name, [("A", a), ("B", b)]))
    time.sleep(0.6)  # the server looks at the experiments file at most every 0.5 s
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60, trust_env=False) as client:
        simulate(client, SimulationSettings(shoppers=shoppers, days=days, seed=seed, prefix=name))
    ExperimentFile(workspace).stop(name)
    time.sleep(0.6)
    log = ShownLog(path_in(workspace / "store"))
    try:
        return build_report(ExperimentFile(workspace).get(name), log)
    finally:
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--planted", type=int, default=5)
    parser.add_argument("--identical", type=int, default=40)
    parser.add_argument("--planted-shoppers", type=int, default=200)
    parser.add_argument("--identical-shoppers", type=int, default=100)
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    prepare(args.workspace)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = _shoprec("serve", "--workspace", str(args.workspace), "--port", str(port), "--no-semantic", "--no-access-log",
                      env={**os.environ, "SHOPREC_API_KEYS": KEY})
    assert server is not None
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        stamp = time.strftime("%H%M%S")
        started = time.time()
        planted = [run(args.workspace, url, f"planted-{stamp}-{s}", "context_popularity", "itemknn",
                       args.planted_shoppers, args.days, s) for s in range(args.planted)]
        planted_s = time.time() - started
        started = time.time()
        identical = [run(args.workspace, url, f"same-{stamp}-{s}", "itemknn", "itemknn",
                         args.identical_shoppers, args.days, 1000 + s) for s in range(args.identical)]
        identical_s = time.time() - started
    finally:
        server.kill()
        server.wait()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}\n")
    print("| runs | variants | shoppers x days | B named winner | A named | none | median p | mean CTR A | mean CTR B | seconds |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, reports, shoppers, seconds in (("planted", planted, args.planted_shoppers, planted_s),
                                             ("identical", identical, args.identical_shoppers, identical_s)):
        if not reports:
            continue
        winners = [r["winner"] for r in reports]
        p = [r["p_value"] for r in reports if r["p_value"] is not None]
        ctr = {v: np.mean([r["variants"][v]["ctr"] or 0 for r in reports]) for v in "AB"}
        targets = f"{reports[0]['variants']['A']['target']} / {reports[0]['variants']['B']['target']}"
        print(f"| {label}: {len(reports)} | {targets} | {shoppers} x {args.days} | {winners.count('B')} | {winners.count('A')} | "
              f"{winners.count(None)} | {np.median(p):.3g} | {ctr['A']:.4f} | {ctr['B']:.4f} | {seconds:.0f} |")
    if identical:
        p = np.array([r["p_value"] for r in identical if r["p_value"] is not None])
        named = sum(r["winner"] is not None for r in identical)
        low, high = stats.binomtest(named, len(identical)).proportion_ci(0.95, method="wilson")
        srm = sum(r["srm"] for r in identical + planted)
        print(f"\nidentical variants: a winner named in {named} of {len(identical)} runs = {named / len(identical):.1%} "
              f"(95% CI {low:.1%}-{high:.1%}; stated 5%); p-values vs uniform: KS p {stats.kstest(p, 'uniform').pvalue:.3f}; "
              f"p < 0.05 in {(p < 0.05).sum()}; sample-ratio mismatch flagged in {srm} of {len(identical) + len(planted)} runs")


if __name__ == "__main__":
    main()

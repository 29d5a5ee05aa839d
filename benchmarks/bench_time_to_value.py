"""Time to value: how long a new user waits, measured as whole commands, for one checkout or two side by side.

    python benchmarks/bench_time_to_value.py                                   # this checkout, everything
    python benchmarks/bench_time_to_value.py --before /tmp/before --only help,train-demo
    python benchmarks/bench_time_to_value.py --only demo --demo-timeout 1800

Measurements (`--only` picks some, comma-separated):
  help        `shoprec --help` and each command's `--help`: median wall seconds of `--repeat` runs
  demo        `shoprec demo` on the default shop: seconds from start to the first 200 of
              /v1/recommendations with 10 items, and to a complete report (reports/evaluation.html)
  train-demo  `shoprec train` (default models) on the demo's shop (100k events): wall seconds, the
              members' own seconds, fusion learning's seconds and its ratio to the members', then
              `shoprec recommend` for one shopper (median of 3, a new process each, files cached)
  train-1m    the same on a 1M-event synthetic shop (50k users, 20k items)

`--before DIR` runs every measurement a second time with the package of another checkout (its
`src/` put first on PYTHONPATH, in this venv: e.g. `git worktree add /tmp/before <commit>`) and
prints the ratio after/before. Each command runs in its own process, one at a time; the load
average at the start is printed, since a busy machine slows everything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("generate", "ingest", "train", "tune", "evaluate", "recommend", "search", "search-train", "search-eval",
            "demo", "serve")
MEASUREMENTS = ("help", "demo", "train-demo", "train-1m")


class Checkout:
    """How to run `shoprec` from one checkout: this venv's python with that checkout's src first."""

    def __init__(self, label: str, src: Path | None) -> None:
        self.label, self.src = label, src

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.src is not None:
            env["PYTHONPATH"] = str(self.src) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-c", "from shoprec.cli import main; main()", *args]

    def run(self, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env(), capture_output=True, text=True, timeout=timeout,
                              check=False)


def measure_help(checkout: Checkout, repeat: int) -> dict[str, float]:
    out = {}
    for args in [("--help",), *((name, "--help") for name in COMMANDS)]:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            done = checkout.run(*args, timeout=120)
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"{checkout.label}: shoprec {' '.join(args)} failed: {done.stderr[-500:]}")
        out[" ".join(args)] = statistics.median(times)
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _first_recommendations(port: int) -> bool:
    users = [f"u{i:06d}" for i in range(1, 4)]
    for user in users:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/recommendations?user_id={user}&k=10",
                                        timeout=5) as answer:
                body = json.loads(answer.read())
            if answer.status == 200 and len(body.get("items", [])) == 10:
                return True
        except (OSError, ValueError):
            return False
    return False


def measure_demo(checkout: Checkout, timeout: float) -> dict[str, float]:
    """Seconds from `shoprec demo` start to the first full recommendations answer, and to the report."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        port = _free_port()
        started = time.perf_counter()
        process = subprocess.Popen(checkout.argv("demo", "--workspace", str(workspace), "--port", str(port)),
                                   env=checkout.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        served = report = None
        try:
            while time.perf_counter() - started < timeout and process.poll() is None:
                if served is None and _first_recommendations(port):
                    served = time.perf_counter() - started
                if report is None and (workspace / "reports" / "evaluation.html").exists():
                    report = time.perf_counter() - started
                if served is not None and report is not None:
                    break
                time.sleep(0.5)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        return {"demo: first recommendations s": served if served is not None else float("nan"),
                "demo: report s": report if report is not None else float("nan")}


def measure_train(checkout: Checkout, label: str, users: int, items: int, events: int, timeout: float) -> dict[str, float]:
    """`shoprec train` (its default models and fusion) on a fresh synthetic shop of this size."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = str(Path(tmp) / "ws")
        made = checkout.run("generate", "--workspace", workspace, "--users", str(users), "--items", str(items),
                            "--events", str(events), "--seed", "7", timeout=timeout)
        if made.returncode != 0:
            raise SystemExit(f"{checkout.label}: generate failed: {made.stderr[-500:]}")
        started = time.perf_counter()
        trained = checkout.run("train", "--workspace", workspace, "--json", timeout=timeout)
        wall = time.perf_counter() - started
        if trained.returncode != 0:
            raise SystemExit(f"{checkout.label}: train failed: {trained.stderr[-800:]}")
        seconds = json.loads(trained.stdout)["train_seconds"]
        recommend = _recommend_seconds(checkout, workspace, timeout)
    fusion = max((v for k, v in seconds.items() if k.startswith("fusion:")), default=0.0)
    members = sum(v for k, v in seconds.items() if not k.startswith("fusion:"))
    return {f"{label}: train wall s": wall, f"{label}: members s": members, f"{label}: fusion learning s": fusion,
            f"{label}: fusion / members": fusion / members if members else float("nan"),
            f"{label}: recommend one user s": recommend}


def _recommend_seconds(checkout: Checkout, workspace: str, timeout: float, repeat: int = 3) -> float:
    """Median wall seconds of `shoprec recommend` for one known shopper (the bundle's default model)."""
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        done = checkout.run("recommend", "--workspace", workspace, "--user", f"u{i + 1:06d}", "--json", timeout=timeout)
        times.append(time.perf_counter() - started)
        if done.returncode != 0 or len(json.loads(done.stdout)["items"]) != 10:
            raise SystemExit(f"{checkout.label}: recommend failed: {done.stderr[-500:]}")
    return statistics.median(times)


def measure(checkout: Checkout, chosen: list[str], args: argparse.Namespace) -> dict[str, float]:
    results: dict[str, float] = {}
    for name in chosen:
        print(f"{checkout.label}: {name} ...", file=sys.stderr, flush=True)
        if name == "help":
            results.update(measure_help(checkout, args.repeat))
        elif name == "demo":
            results.update(measure_demo(checkout, args.demo_timeout))
        elif name == "train-demo":
            results.update(measure_train(checkout, "demo shop", 2_000, 1_000, 100_000, args.train_timeout))
        elif name == "train-1m":
            results.update(measure_train(checkout, "1M events", 50_000, 20_000, 1_000_000, args.train_timeout))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(MEASUREMENTS), help=f"some of {', '.join(MEASUREMENTS)}")
    parser.add_argument("--before", type=Path, help="another checkout to measure the same way (its src/ is used)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per --help timing (median)")
    parser.add_argument("--demo-timeout", type=float, default=1800)
    parser.add_argument("--train-timeout", type=float, default=3600)
    args = parser.parse_args()
    chosen = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MEASUREMENTS]
    if unknown:
        raise SystemExit(f"--only: unknown measurement {unknown[0]!r}, expected some of {', '.join(MEASUREMENTS)}")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    after = measure(Checkout("after", REPO / "src"), chosen, args)
    before = measure(Checkout("before", args.before / "src"), chosen, args) if args.before else {}
    header = "| measurement | this checkout |" + (" before | after / before |" if before else "")
    print(header)
    print("|---|---:|" + ("---:|---:|" if before else ""))
    for key, value in after.items():
        row = f"| {key} | {value:.2f} |"
        if before:
            old = before.get(key, float("nan"))
            row += f" {old:.2f} | {value / old:.2f} |" if old == old and old else " - | - |"
        print(row)


if __name__ == "__main__":
    main()

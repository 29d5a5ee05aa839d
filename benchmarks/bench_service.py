"""Load on the HTTP service: requests/s and p50/p95/p99 latency for recommendations and search at
several numbers of concurrent clients.

    python benchmarks/bench_service.py --workspace /tmp/bench-shop --prepare
    python benchmarks/bench_service.py --workspace /tmp/bench-shop --clients 1 16 64 --seconds 20

`--prepare` fills the workspace first: a synthetic shop of 100,000 items, 50,000 shoppers and
1,000,000 events (`shoprec generate`) and a bundle (`shoprec train --models popularity,itemknn`).
The server is `shoprec serve` in its own process (`--workers`, default one; access log off); this
script is the client, another process on the same machine: `clients` asyncio workers, each
sending its next request as soon as the previous one is answered, for `--seconds` after a
warm-up. A request counts as an error unless it is answered 200 with a non-empty list (search:
with a total). Recommendations ask for k=10 for a shopper drawn at random (nine in ten known to
the store, one in ten new); searches ask for k=10 with one or two words drawn from the catalogue's
titles (search mode as the server is started: lexical with --no-semantic); similar items (`--endpoints
similar`) ask for k=10 for an item drawn at random from the catalogue's listed items (uniformly, or
with `--item-skew s` the item of rank r, in a seeded order, with weight r**-s). Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx
import numpy as np

SHOP = {"items": 100_000, "users": 50_000, "events": 1_000_000}


def _shoprec(*args: str) -> None:
    subprocess.run([sys.executable, "-c", "from shoprec.cli import main; main()", *args], check=True)


def prepare(workspace: Path) -> None:
    """Generate the shop and train a bundle, unless the workspace already has one."""
    if (workspace / "bundles" / "CURRENT").exists():
        return
    _shoprec("generate", "--workspace", str(workspace), "--items", str(SHOP["items"]), "--users", str(SHOP["users"]),
             "--events", str(SHOP["events"]), "--seed", "7")
    _shoprec("train", "--workspace", str(workspace), "--models", "popularity,itemknn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(workspace: Path, semantic: bool, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    args = ["serve", "--workspace", str(workspace), "--port", str(port), "--no-access-log", "--no-storefront", "--workers", str(workers)]
    server = subprocess.Popen([sys.executable, "-c", "from shoprec.cli import main; main()", *args, *([] if semantic else ["--no-semantic"])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "SHOPREC_PROGRESS": "0"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900  # a first start may build the search index
    ready: set[int] = set()
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            answer = httpx.get(f"{url}/ready", timeout=5)  # a new connection each time: any worker may answer
            if answer.status_code == 200:
                ready.add(answer.json()["worker"])
                if len(ready) >= workers:  # every worker loaded: none is still starting while we measure
                    return server, url
                continue
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not become ready")


def request_makers(workspace: Path, seed: int, item_skew: float = 0.0) -> dict[str, object]:
    """For each endpoint, a function rng -> (path, params, check) for one random request."""
    from shoprec.data import schema as S
    from shoprec.data.store import Store

    store = Store(workspace)
    users = store.users()[S.USER_ID].astype(str).to_numpy()
    items = store.items()
    titles = items[S.TITLE].dropna().astype(str).sample(5_000, random_state=seed)
    listed = items.loc[items[S.IN_STOCK] != False, S.ITEM_ID].astype(str).to_numpy()  # noqa: E712 - nullable
    store.close()
    words = sorted({w.lower() for t in titles for w in re.findall(r"[A-Za-z]{4,}", t)})

    def recommendation(rng: random.Random) -> tuple[str, dict[str, object]]:
        user = users[rng.randrange(len(users))] if rng.random() < 0.9 else f"bench-new-{rng.randrange(10**9)}"
        return "/v1/recommendations", {"user_id": str(user), "k": 10}

    def search(rng: random.Random) -> tuple[str, dict[str, object]]:
        return "/v1/search", {"q": " ".join(rng.sample(words, rng.choice((1, 2)))), "k": 10}

    # Item pages: uniform, or Zipf-like (the item of popularity rank r asked with weight r ** -skew,
    # ranks a seeded shuffle of the listed items).
    random.Random(seed).shuffle(listed)
    cumulative = np.cumsum(np.arange(1, len(listed) + 1, dtype=np.float64) ** -item_skew)
    cumulative /= cumulative[-1]

    def similar(rng: random.Random) -> tuple[str, dict[str, object]]:
        index = min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(listed) - 1)
        return f"/v1/items/{listed[index]}/similar", {"k": 10}

    return {"recommendations": recommendation, "search": search, "similar": similar}


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` and its live children (uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _ok(endpoint: str, status: int, body: dict[str, object]) -> bool:
    if status != 200:
        return False
    return bool(body["items"]) if endpoint in ("recommendations", "similar") else "total" in body


async def run_load(url: str, endpoint: str, make, clients: int, seconds: float, warmup: float, seed: int,  # type: ignore[no-untyped-def]
                   server_pid: int) -> dict[str, float]:
    """`clients` closed-loop workers over keep-alive connections (aiohttp: about a quarter of httpx's
    CPU per request, which matters when client and server share two cores)."""
    latencies: list[float] = []
    cpu: dict[str, float] = {}
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url=url, connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            rng = random.Random(seed * 1000 + n)
            while True:
                path, params = make(rng)
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                try:
                    async with client.get(path, params=params) as response:
                        text = await response.text()
                        ok = _ok(endpoint, response.status, json.loads(text) if response.status == 200 else {})
                        what = f"HTTP {response.status}: {text[:200]}"
                except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
                    ok, what = False, f"{type(exc).__name__}: {exc}"
                done = time.perf_counter()
                if sent >= measure_from:
                    latencies.append(done - sent)
                    errors += not ok
                if not ok:
                    print(f"error on {path} {params}: {what}", file=sys.stderr, flush=True)

        async def meter() -> None:  # CPU used by the server and by this client over the measured window
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            cpu["server"], cpu["client"] = -cpu_seconds(server_pid), -time.process_time()
            await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
            cpu["server"] += cpu_seconds(server_pid)
            cpu["client"] += time.process_time()

        await asyncio.gather(meter(), *(worker(n) for n in range(clients)))
    ms = np.array(latencies) * 1000
    return {"requests": len(ms), "errors": errors, "rps": len(ms) / seconds,
            "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "p99": float(np.percentile(ms, 99)),
            "server_cpu_ms": 1000 * cpu["server"] / max(len(ms), 1), "client_cpu_ms": 1000 * cpu["client"] / max(len(ms), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--prepare", action="store_true", help="Generate and train the 100k-item, 1M-event shop first.")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--endpoints", nargs="+", default=["recommendations", "search"])
    parser.add_argument("--seconds", type=float, default=20.0, help="Measured seconds per row.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--semantic", action="store_true", help="Serve with semantic search (hybrid mode) instead of lexical.")
    parser.add_argument("--workers", type=int, default=1, help="Server processes (shoprec serve --workers).")
    parser.add_argument("--bundle", help="Serve this bundle version (it becomes the workspace's CURRENT bundle).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--item-skew", type=float, default=0.0,
                        help="Similar items: 0 asks for items uniformly; s > 0 asks for the item of rank r with weight r**-s (Zipf).")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.workspace)
    makers = request_makers(args.workspace, args.seed, args.item_skew)
    if args.bundle:  # CURRENT names it before the start, so that every worker loads it
        from shoprec.bundle import set_current

        set_current(args.workspace, args.bundle)
    server, url = start_server(args.workspace, args.semantic, args.workers)
    rows = []
    try:
        ready = httpx.get(f"{url}/ready", timeout=10).json()
        bundle = json.loads((args.workspace / "bundles" / ready["bundle"] / "manifest.json").read_text())
        print(f"bundle {ready['bundle']}: default model {bundle['default_model']}", file=sys.stderr, flush=True)
        for endpoint in args.endpoints:
            for clients in args.clients:
                result = asyncio.run(run_load(url, endpoint, makers[endpoint], clients, args.seconds, args.warmup, args.seed,
                                              server.pid))
                rows.append((endpoint, clients, result))
                print(f"{endpoint} x{clients}: {result}", file=sys.stderr, flush=True)
    finally:
        server.terminate()  # SIGTERM: the supervisor stops its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(f"bundle default model: {bundle['default_model']}; search: {'hybrid' if args.semantic else 'lexical'}; workers: {args.workers}")
    print("| endpoint | clients | requests | errors | requests/s | p50 ms | p95 ms | p99 ms | server CPU ms/request | client CPU ms/request |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for endpoint, clients, r in rows:
        print(f"| {endpoint} | {clients} | {r['requests']:,} | {r['errors']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | "
              f"{r['p99']:.1f} | {r['server_cpu_ms']:.2f} | {r['client_cpu_ms']:.2f} |")


if __name__ == "__main__":
    main()

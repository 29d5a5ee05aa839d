"""Personalised search latency: the service's engine (shared store and bundle) against a standalone one.

    python benchmarks/bench_personal_search.py --workspace /tmp/bench_ws [--query shoes] [--users 100]

The workspace needs a catalogue, events and a trained bundle (e.g. the one bench_service.py
--prepare makes). Both engines answer the same personalised lexical query for the same shoppers,
one at a time: the service's (`open_services`: one open IndexedStore and the serving bundle) and
a standalone `SearchEngine.open` (opens the store per personalised query, loads the bundle
itself). Prints p50 and p99 per query.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from shoprec.search.engine import SearchEngine
from shoprec.service.deps import open_services
from shoprec.service.settings import ServiceSettings


def timed(engine: SearchEngine, query: str, users: list[str]) -> tuple[float, float]:
    engine.search(query, mode="lexical", k=10, user_id=users[0])  # the click counts are built once
    seconds = []
    for user in users[1:]:
        started = time.perf_counter()
        engine.search(query, mode="lexical", k=10, user_id=user)
        seconds.append(time.perf_counter() - started)
    return float(np.percentile(seconds, 50) * 1000), float(np.percentile(seconds, 99) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--query", default="shoes")
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    services = open_services(ServiceSettings.model_validate({"workspace": args.workspace, "semantic_search": False}))
    if services.engine is None:
        raise SystemExit(f"no usable bundle in {args.workspace}: {services.not_ready}")
    users = services.store.users()["user_id"].astype(str).tolist()[: args.users + 1]
    print(f"bundle {services.engine.bundle.version} (default model {services.engine.bundle.default_model}), "
          f"{len(users) - 1} shoppers, query {args.query!r}, lexical mode\n")
    print("| engine | p50 ms | p99 ms |\n|---|---:|---:|")
    for label, engine in (("service (shared store and bundle)", services.search),
                          ("standalone (store opened per query)", SearchEngine.open(args.workspace, use_semantic=False))):
        p50, p99 = timed(engine, args.query, users)
        print(f"| {label} | {p50:.1f} | {p99:.1f} |")
    services.close()


if __name__ == "__main__":
    main()

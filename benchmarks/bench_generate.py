"""Time the synthetic shop generator: generate_shop plus iterating every event chunk.

    .venv/bin/python benchmarks/bench_generate.py --events 10_000_000

Prints one markdown table row: | events | users | items | seconds | events/s | peak RSS MB |
(add --header for the header lines). Peak RSS is the process maximum from getrusage.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from shoprec.data.synthetic import ShopSpec, generate_shop


def main(argv: list[str] | None = None) -> None:
    """Parse the options, generate the shop, and print the timing row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--users", type=int, default=ShopSpec.users)
    parser.add_argument("--items", type=int, default=ShopSpec.items)
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    parser.add_argument("--chunk-size", type=int, default=1_000_000)
    parser.add_argument("--header", action="store_true", help="print the markdown table header first")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    shop = generate_shop(ShopSpec(users=args.users, items=args.items, events=args.events, lang=args.lang))
    rows = sum(len(chunk) for chunk in shop.event_chunks(args.chunk_size))
    seconds = time.perf_counter() - started
    if rows != args.events:
        sys.exit(f"expected {args.events} events, got {rows}")

    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    if args.header:
        print("| events | users | items | seconds | events/s | peak RSS MB |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {rows:,} | {args.users:,} | {args.items:,} | {seconds:.1f} | {rows / seconds:,.0f} | {peak:,.0f} |")


if __name__ == "__main__":
    main()

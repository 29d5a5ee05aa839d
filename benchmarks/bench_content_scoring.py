"""Content scoring over a whole catalogue: `ContentRecommender.score` (and similar_items' content term,
which shares `content.profile_cosines`) against scipy's sparse product it replaced.

    python benchmarks/bench_content_scoring.py --workspace /tmp/bench_ws

The workspace is any ingested shop (e.g. bench_service.py's `--prepare`: 100,000 items, 1M
events). Fits `content` once, then scores every item for 100 shoppers of two viewed items each,
one at a time (a request), and for one batch of 256 shoppers of three items (evaluation, batch
output): the scipy way (`profiles @ item_vectors.T`, which converts the transposed CSR whole on
every call) and the model's. Prints a markdown table.
"""

from __future__ import annotations

from shoprec import threads

threads.init_environment()

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from shoprec.data.history import Histories  # noqa: E402
from shoprec.data.store import load_events_dataset  # noqa: E402
from shoprec.models.content import ContentRecommender  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    args = parser.parse_args()
    threads.set_threads()
    dataset, _ = load_events_dataset(args.workspace)
    model = ContentRecommender().fit(dataset)
    rng = np.random.default_rng(1)
    one = [Histories.from_lists([[(int(i), 1, 0), (int(i) + 1, 1, 1)]]) for i in rng.integers(0, dataset.n_items - 1, 100)]
    batch = Histories.from_lists([[(int(i), 1, 0), (int(j), 1, 1), (int(k), 1, 2)]
                                  for i, j, k in rng.integers(0, dataset.n_items, (256, 3))])

    def scipy_way(histories: Histories) -> np.ndarray:
        profiles = model.history_matrix(histories) @ model.item_vectors_
        return np.asarray((profiles @ model.item_vectors_.T).toarray())

    print(f"{dataset.n_items:,} items, {model.item_vectors_.shape[1]:,} features, {model.item_vectors_.nnz:,} entries\n")
    print("| way | one shopper ms (median of 100) | batch of 256 s |\n| --- | ---: | ---: |")
    for name, score in (("scipy sparse product", scipy_way), ("ContentRecommender.score", model.score)):
        score(one[0])
        times = []
        for histories in one:
            started = time.perf_counter()
            score(histories)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        score(batch)
        print(f"| {name} | {np.median(times) * 1e3:.1f} | {time.perf_counter() - started:.2f} |", flush=True)


if __name__ == "__main__":
    main()

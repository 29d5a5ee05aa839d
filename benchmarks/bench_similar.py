"""Similar items: the item-to-item protocol (`shoprec evaluate --protocol item-to-item`) on REES46 and
on the synthetic shop, for co-occurrence, content, their blend and the popularity floor.

    python benchmarks/bench_similar.py
    python benchmarks/bench_similar.py --datasets synthetic --shop 10000,20000,300000 --max-pairs 20000
    python benchmarks/bench_similar.py --models popularity,itemknn,itemknn_bm25,content,similar_items --out similar.json

Each dataset is split once (temporal, last 20% of events in time order are test) and every model
is fitted on the same train side and measured on the same pairs (shoprec.evaluation.item_to_item:
a shopper's current item -> the next different item of the session, sessions cut by 30 minutes
and by the shop's session id). REES46 is read from ../shared/data beside the repository and
skipped, said why, when absent. The synthetic shop is `shoprec generate --users 10000 --items 20000
--events 300000 --seed 7` (120 days), made in memory.

Size: pairs above `--max-pairs` (default 20,000) are a seeded sample (seed 42), so each dataset
runs in a few minutes on 2 cores (REES46 is small: every pair is used). Threads follow the
project's policy (shoprec.threads: $SHOPREC_THREADS, else the cores this process may use).

Prints markdown: per dataset, the overall table at each K (hit rate, NDCG, MRR, same leaf
category, catalogue coverage, fit and scoring seconds, and NDCG@10 over the better of itemknn and
content) and the table per bucket of the current item's distinct train shoppers (pairs, NDCG@10
and hit rate@10 per model).

`--grid`: before the test, the blend's `shrink` x `max_trust` grid (its tuning space) and its two
parts on a validation carve of the train side (temporal, last 20% of train), never on the test
side: how similar_items' defaults were chosen. One table per dataset, best first.
"""

from __future__ import annotations

from shoprec import threads

threads.init_environment()  # before numpy and the rest load, as the command line does

import argparse  # noqa: E402 - after the thread policy is in the environment
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from shoprec.data.adapters import adapter_sources  # noqa: E402
from shoprec.data.dataset import Dataset  # noqa: E402
from shoprec.data.ingest import ingest  # noqa: E402
from shoprec.data.readers import ReadOptions  # noqa: E402
from shoprec.data.store import Store  # noqa: E402
from shoprec.evaluation.item_to_item import ItemToItemResult, evaluate_item_to_item  # noqa: E402
from shoprec.evaluation.splits import make_split  # noqa: E402
from shoprec.models.registry import create  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_MODELS = "popularity,itemknn,content,similar_items"
# NDCG@K of each model is also given over the better of these two: the blend's parts.
PARTS = ("itemknn", "content")
TEST_FRACTION = 0.2


def load_rees46(data_dir: Path) -> Dataset | None:
    """REES46 ingested into a throwaway workspace, or None (said why) when the shared copy is absent."""
    folder = data_dir / "rees46"
    if not folder.exists():
        print(f"skipping rees46: {folder} not found (the shared datasets live in ../shared/data beside the "
              "repository, or pass --data-dir)", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ws")
        try:
            ingest(store, adapter_sources("rees46", folder, ReadOptions()))
            return store.dataset()
        finally:
            store.close()


def synthetic(users: int, items: int, events: int, seed: int) -> Dataset:
    """The synthetic shop `shoprec generate` makes with these sizes (120 days from 2024-09-01, English)."""
    from shoprec.cli.generate import generate_into_store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ws")
        try:
            generate_into_store(store, users, items, events, seed, "en", 120, "2024-09-01")
            return store.dataset()
        finally:
            store.close()


def run(dataset: Dataset, names: list[str], ks: tuple[int, ...], max_pairs: int) -> ItemToItemResult:
    split = make_split(dataset, "temporal", test_fraction=TEST_FRACTION)
    return evaluate_item_to_item({name: create(name) for name in names}, split, ks, max_pairs=max_pairs)


def grid(dataset: Dataset, ks: tuple[int, ...], max_pairs: int) -> str:
    """The blend's tuning space on a validation carve of the train side (markdown, best NDCG first)."""
    from shoprec.models.similar_items import SimilarItemsRecommender

    train = make_split(dataset, "temporal", test_fraction=TEST_FRACTION).train
    validation = make_split(train, "temporal", test_fraction=TEST_FRACTION)
    space = SimilarItemsRecommender.tuning_space
    models = {f"similar_items shrink={s:g} max_trust={m:g}": create("similar_items", shrink=s, max_trust=m)
              for s in space["shrink"] for m in space["max_trust"]}
    models.update({name: create(name) for name in PARTS})
    result = evaluate_item_to_item(models, validation, ks, max_pairs=max_pairs)
    k = result.ks[0]
    best = max(r[f"ndcg@{k}"] for r in result.results.values())
    lines = [f"validation: {result.split['n_pairs']:,} pairs", "",
             f"| model | NDCG@{k} | hit@{k} | NDCG@{k} / best |", "|---|---|---|---|"]
    for name, r in sorted(result.results.items(), key=lambda kv: -kv[1][f"ndcg@{k}"]):
        lines.append(f"| {name} | {_f(r[f'ndcg@{k}'])} | {_f(r[f'hit_rate@{k}'])} | {_f(r[f'ndcg@{k}'] / best, 3)} |")
    return "\n".join(lines)


def _f(value: float | None, digits: int = 4) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def overall_table(result: ItemToItemResult) -> str:
    k0 = result.ks[0]
    parts = [result.results[name][f"ndcg@{k0}"] for name in PARTS if name in result.results]
    best_part = max(parts) if parts else None
    header = ["model"]
    for k in result.ks:
        header += [f"hit@{k}", f"NDCG@{k}", f"MRR@{k}", f"same cat@{k}", f"coverage@{k}"]
    header += [f"NDCG@{k0} / best of {' & '.join(PARTS)}", "fit s", "scoring s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, metrics in result.results.items():
        row = [name]
        for k in result.ks:
            row += [_f(metrics.get(f"{m}@{k}")) for m in ("hit_rate", "ndcg", "mrr", "same_category", "coverage")]
        ratio = metrics[f"ndcg@{k0}"] / best_part if best_part else None
        row += [_f(ratio, 3), _f(metrics["train_seconds"], 1), _f(metrics["predict_seconds"], 1)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def bucket_table(result: ItemToItemResult) -> str:
    k = result.ks[0]
    header = ["current item's train shoppers", "pairs", *(f"{name} NDCG@{k} / hit@{k}" for name in result.buckets)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, n in result.bucket_pairs.items():
        cells = [f"{_f(b[label][f'ndcg@{k}'])} / {_f(b[label][f'hit_rate@{k}'])}" if n else "–"
                 for b in result.buckets.values()]
        lines.append(f"| {label} | {n:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe(name: str, dataset: Dataset, result: ItemToItemResult, seconds: float) -> str:
    s = result.split
    sampled = (f", a seeded sample of {s['n_pairs']:,} of {s['n_candidate_pairs']:,}" if s["n_sampled_out_pairs"]
               else "")
    return (f"{name}: {dataset.n_events:,} events, {dataset.n_users:,} shoppers, {dataset.n_items:,} items; "
            f"temporal split (last {TEST_FRACTION:.0%} of events, cutoff {s['options']['cutoff']}); "
            f"{s['n_pairs']:,} pairs{sampled} from {s['n_sessions']:,} sessions of {s['n_shoppers']:,} shoppers "
            f"({s['n_duplicate_pairs']:,} repeats of a pair by one shopper counted once); {seconds:.0f} s in all.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="rees46,synthetic", help="some of rees46,synthetic")
    parser.add_argument("--models", default=DEFAULT_MODELS, help="registry names, comma-separated")
    parser.add_argument("--shop", default="10000,20000,300000", help="users,items,events of the synthetic shop")
    parser.add_argument("--seed", type=int, default=7, help="the synthetic shop's seed")
    parser.add_argument("--max-pairs", type=int, default=20_000)
    parser.add_argument("--k", default="10,20", help="cut-offs, comma-separated (the first is the headline)")
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA)
    parser.add_argument("--out", type=Path, help="write every result as JSON here")
    parser.add_argument("--grid", action="store_true", help="first the blend's tuning space on a validation carve of train")
    args = parser.parse_args()
    n_threads = threads.set_threads()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    ks = tuple(int(k) for k in args.k.split(","))
    users, items, events = (int(v) for v in args.shop.split(","))

    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {len(os.sched_getaffinity(0))} cores, {n_threads} threads "
          f"(shoprec.threads), python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start. "
          f"`{' '.join(['python benchmarks/bench_similar.py', *sys.argv[1:]])}`\n")
    written = {}
    for dataset_name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        started = time.perf_counter()
        if dataset_name == "rees46":
            dataset = load_rees46(args.data_dir)
            if dataset is None:
                continue
            title = "REES46 (2019-10-01, first 2 h 50 min)"
        elif dataset_name == "synthetic":
            dataset = synthetic(users, items, events, args.seed)
            title = f"synthetic shop ({users:,} shoppers, {items:,} items, {events:,} events, seed {args.seed})"
        else:
            raise SystemExit(f"error: unknown dataset {dataset_name!r}, expected rees46 or synthetic")
        if args.grid:
            print(f"### {title}: similar_items' tuning space on validation\n\n{grid(dataset, ks[:1], args.max_pairs)}\n",
                  flush=True)
        result = run(dataset, names, ks, args.max_pairs)
        print(f"### {title}\n\n{describe(dataset_name, dataset, result, time.perf_counter() - started)}\n")
        print(overall_table(result) + "\n")
        print(bucket_table(result) + "\n", flush=True)
        written[dataset_name] = result.to_dict()
    if args.out:
        args.out.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Fusion against its members on the recommenders' three protocols, with run-to-run noise.

    python benchmarks/bench_fusion.py --dataset movielens --protocol leave-last
    python benchmarks/bench_fusion.py --dataset movielens --protocol stratified --params-from tuned.json
    python benchmarks/bench_fusion.py --dataset rees46 --protocol temporal --models popularity,itemknn,ease,ials,content

One split per run (the protocols of benchmarks/bench_models.py). For each seed, the seeded
members (iALS, BPR, the deep models) are refitted with that seed, the deterministic ones
(EASE, item-kNN, popularity, content) are fitted once; fusion is learned on a validation split
carved from the train side (never test) and every single model and every fusion method is
measured on test by `shoprec.evaluation.evaluate`. The table shows NDCG@10 mean and standard
deviation over seeds (the run-to-run noise), the best single model, the best fusion method, the
margin between them, and the learned weights and ranker importances of the first seed.
`--params-from` reads hyperparameters chosen on validation by `shoprec tune` (or bench_models
--tune --out): model -> {"params": {...}}.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_models import PROTOCOLS, SHARED_DATA, available_models, load_dataset
from shoprec.evaluation.runner import evaluate
from shoprec.evaluation.splits import make_split, validation_split
from shoprec.evaluation.tuning import validation_options
from shoprec.models.base import Recommender
from shoprec.models.registry import create
from shoprec.ranking.fused import ALL_METHODS, fusion_name
from shoprec.ranking.learn import learn_fusions, validation_from

SEEDED = ("seed", "random_state")


def seeded_params(name: str, params: dict[str, Any], seed: int) -> tuple[dict[str, Any], bool]:
    """The model's parameters with `seed` set where it takes one; and whether it does."""
    defaults = create(name, **params).get_params()
    key = next((k for k in SEEDED if k in defaults), None)
    return ({**params, key: seed} if key else dict(params)), key is not None


def fit_all(names: list[str], params: dict[str, dict[str, Any]], seed: int, train: Any,
            cache: dict[tuple[str, int], Recommender], side: int) -> dict[str, Recommender]:
    """Members fitted on `train` (side 0: validation train, 1: test train); unseeded ones come from the cache."""
    fitted = {}
    for name in names:
        given, is_seeded = seeded_params(name, params.get(name, {}), seed)
        key = (name, side)
        if not is_seeded and key in cache:
            fitted[name] = cache[key]
            continue
        started = time.perf_counter()
        fitted[name] = create(name, **given).fit(train)
        print(f"  seed {seed} side {side}: {name} fitted in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        if not is_seeded:
            cache[key] = fitted[name]
    return fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["movielens", "rees46"], required=True)
    parser.add_argument("--protocol", choices=list(PROTOCOLS), required=True)
    parser.add_argument("--models", default="popularity,itemknn,ease,ials,content")
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the seeded members, the ranker and the folds")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--params-from", type=Path, help="JSON: model -> {'params': {...}} chosen on validation")
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA)
    parser.add_argument("--out", type=Path, help="write the results JSON here")
    args = parser.parse_args()

    protocol = PROTOCOLS[args.protocol]
    names = available_models([n.strip() for n in args.models.split(",") if n.strip()])
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    seeds = [int(s) for s in args.seeds.split(",")]
    params: dict[str, dict[str, Any]] = {}
    if args.params_from:
        raw = json.loads(args.params_from.read_text())
        params = {name: dict(entry.get("params", entry)) for name, entry in raw.items() if name in names and isinstance(entry, dict)}
    dataset = load_dataset(args.dataset, args.data_dir)
    split = make_split(dataset, protocol.method, **protocol.options)
    validation = validation_split(split.train, protocol.method, **validation_options(protocol.method, protocol.options))
    print(f"{args.dataset} {args.protocol}: train {split.train.n_events:,} events, test {split.test.n_events:,}; "
          f"validation carve: train {validation.train.n_events:,}, validation {validation.test.n_events:,}", file=sys.stderr)

    cache: dict[tuple[str, int], Recommender] = {}
    per_seed: list[dict[str, float]] = []
    learned: dict[str, Any] = {}
    started_all = time.perf_counter()
    for seed in seeds:
        val_members = fit_all(names, params, seed, validation.train, cache, 0)
        prepared = validation_from(validation, val_members, n_candidates=args.candidates)
        members = fit_all(names, params, seed, split.train, cache, 1)
        learning = learn_fusions(methods, members, split.train, prepared, seed=seed)
        fused = {fusion_name(m): f for m, f in learning.fusions.items()}
        singles = evaluate(members, split, ks=(10,), prefitted=list(members))
        fusions = evaluate(fused, split, ks=(10,), prefitted=list(fused))
        row = {name: r["ndcg@10"] for name, r in {**singles.results, **fusions.results}.items()}
        per_seed.append(row)
        if not learned:
            learned = {**learning.to_dict(), "test_users": singles.split["n_evaluated_users"]}
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()), file=sys.stderr)

    entries = list(per_seed[0])
    mean = {e: float(np.mean([r[e] for r in per_seed])) for e in entries}
    std = {e: float(np.std([r[e] for r in per_seed], ddof=1)) if len(per_seed) > 1 else float("nan") for e in entries}
    singles_only = [e for e in entries if not e.startswith("fusion:")]
    best_single = max(singles_only, key=lambda e: mean[e])
    best_fusion = max([e for e in entries if e.startswith("fusion:")], key=lambda e: mean[e])
    margin = mean[best_fusion] - mean[best_single]
    diffs = [r[best_fusion] - r[best_single] for r in per_seed]
    noise = max(std[best_single], std[best_fusion])

    print(f"\n### {args.dataset}, {args.protocol} ({learned.get('test_users')} test users, {len(seeds)} seeds)\n")
    print("| model | NDCG@10 mean | std over seeds | / best single |\n|---|---:|---:|---:|")
    for e in entries:
        print(f"| {e} | {mean[e]:.4f} | {std[e]:.4f} | {mean[e] / mean[best_single]:.3f} |")
    print(f"\nbest single: {best_single} {mean[best_single]:.4f}; best fusion: {best_fusion} {mean[best_fusion]:.4f}; "
          f"margin {margin:+.4f} (per seed: {', '.join(f'{d:+.4f}' for d in diffs)}); noise (largest std) {noise:.4f}")
    print("\nlearned weights (seed " + str(seeds[0]) + "): " + json.dumps(learned.get("weights")))
    top = list(learned.get("ltr_importances", {}).items())[:10]
    print("ltr importances (share of gain, top 10): " + ", ".join(f"{k} {v:.3f}" for k, v in top))
    print(f"\n{time.perf_counter() - started_all:.0f} s on {platform.node()} ({platform.machine()}), "
          f"{time.strftime('%Y-%m-%d')}", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps({"dataset": args.dataset, "protocol": args.protocol, "seeds": seeds,
                                        "per_seed": per_seed, "mean": mean, "std": std, "best_single": best_single,
                                        "best_fusion": best_fusion, "margin": margin, "noise": noise,
                                        "learned": learned, "params": params}, indent=2))


if __name__ == "__main__":
    main()

"""Learned-ranker settings side by side on a MovieLens protocol, members fitted once.

    python benchmarks/bench_ltr_variants.py popularity,itemknn,ials,puresvd,ease \
        '{"default": {}, "base1": {"base_weight": 1.0}}' 0,1 [stratified|leave-last]

The members (hyperparameters from benchmarks/params/movielens-<protocol>.json, seeded ones with
seed 0) are fitted once on the validation carve and once on the train side; then, for each
variant (RankerSettings fields to override) and each ranker seed, only `fusion:ltr` is learned on
validation and measured on test. So the spread shown is the ranker's own, with the members fixed
(bench_fusion.py refits the seeded members per seed as well).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench_fusion import fit_all
from bench_models import PROTOCOLS, SHARED_DATA, load_dataset
from shoprec.evaluation.runner import evaluate
from shoprec.evaluation.splits import make_split, validation_split
from shoprec.evaluation.tuning import validation_options
from shoprec.ranking.learn import learn_fusions, validation_from
from shoprec.ranking.ltr import RankerSettings

PARAMS = Path(__file__).resolve().parent / "params"


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    names = sys.argv[1].split(",")
    variants = json.loads(sys.argv[2])
    seeds = [int(s) for s in sys.argv[3].split(",")] if len(sys.argv) > 3 else [0, 1, 2]
    name = sys.argv[4] if len(sys.argv) > 4 else "stratified"
    params = {n: e["params"] for n, e in json.loads((PARAMS / f"movielens-{name}.json").read_text()).items() if n in names}
    protocol = PROTOCOLS[name]
    dataset = load_dataset("movielens", SHARED_DATA)
    split = make_split(dataset, protocol.method, **protocol.options)
    validation = validation_split(split.train, protocol.method, **validation_options(protocol.method, protocol.options))
    cache: dict = {}
    prepared = validation_from(validation, fit_all(names, params, 0, validation.train, cache, 0), n_candidates=100)
    members = fit_all(names, params, 0, split.train, cache, 1)
    singles = evaluate(members, split, ks=(10,), prefitted=list(members))
    print("members: " + ", ".join(f"{k} {v['ndcg@10']:.4f}" for k, v in singles.results.items()), flush=True)
    print("\n| variant | test NDCG@10 mean | std | per ranker seed | validation NDCG@10 (out of fold, last seed) |")
    print("|---|---:|---:|---|---:|")
    for label, overrides in variants.items():
        scores, started = [], time.perf_counter()
        for seed in seeds:
            settings = replace(RankerSettings(seed=42 + seed), **overrides)
            learning = learn_fusions(["ltr"], members, split.train, prepared, ranker_settings=settings, seed=seed)
            result = evaluate({"fusion:ltr": learning.fusions["ltr"]}, split, ks=(10,), prefitted=["fusion:ltr"])
            scores.append(result.results["fusion:ltr"]["ndcg@10"])
        std = float(np.std(scores, ddof=1)) if len(scores) > 1 else float("nan")
        print(f"| {label} | {np.mean(scores):.4f} | {std:.4f} | {', '.join(f'{s:.4f}' for s in scores)} | "
              f"{learning.validation['fusion:ltr']:.4f} |  ({(time.perf_counter() - started) / len(seeds):.0f} s/seed)", flush=True)


if __name__ == "__main__":
    main()

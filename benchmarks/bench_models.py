"""shoprec's models beside the same algorithms from peer libraries: one split, one runner, one metric code.

    python benchmarks/bench_models.py --dataset rees46 --protocol temporal
    python benchmarks/bench_models.py --dataset movielens --protocol leave-last --tune --out ml-leave-last.json
    python benchmarks/bench_models.py --dataset movielens --protocol stratified

The dataset is ingested from ../shared/data (beside the repository) into a temporary workspace
and split once. shoprec's models (registry names, default: all) and the peers (benchmarks/peers.py:
implicit ALS, BPR and item-kNN, cornac EASE and MostPop) are fitted on the same train side and
measured on the same test side by `shoprec.evaluation.evaluate`, so every row is scored by the
same code. Protocols (the issue's):

    temporal    last 20% of events in time order are test; every target type      (k = 10, 20)
    leave-last  each user's last 5 events are test                                 (k = 10, 20)
    stratified  75% of each item's interactions to train, seed 42, seen removed    (k = 10, Microsoft Recommenders')

A peer gets its shoprec twin's corresponding hyperparameters (peers.TWINS: factors,
regularisation, iterations, neighbours, L2, seed), so each pair runs one setting. With --tune,
each shoprec model is first tuned on a validation split carved from the train side (never test)
and its peer gets the same chosen values; peers are not tuned on their own. Prints a markdown table
(ratio column: twin NDCG@10 / peer NDCG@10) and, for seeded pairs, NDCG@10 mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# peers.py sits beside this script, whose folder Python puts first on sys.path.
from peers import PEERS, TWINS, create_peer, peer_params
from shoprec.data.adapters import adapter_sources
from shoprec.data.dataset import Dataset
from shoprec.data.ingest import ingest
from shoprec.data.readers import ReadOptions
from shoprec.data.store import Store
from shoprec.errors import ShoprecError
from shoprec.evaluation.metrics import METRICS, accuracy_per_user, hit_matrix
from shoprec.evaluation.runner import DEFAULT_TARGET_EVENT_TYPES, EvaluationResult, build_task, evaluate, recommend_all
from shoprec.evaluation.splits import Split, make_split
from shoprec.evaluation.tuning import TuningResult, parse_metric, tune_model
from shoprec.models.base import Recommender
from shoprec.models.registry import MODELS, create, model_class

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# --dataset name -> (folder under shared/data, ingest adapter)
DATASETS = {"rees46": ("rees46", "rees46"), "movielens": ("movielens-latest-small", "movielens")}
NOISE_PEERS = ("implicit_als", "implicit_bpr")  # seeded pairs whose run-to-run spread is printed
SEED_ALIASES = ("seed", "random_state")


@dataclass(frozen=True)
class Protocol:
    method: str
    options: dict[str, Any]
    ks: tuple[int, ...]


PROTOCOLS = {
    "temporal": Protocol("temporal", {"test_fraction": 0.2}, (10, 20)),
    "leave-last": Protocol("leave-last", {"last_n": 5}, (10, 20)),
    "stratified": Protocol("stratified", {"ratio": 0.75, "by": "item", "seed": 42}, (10,)),
}


def load_dataset(name: str, data_dir: Path) -> Dataset:
    """Ingest a shared dataset into a throwaway workspace and return its Dataset."""
    folder_name, adapter = DATASETS[name]
    folder = data_dir / folder_name
    if not folder.exists():
        raise SystemExit(f"error: {folder} not found: the shared datasets live in ../shared/data beside the "
                         "repository (or pass --data-dir)")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "ws")
        try:
            ingest(store, adapter_sources(adapter, folder, ReadOptions()))
            return store.dataset()
        finally:
            store.close()


def available_models(names: list[str]) -> list[str]:
    """The named shoprec models that import here (a model needing a missing extra is skipped, said why)."""
    usable = []
    for name in names:
        try:
            model_class(name)
            usable.append(name)
        except ShoprecError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
    return usable


def tune_all(names: list[str], split: Split, protocol: Protocol, metric: str, max_trials: int | None) -> dict[str, TuningResult]:
    """Tune each shoprec model on a validation split carved from the train side (never from test)."""
    _, metric_k = parse_metric(metric)
    tuned = {}
    for name in names:
        started = time.perf_counter()
        tuned[name] = tune_model(name, split.train, protocol.method, protocol.options, metric=metric,
                                 ks=(metric_k,), max_trials=max_trials)
        print(f"tuned {name} in {time.perf_counter() - started:.1f} s: {tuned[name].params} "
              f"(validation {metric} {tuned[name].value:.4f})", file=sys.stderr)
    return tuned


def twin_params(peer: str, models: dict[str, Recommender]) -> dict[str, Any] | None:
    """The hyperparameters of a peer's shoprec twin: as run here, else its registry defaults, else None."""
    twin = TWINS[peer][0]
    if twin in models:
        return models[twin].get_params()
    if twin in MODELS:
        try:
            return create(twin).get_params()
        except ShoprecError:
            return None
    return None


def build_models(names: list[str], peers: list[str], params: dict[str, dict[str, Any]]) -> dict[str, Recommender]:
    """shoprec models with their (tuned) settings, then the peers with their twins' values."""
    models: dict[str, Recommender] = {name: create(name, **params.get(name, {})) for name in names}
    for peer in peers:
        models[peer] = create_peer(peer, **peer_params(peer, twin_params(peer, models)))
    return models


def warm_ndcg(models: dict[str, Recommender], split: Split, k: int = 10) -> dict[str, float]:
    """NDCG@k over the test users who have a train history, from the already fitted models (no refit).

    Where many test users are cold, the main table mostly measures each model's answer to an empty
    history (shoprec's fall back to popularity; a peer's empty-row answer is near arbitrary); this
    column compares the algorithms themselves.
    """
    has_history = np.bincount(split.train.event_users, minlength=split.train.n_users) > 0
    warm = Split(split.train, split.test.subset(has_history[split.test.event_users]), split.info)
    task = build_task(warm, DEFAULT_TARGET_EVENT_TYPES, exclude_seen=True)
    n_relevant = np.array([len(r) for r in task.relevant])
    return {name: float(accuracy_per_user(hit_matrix(recommend_all(model, task, k, 1000, name), task.relevant, k),
                                          n_relevant, k)["ndcg"].mean())
            for name, model in models.items()}


def markdown_table(result: EvaluationResult, ks: tuple[int, ...], warm: dict[str, float] | None = None) -> str:
    """Rows = models; columns = every metric at each K, train seconds, and twin/peer NDCG@10
    (with `warm`: also NDCG@10 over warm users, and the ratio on them after the slash)."""
    columns = [f"{metric}@{k}" for k in ks for metric in METRICS]
    extra = " ndcg@10 warm users |" if warm else ""
    lines = ["| model | " + " | ".join(columns) + f" | train s |{extra} NDCG@10 shoprec/peer{' (all / warm)' if warm else ''} |",
             "|---|" + "---:|" * (len(columns) + 2 + bool(warm))]
    for name, scores in result.results.items():
        cells = [_fmt(scores.get(column)) for column in columns] + [f"{scores['train_seconds']:.2f}"]
        if warm:
            cells.append(_fmt(warm[name]))
        ratio = ""
        if name in PEERS and TWINS[name][0] in result.results:
            twin = TWINS[name][0]
            ratio = _ratio(result.results[twin].get("ndcg@10"), scores.get("ndcg@10"))
            if warm:
                ratio += " / " + _ratio(warm[twin], warm[name])
            ratio += f" ({twin})"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def _ratio(mine: float | None, theirs: float | None) -> str:
    return f"{mine / theirs:.2f}" if mine is not None and theirs else "-"


def _fmt(value: float | None) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.4f}"


def noise(split: Split, models: dict[str, Recommender], peers: list[str], seeds: int, warm: bool) -> dict[str, dict[str, Any]]:
    """NDCG@10 (and, with `warm`, over warm users) for `seeds` seeds of each seeded peer and its twin."""
    spread: dict[str, dict[str, Any]] = {}
    for peer in (p for p in NOISE_PEERS if p in peers and seeds > 0):
        twin = TWINS[peer][0]
        pair = {peer: models[peer]}
        if twin in models and any(a in models[twin].get_params() for a in SEED_ALIASES):
            pair[twin] = models[twin]
        for name, model in pair.items():
            seed_name = next(a for a in SEED_ALIASES if a in model.get_params())
            values: dict[str, list[float]] = {"ndcg@10": [], "warm": []}
            for seed in range(seeds):
                seeded = model.clone()
                setattr(seeded, seed_name, seed)
                values["ndcg@10"].append(evaluate({name: seeded}, split, ks=(10,)).results[name]["ndcg@10"])
                if warm:
                    values["warm"].append(warm_ndcg({name: seeded}, split)[name])
            spread[name] = {"seeds": list(range(seeds)), **{key: _mean_std(v) for key, v in values.items() if v}}
    return spread


def _mean_std(values: list[float]) -> dict[str, Any]:
    return {"values": values, "mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), help="default: temporal for rees46, leave-last for movielens")
    parser.add_argument("--models", default="all", help="shoprec registry names, comma-separated, or 'all'")
    parser.add_argument("--peers", default="all", help=f"peer names ({', '.join(PEERS)}), comma-separated, 'all' or 'none'")
    parser.add_argument("--tune", action="store_true", help="tune shoprec models on validation carved from train first")
    parser.add_argument("--metric", default="ndcg@10", help="the validation metric tuning maximises")
    parser.add_argument("--max-trials", type=int, help="at most this many grid points per model")
    parser.add_argument("--noise-seeds", type=int, default=3, help="seeds for the run-to-run spread (0: skip)")
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA)
    parser.add_argument("--out", type=Path, help="write everything as JSON here")
    args = parser.parse_args()

    protocol_name = args.protocol or ("temporal" if args.dataset == "rees46" else "leave-last")
    protocol = PROTOCOLS[protocol_name]
    names = available_models(sorted(MODELS) if args.models == "all" else [n.strip() for n in args.models.split(",") if n.strip()])
    peers = ([] if args.peers == "none" else list(PEERS) if args.peers == "all"
             else [p.strip() for p in args.peers.split(",") if p.strip()])
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        raise SystemExit(f"error: unknown peer {unknown[0]!r}, expected one of {', '.join(PEERS)}")

    started = time.perf_counter()
    dataset = load_dataset(args.dataset, args.data_dir)
    split = make_split(dataset, protocol.method, **protocol.options)
    print(f"{args.dataset}: {dataset.n_events:,} events, {dataset.n_users:,} users, {dataset.n_items:,} items "
          f"(ingest + split {time.perf_counter() - started:.1f} s)", file=sys.stderr)

    tuned = tune_all(names, split, protocol, args.metric, args.max_trials) if args.tune else {}
    models = build_models(names, peers, {name: result.params for name, result in tuned.items()})
    result = evaluate(models, split, ks=protocol.ks)
    warm = warm_ndcg(models, split) if result.split["n_cold_users"] else None
    spread = noise(split, models, peers, args.noise_seeds, warm is not None)

    print(f"## {args.dataset}, {protocol_name} {protocol.options}\n")
    print(f"{time.strftime('%Y-%m-%d')}, {machine()}. `python benchmarks/bench_models.py {' '.join(sys.argv[1:])}`. "
          f"{result.split['n_evaluated_users']:,} users evaluated ({result.split['n_cold_users']:,} cold), "
          f"{'tuned on validation carved from train' if tuned else 'default hyperparameters'}.\n")
    print(markdown_table(result, protocol.ks, warm))
    print("\n| model | hyperparameters |\n|---|---|")
    for name, model in models.items():
        note = f" (tuned: validation {tuned[name].metric} {tuned[name].value:.4f})" if name in tuned else ""
        print(f"| {name} | {', '.join(f'{k}={v}' for k, v in model.get_params().items()) or '-'}{note} |")
    if spread:
        header = "| model | NDCG@10 mean ± std |" + (" warm users |" if warm else "")
        print(f"\nRun-to-run noise over {args.noise_seeds} seeds:\n\n{header}\n|---|---:|" + ("---:|" if warm else ""))
        for name, s in spread.items():
            cells = [s[key] for key in ("ndcg@10", "warm") if key in s]
            print(f"| {name} | " + " | ".join(f"{c['mean']:.4f} ± {c['std']:.4f}" for c in cells) + " |")
    if args.out:
        written = result.to_dict()
        written.update(protocol={"name": protocol_name, "method": protocol.method, "options": protocol.options},
                       params={name: model.get_params() for name, model in models.items()},
                       tuning={name: r.to_dict() for name, r in tuned.items()}, noise=spread, warm_ndcg10=warm,
                       machine=machine(),
                       date=time.strftime("%Y-%m-%d"))
        args.out.write_text(json.dumps(written, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Product search quality and latency on Home Depot: bm25s, lexical, semantic, hybrid, learned ranking.

    python benchmarks/bench_search.py [--data ../shared/data/homedepot] [--cache /tmp/shoprec-bench-cache]
                                      [--train-fraction 0.5] [--seed 42] [--sample N] [--no-static]

All products are indexed (the store's catalogue after the homedepot adapter); every distinct
search term of train.csv is run over the whole catalogue (protocol of ../shared/data/README.md).
The judged queries are split once by query: the hybrid blend and the learned ranker learn from
the training part; every row is scored on the held-out part (the same queries for all), and the
rows that learn nothing also on all queries. Latency: per query, one thread, top 100.

Rows: bm25s over titles with English stemming (tantivy's Snowball stemmer passed to bm25s, since
PyStemmer is not a dependency) and English stopwords, the baseline; shoprec's lexical engine;
semantic with MiniLM and with the static model2vec encoder distilled from it; hybrid with RRF
and with the blend tuned on the training queries; ltr (LambdaMART over hybrid candidates). Also:
encoding speed of both encoders (2 threads), and whether a description head helps the
embedding (on the queries that judge one of the 1,387 products that have a description).

The workspace and the embedding caches live under --cache (outside the repository): MiniLM
encodes the catalogue once (~9 minutes on 2 cores); later runs reuse the cache.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from shoprec.data import schema as S
from shoprec.data.adapters import adapter_sources
from shoprec.data.ingest import ingest
from shoprec.data.readers import ReadOptions
from shoprec.data.store import Store
from shoprec.search.embeddings_cache import MiniLMEncoder, StaticEncoder
from shoprec.search.engine import SearchEngine
from shoprec.search.evaluation import SearchScores, evaluate_search, single_thread, split_queries
from shoprec.search.hybrid import HybridSettings
from shoprec.search.judgments import read_judgments
from shoprec.search.learning import train_ranker, tune_hybrid
from shoprec.search.semantic import FOLDER, SemanticIndex, SemanticSettings, item_texts
from shoprec.search.text import stem

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "homedepot"
DESCRIPTION_CHARS = 300


def workspace_of(data: Path, cache: Path) -> Path:
    """The benchmark's workspace: the catalogue ingested once through the homedepot adapter."""
    workspace = cache / "homedepot"
    store = Store(workspace)
    try:
        if store.manifest().items is None:
            ingest(store, adapter_sources("homedepot", data, ReadOptions()))
    finally:
        store.close()
    return workspace


def bm25s_search(items: pd.DataFrame) -> Callable[[str], list[str]]:
    """bm25s over titles, English stopwords and stemming: query -> top 100 item ids."""
    import bm25s

    def stemmer(words: list[str]) -> list[str]:
        return [stem(w) for w in words]

    ids = items[S.ITEM_ID].astype(str).to_numpy()
    titles = [t if isinstance(t, str) else "" for t in items[S.TITLE]]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(titles, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)

    def search(query: str) -> list[str]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        docs, _ = retriever.retrieve(tokens, k=100, show_progress=False, n_threads=1)
        return [ids[d] for d in docs[0]]

    return search


def encoding_speed(items: pd.DataFrame, static_folder: Path) -> dict[str, float]:
    """Texts per second of each encoder on catalogue titles (2 threads)."""
    texts = item_texts(items)
    sample = [t for t in texts[:: max(1, len(texts) // 2000)] if t][:2000]
    minilm = MiniLMEncoder()
    minilm.encode(sample[:32])
    started = time.perf_counter()
    minilm.encode(sample)
    speed = {"minilm": len(sample) / (time.perf_counter() - started)}
    static = StaticEncoder(static_folder)
    started = time.perf_counter()
    static.encode(texts)
    speed["static"] = len(texts) / (time.perf_counter() - started)
    return speed


def copy_cache(source: Path, target: Path) -> None:
    """Seed an index's embedding cache with another's (same model: the keys are text hashes)."""
    if (source / "cache").exists() and not (target / "cache").exists():
        shutil.copytree(source / "cache", target / "cache")


def row(name: str, held: SearchScores, every: SearchScores | None, baseline: float | None) -> dict[str, Any]:
    return {"mode": name, "ndcg": held.ndcg, "recall": held.recall, "p50": held.p50_ms, "p99": held.p99_ms,
            "all": every.ndcg if every else None, "ratio": held.ndcg / baseline if baseline else None}


def print_table(rows: list[dict[str, Any]], n_test: int, n_all: int) -> None:
    print(f"\n| mode | NDCG@10 held-out ({n_test} q) | recall@100 | p50 ms | p99 ms | NDCG@10 all ({n_all} q) "
          "| NDCG / bm25s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        every = f"{r['all']:.4f}" if r["all"] is not None else "-"
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        print(f"| {r['mode']} | {r['ndcg']:.4f} | {r['recall']:.4f} | {r['p50']:.1f} | {r['p99']:.1f} | {every} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/shoprec-bench-cache"))
    parser.add_argument("--train-fraction", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sample", type=int, help="Score only this many held-out queries (quick iterations).")
    parser.add_argument("--no-static", action="store_true", help="Skip the static (model2vec) encoder rows.")
    parser.add_argument("--static-all", action="store_true", help="Also hybrid and ltr over the static encoder.")
    parser.add_argument("--personal", action="store_true",
                        help="Instead: choose the personal-search weights on the synthetic shop (see personal_tuning).")
    args = parser.parse_args()
    if args.personal:
        torch.set_num_threads(2)
        personal_tuning(args.cache)
        return
    if not (args.data / "train.csv").exists():
        sys.exit(f"no Home Depot data at {args.data}")
    torch.set_num_threads(2)

    workspace = workspace_of(args.data, args.cache)
    judgments = read_judgments(args.data / "train.csv")
    train, test = split_queries(judgments, args.train_fraction, args.seed)
    if args.sample:
        test, train = test[: args.sample], train[: 3 * args.sample]
    started = time.perf_counter()
    engine = SearchEngine.open(workspace)
    print(f"engine open (indexes built or refreshed): {time.perf_counter() - started:.1f} s", file=sys.stderr)
    items = engine._items

    def scored(name: str, search: Callable[[str], list[str]], everything: bool) -> tuple[SearchScores, SearchScores | None]:
        with single_thread():
            held = evaluate_search(search, judgments, queries=test, label=f"{name} held-out")
            every = evaluate_search(search, judgments, label=f"{name} all") if everything and not args.sample else None
        print(f"{name}: {held.to_json()}", file=sys.stderr)
        return held, every

    def engine_search(target: SearchEngine, mode: str, hybrid: HybridSettings | None = None) -> Callable[[str], list[str]]:
        return lambda query: [i for i, _ in target.ranked(query, mode, 100, hybrid=hybrid)]

    rows: list[dict[str, Any]] = []
    held, every = scored("bm25s", bm25s_search(items), True)
    baseline = held.ndcg
    rows.append(row("bm25s (titles, stemmed)", held, every, baseline))
    rows.append(row("lexical (shoprec, tantivy)", *scored("lexical", engine_search(engine, "lexical"), True), baseline))
    rows.append(row("semantic (MiniLM)", *scored("semantic", engine_search(engine, "semantic"), True), baseline))
    rrf = HybridSettings(method="rrf")
    rows.append(row("hybrid RRF", *scored("hybrid_rrf", engine_search(engine, "hybrid", rrf), True), baseline))
    started = time.perf_counter()
    lists = engine.candidates_for(train)
    candidates_s = time.perf_counter() - started
    started = time.perf_counter()
    tuning = tune_hybrid(engine, judgments, train, lists=lists)
    engine.hybrid = tuning.settings
    tune_s = time.perf_counter() - started
    chosen = tuning.settings
    label = f"hybrid blend (w={chosen.blend_weight}, {chosen.normalisation})" if chosen.method == "blend" else "hybrid (RRF chosen)"
    rows.append(row(label, *scored("hybrid", engine_search(engine, "hybrid"), False), baseline))
    started = time.perf_counter()
    ranker = engine.ranker = train_ranker(engine, judgments, train, lists=lists)
    train_s = time.perf_counter() - started
    rows.append(row("ltr (LambdaMART over hybrid candidates)", *scored("ltr", engine_search(engine, "ltr"), False), baseline))

    extra: list[str] = []
    if not args.no_static:
        static_path = workspace / "search" / "semantic-static"
        static = _static_index(static_path, items)
        static_engine = SearchEngine(workspace, engine.lexical, static, items, popularity=engine._popularity)
        rows.append(row("semantic (static model2vec)", *scored("semantic_static", engine_search(static_engine, "semantic"), True), baseline))
        speed = encoding_speed(items, static_path / "models" / "static-minilm")
        extra.append(f"encoding speed, 2 threads: MiniLM {speed['minilm']:.0f} texts/s, static {speed['static']:.0f} "
                     f"texts/s ({speed['static'] / speed['minilm']:.0f}x)")
    if args.static_all and not args.no_static:
        static_lists = static_engine.candidates_for(train)
        static_engine.hybrid = tune_hybrid(static_engine, judgments, train, lists=static_lists).settings
        rows.append(row(f"hybrid blend, static (w={static_engine.hybrid.blend_weight})",
                        *scored("hybrid_static", engine_search(static_engine, "hybrid"), False), baseline))
        static_engine.ranker = train_ranker(static_engine, judgments, train, lists=static_lists)
        rows.append(row("ltr, static", *scored("ltr_static", engine_search(static_engine, "ltr"), False), baseline))

    extra.append(_description_effect(workspace, items, judgments))
    n_all = judgments[S.QUERY].nunique()
    print_table(rows, len(test), n_all)
    print()
    print(f"- candidates (top 100 lexical + top 100 semantic) of the {len(train)} training queries: {candidates_s:.0f} s")
    print(f"- hybrid blend tuned on {len(train)} training queries in {tune_s:.0f} s; tried (semantic weight, "
          f"normalisation) -> NDCG@10 on training: best {tuning.table['ndcg'].max():.4f}")
    print(f"- ltr trained on {ranker.trained_queries_} training queries in {train_s:.0f} s ({ranker.best_iteration_} trees); "
          "importances: " + ", ".join(f"{k} {v:.2f}" for k, v in list(ranker.feature_importances_.items())[:8]))
    for line in extra:
        print(f"- {line}")
    print(f"- {time.strftime('%Y-%m-%d')}, {platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"Python {platform.python_version()}")


def _static_index(path: Path, items: pd.DataFrame) -> SemanticIndex:
    if (path / "index" / "meta.json").exists():
        index = SemanticIndex.open(path)
        index.sync(items)
        return index
    return SemanticIndex.build(path, items, SemanticSettings(encoder="static"))


def _description_effect(workspace: Path, items: pd.DataFrame, judgments: pd.DataFrame) -> str:
    """Semantic NDCG@10 with and without a description head, on queries judging a described product."""
    described = set(items.loc[items[S.DESCRIPTION].notna(), S.ITEM_ID].astype(str))
    queries = sorted(set(judgments.loc[judgments[S.ITEM_ID].isin(described), S.QUERY]))
    plain = SemanticIndex.open(workspace / FOLDER)
    path = workspace / "search" / f"semantic-desc{DESCRIPTION_CHARS}"
    copy_cache(workspace / FOLDER, path)
    if (path / "index" / "meta.json").exists():
        with_head = SemanticIndex.open(path)
        with_head.sync(items)
    else:
        with_head = SemanticIndex.build(path, items, SemanticSettings(description_chars=DESCRIPTION_CHARS))
    scores = {}
    with single_thread():
        for name, index in (("title", plain), ("title + description head", with_head)):
            scores[name] = evaluate_search(lambda q, index=index: [i for i, _ in index.search(q, 100)], judgments,
                                           queries=queries, label=name).ndcg
    return (f"description head ({DESCRIPTION_CHARS} chars) in the MiniLM text, on the {len(queries)} queries judging one "
            f"of the {len(described)} described products: NDCG@10 {scores['title']:.4f} without, "
            f"{scores['title + description head']:.4f} with")


def personal_tuning(cache: Path, model_name: str = "itemknn") -> None:
    """Choose the personal weights on the synthetic shop's searches followed by clicks.

    The events before the 80% time quantile train the recommender and count past search clicks;
    the later searches followed by a click are the cases: the first half (in time) chooses
    (w, v), the second half measures NDCG@10 of the clicked item, before and after re-ranking the
    lexical top 50 with the history the shopper had at the search.
    """
    from shoprec.bundle import Bundle
    from shoprec.cli.generate import generate_into_store
    from shoprec.data.dataset import Dataset
    from shoprec.models.registry import create
    from shoprec.recommending import history_of
    from shoprec.search.lexical import LexicalIndex
    from shoprec.search.personalise import (
        PersonalSettings,
        QueryClicks,
        history_before,
        personal_scores,
        searches_followed_by_clicks,
        tune_weights,
    )

    workspace = cache / "synthetic-personal"
    store = Store(workspace)
    if store.manifest().items is None:
        generate_into_store(store, 2_000, 1_000, 100_000, 42, "en", 120, "2024-09-01")
    events, items = store.read_events(), store.items()
    stamps = pd.to_datetime(events[S.TIMESTAMP], utc=True)
    cutoff = stamps.quantile(0.8)
    past = events[stamps < cutoff]
    dataset = Dataset.from_frames(past, items, store.users())
    model = create(model_name).fit(dataset)
    bundle = Bundle(workspace, {"version": "bench", "default_model": model_name}, dataset.item_ids, {model_name: model})
    clicks = QueryClicks.from_events(past)
    cases = searches_followed_by_clicks(events[stamps >= cutoff]).sort_values(S.TIMESTAMP, kind="stable")
    tune_cases, score_cases = cases.iloc[: len(cases) // 2], cases.iloc[len(cases) // 2:]
    lexical = LexicalIndex.build(workspace / "search" / "lexical", items)

    def search(query: str) -> list[tuple[str, float]]:
        return [(h.item_id, h.score) for h in lexical.search(query, k=50, facets=False, highlight=False).hits]

    histories: dict[str, Any] = {}

    def personal(user: str, time_ms: int, ids: list[str]) -> np.ndarray:
        if user not in histories:
            histories[user] = history_of(store, bundle, user)
        return personal_scores(model.score, bundle, history_before(histories[user], time_ms), ids)

    started = time.perf_counter()
    tuning = tune_weights(tune_cases, search, personal, clicks)
    tune_s = time.perf_counter() - started
    print(f"\n{len(cases)} searches followed by a click after the cut-off; {len(tune_cases)} choose, "
          f"{len(score_cases)} measure; {model_name} trained on {len(past)} earlier events ({tune_s:.0f} s)\n")
    print("| re-ranking of the lexical top 50 | w | v | NDCG@10 of the clicked item (measure half) |")
    print("|---|---:|---:|---:|")
    for label, settings in (("none (lexical order)", PersonalSettings(weight=0.0, click_weight=0.0)),
                            ("defaults", PersonalSettings()), ("tuned on the first half", tuning.settings),
                            ("taste only", PersonalSettings(weight=tuning.settings.weight, click_weight=0.0)),
                            ("past clicks only", PersonalSettings(weight=0.0, click_weight=tuning.settings.click_weight))):
        table = tune_weights(score_cases, search, personal, clicks, weights=(settings.weight,),
                             click_weights=(settings.click_weight,)).table
        print(f"| {label} | {settings.weight} | {settings.click_weight} | {float(table['ndcg'].iloc[0]):.4f} |")
    store.close()


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()

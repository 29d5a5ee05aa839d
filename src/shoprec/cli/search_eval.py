"""`shoprec search-eval`: search quality and latency of each mode on judged queries.

Every judged query is run over the whole catalogue. The judged queries are split once, by query:
the hybrid blend and the learned ranker are fitted on the training part, and every mode is
scored on the held-out part only, so the modes are compared on the same queries, none of which
any of them learned from. Modes that learn nothing (lexical, semantic, hybrid_rrf) are also
scored on all the queries. Latency is per query on one thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shoprec import progress
from shoprec.cli import run_options, workspace_option
from shoprec.cli.json_output import dumps, json_request, json_result_options
from shoprec.cli.options import parse_list
from shoprec.errors import ConfigError

# The engine and the measuring (pandas, LightGBM, sentence models) and rich are imported where
# they run, so that `search-eval --help` does not wait for them.
if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from shoprec.search.engine import SearchEngine
    from shoprec.search.evaluation import SearchScores

EVAL_MODES = ("lexical", "semantic", "hybrid_rrf", "hybrid", "ltr")
DEFAULT_MODES = "lexical,semantic,hybrid,ltr"
LEARNING_MODES = ("hybrid", "ltr")  # fitted on the training queries


def parse_modes(text: str) -> list[str]:
    """`"lexical,ltr"` -> ["lexical", "ltr"], each one of EVAL_MODES."""
    modes = parse_list(text)
    unknown = [m for m in modes if m not in EVAL_MODES]
    if unknown or not modes:
        raise ConfigError(f"--modes: expected some of {', '.join(EVAL_MODES)}, got {text!r}")
    return list(dict.fromkeys(modes))


def mode_search(engine: SearchEngine, mode: str, n: int):  # type: ignore[no-untyped-def]
    """A query -> item ids function for one mode (hybrid_rrf: hybrid with reciprocal rank fusion)."""
    from shoprec.search.hybrid import HybridSettings

    if mode == "hybrid_rrf":
        rrf = HybridSettings(method="rrf", candidates=engine.hybrid.candidates)
        return lambda query: [i for i, _ in engine.ranked(query, "hybrid", n, hybrid=rrf)]
    return lambda query: [i for i, _ in engine.ranked(query, mode, n)]


def run_search_eval(engine: SearchEngine, judgments: pd.DataFrame, modes: list[str], *, k: int = 10,
                    recall_k: int = 100, train_fraction: float = 0.5, seed: int = 42) -> dict[str, Any]:
    """Fit the learning modes on the training queries, score every mode on the held-out ones (and
    the modes that learn nothing on all); the JSON-able report."""
    from shoprec.search.evaluation import evaluate_search, single_thread, split_queries
    from shoprec.search.learning import train_ranker, tune_hybrid

    train, test = split_queries(judgments, train_fraction, seed)
    report: dict[str, Any] = {"k": k, "recall_k": recall_k, "results": {}, "all_queries": {},
                              "split": {"train_fraction": train_fraction, "seed": seed, "train_queries": len(train),
                                        "test_queries": len(test), "train": train, "test": test}}
    learning = engine.semantic is not None and any(m in modes for m in LEARNING_MODES)
    lists = engine.candidates_for(train) if learning else {}
    if "hybrid" in modes and engine.semantic is not None:
        tuning = tune_hybrid(engine, judgments, train, lists=lists)
        engine.hybrid = tuning.settings
        report["hybrid"] = {"chosen": vars(tuning.settings), "tried": tuning.table.to_dict(orient="records")}
    if "ltr" in modes and engine.semantic is not None:
        ranker = engine.ranker = train_ranker(engine, judgments, train, lists=lists)
        report["ltr"] = {"trained_queries": ranker.trained_queries_, "importances": ranker.feature_importances_}
    scores: dict[str, SearchScores] = {}
    with single_thread():
        for mode in modes:
            scores[mode] = evaluate_search(mode_search(engine, mode, recall_k), judgments, k=k, recall_k=recall_k,
                                           queries=test, label=f"{mode} (held-out)")
            report["results"][mode] = scores[mode].to_json()
            if mode not in LEARNING_MODES:
                everything = evaluate_search(mode_search(engine, mode, recall_k), judgments, k=k, recall_k=recall_k,
                                             label=f"{mode} (all)")
                report["all_queries"][mode] = everything.to_json()
    report["notices"] = list(engine.notices)
    return report


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    """One row per mode: held-out metrics, and all-queries NDCG where the mode learns nothing."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    k, recall_k = report["k"], report["recall_k"]
    split = report["split"]
    table = Table(title=f"search, {split['test_queries']} held-out queries ({split['train_queries']} for training)")
    for column in ("mode", f"ndcg@{k}", f"recall@{recall_k}", "p50 ms", "p99 ms", f"ndcg@{k} all queries"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, row in report["results"].items():
        everything = report["all_queries"].get(mode)
        table.add_row(mode, f"{row[f'ndcg@{k}']:.4f}", f"{row[f'recall@{recall_k}']:.4f}", f"{row['p50_ms']:.1f}",
                      f"{row['p99_ms']:.1f}", f"{everything[f'ndcg@{k}']:.4f}" if everything else "-")
    console.print(table)
    for notice in report.get("notices", []):
        progress.note(notice)


@click.command("search-eval")
@run_options
@workspace_option
@click.option("--judgments", "judgments_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Relevance judgments (query,item_id,relevance or Home Depot's train.csv); default: the store's.")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="NDCG cut-off.")
@click.option("--recall-k", type=click.IntRange(min=1), default=100, show_default=True, help="Recall cut-off.")
@click.option("--modes", default=DEFAULT_MODES, show_default=True, help=f"Comma-separated, of {', '.join(EVAL_MODES)}.")
@click.option("--train-fraction", type=float, default=0.5, show_default=True,
              help="Share of the judged queries the hybrid blend and the ranker learn from.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the query split.")
@json_result_options("<workspace>/reports/<run-id>/search-eval.json, copied to reports/search-eval.json")
def command(workspace: Path, judgments_path: Path | None, k: int, recall_k: int, modes: str, train_fraction: float,
            seed: int, as_json: str | None, json_out: Path | None) -> None:
    """Measure search: NDCG@k, recall, latency per mode, on queries no mode learned from."""
    from shoprec.search.engine import SearchEngine
    from shoprec.search.judgments import load_judgments

    request = json_request(as_json, json_out)
    chosen = parse_modes(modes)
    judgments = load_judgments(judgments_path, workspace)
    engine = SearchEngine.open(workspace)
    report = run_search_eval(engine, judgments, chosen, k=k, recall_k=recall_k, train_fraction=train_fraction, seed=seed)
    from shoprec.evaluation.report_runs import new_run_dir, publish_latest

    # Kept per run (reports/<run-id>/), the latest also at reports/search-eval.json.
    run_dir = new_run_dir(workspace) if request.path is None else None
    path = request.path or run_dir / "search-eval.json"  # type: ignore[operator]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(report)
    path.write_text(text + "\n", encoding="utf-8")
    if run_dir is not None:
        publish_latest(run_dir, [path.name])
    if request.print:  # stdout holds the JSON alone
        click.echo(text)
        progress.note(f"json: {path}")
        return
    print_report(report)
    click.echo(f"json: {path}")

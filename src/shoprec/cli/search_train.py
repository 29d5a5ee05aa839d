"""`shoprec search-train`: fit the hybrid blend and the learned search ranker on judged queries.

The judged queries are split by query; the blend and the ranker learn from the training part
and are measured on the held-out part (printed), then saved: the fusion settings to
`<workspace>/search/hybrid.json`, the ranker to `<workspace>/search/ranker/` (model.txt,
ranker.json). The engine uses them from its next start.
"""

from __future__ import annotations

from pathlib import Path

import click

from shoprec.cli import run_options, workspace_option
from shoprec.cli.json_output import dumps
from shoprec.cli.search_eval import mode_search
from shoprec.errors import ShoprecError


@click.command("search-train")
@run_options
@workspace_option
@click.option("--judgments", "judgments_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Relevance judgments (query,item_id,relevance or Home Depot's train.csv); default: the store's.")
@click.option("--train-fraction", type=float, default=0.8, show_default=True,
              help="Share of the judged queries learned from; the rest measure the result.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the query split.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout, and nothing else there.")
def command(workspace: Path, judgments_path: Path | None, train_fraction: float, seed: int, as_json: bool) -> None:
    """Train the search ranker (and the hybrid blend) on judged queries; print held-out NDCG."""
    # Imported here, not at the top, so that `search-train --help` does not wait for pandas, LightGBM and rich.
    from rich.console import Console
    from rich.table import Table

    from shoprec.search.engine import SearchEngine
    from shoprec.search.evaluation import evaluate_search, single_thread, split_queries
    from shoprec.search.judgments import load_judgments
    from shoprec.search.learning import train_ranker, tune_hybrid
    from shoprec.search.ranker import FOLDER

    judgments = load_judgments(judgments_path, workspace)
    engine = SearchEngine.open(workspace)
    if engine.semantic is None:
        raise ShoprecError("the learned search ranker needs semantic search: pip install 'shoprec[deep]'")
    train, test = split_queries(judgments, train_fraction, seed)
    lists = engine.candidates_for(train)
    hybrid = engine.hybrid = tune_hybrid(engine, judgments, train, lists=lists).settings
    ranker = engine.ranker = train_ranker(engine, judgments, train, lists=lists)
    with single_thread():
        held_out = {mode: evaluate_search(mode_search(engine, mode, 10), judgments, k=10, recall_k=10, queries=test).ndcg
                    for mode in ("lexical", "hybrid", "ltr")}
    hybrid.save(workspace)
    path = ranker.save(Path(workspace) / FOLDER, extra={"train_queries": len(train), "held_out_queries": len(test),
                                                         "seed": seed})
    if as_json:
        click.echo(dumps({"held_out_ndcg@10": held_out, "train_queries": len(train), "held_out_queries": len(test),
                          "hybrid": vars(hybrid), "ranker": str(path),
                          "feature_importances": ranker.feature_importances_}))
        return
    table = Table(title=f"NDCG@10 on {len(test)} held-out queries (trained on {len(train)})")
    table.add_column("mode")
    table.add_column("ndcg@10", justify="right")
    for mode, ndcg in held_out.items():
        table.add_row(mode, f"{ndcg:.4f}")
    Console().print(table)
    top = ", ".join(f"{name} {share:.2f}" for name, share in list(ranker.feature_importances_.items())[:5])
    click.echo(f"hybrid: {hybrid.method}" + (f" (semantic weight {hybrid.blend_weight})" if hybrid.method == "blend" else ""))
    click.echo(f"ranker: {path} (top features: {top})")

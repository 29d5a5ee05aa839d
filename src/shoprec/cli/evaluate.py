"""`shoprec evaluate`: split the stored data, fit models on train, measure them on test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from shoprec.cli import workspace_option
from shoprec.cli.options import parse_ks, parse_list
from shoprec.cli.train import build_models
from shoprec.data.store import Store
from shoprec.errors import ShoprecError
from shoprec.evaluation.report import write_report
from shoprec.evaluation.runner import EvaluationResult, evaluate
from shoprec.evaluation.splits import make_split

SPLITS = ("temporal", "leave-last", "stratified", "last-session")
TABLE_METRICS = ("precision", "recall", "map", "ndcg", "mrr", "hit_rate", "coverage", "novelty", "diversity")


def split_options(split: str, test_fraction: float | None, cutoff: str | None, last_n: int, ratio: float, by: str, seed: int) -> dict[str, Any]:
    """The options of the chosen split protocol, from the command line's flags."""
    if split == "temporal":
        return {"cutoff": cutoff} if cutoff else {"test_fraction": 0.2 if test_fraction is None else test_fraction}
    if split == "leave-last":
        return {"last_n": last_n}
    if split == "stratified":
        return {"ratio": ratio, "by": by, "seed": seed}
    return {}


def run_evaluation(workspace: Path, model_names: str, params: tuple[str, ...], split: str, options: dict[str, Any],
                   ks: tuple[int, ...], targets: list[str] | None, exclude_seen: bool,
                   json_path: Path | None, report_path: Path | None) -> EvaluationResult:
    """Evaluate on the workspace's data and write the JSON and the report (default: <workspace>/reports/)."""
    store = Store(workspace)
    try:
        dataset = store.dataset()
    finally:
        store.close()
    if dataset.n_events == 0:
        raise ShoprecError(f"the store in {workspace} holds no events: run 'shoprec ingest' or 'shoprec generate' first")
    models = build_models(model_names, params)
    result = evaluate(models, make_split(dataset, split, **options), ks=ks, target_event_types=targets, exclude_seen=exclude_seen)
    reports = Path(workspace) / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    json_path = json_path or reports / "evaluation.json"
    report_path = report_path or reports / "evaluation.html"
    result.write_json(json_path)
    write_report(result, report_path)
    return result


def print_table(result: EvaluationResult, console: Console | None = None) -> None:
    """The metrics table: one row per metric@K, one column per model (fits a terminal)."""
    console = console or Console()
    split = result.split
    table = Table(title=f"{split.get('method', '')} split: {split.get('n_evaluated_users', '?')} users evaluated")
    table.add_column("metric")
    for name in result.results:
        table.add_column(name, justify="right")
    keys = [f"{m}@{k}" for k in result.ks for m in TABLE_METRICS if any(f"{m}@{k}" in r for r in result.results.values())]
    for key in keys:
        table.add_row(key, *[_fmt(metrics.get(key)) for metrics in result.results.values()])
    table.add_row("train seconds", *[_fmt(metrics.get("train_seconds"), 2) for metrics in result.results.values()])
    console.print(table)


def _fmt(value: object, digits: int = 4) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"  # value != value: NaN


@click.command("evaluate")
@workspace_option
@click.option("--models", "model_names", default="all", show_default=True, help="Comma-separated model names, or 'all'.")
@click.option("--param", "params", multiple=True, metavar="MODEL.NAME=VALUE", help="A hyperparameter for one model.")
@click.option("--split", type=click.Choice(SPLITS), default="temporal", show_default=True, help="The split protocol.")
@click.option("--test-fraction", type=float, help="temporal: the last fraction of events in time order (default 0.2).")
@click.option("--cutoff", help="temporal: events at or after this time (ISO 8601) are test.")
@click.option("--last-n", type=int, default=1, show_default=True, help="leave-last: each user's last N events are test.")
@click.option("--ratio", type=float, default=0.75, show_default=True, help="stratified: share of each group's events in train.")
@click.option("--by", type=click.Choice(["item", "user"]), default="item", show_default=True, help="stratified: group by item or user.")
@click.option("--seed", type=int, default=42, show_default=True, help="stratified: random seed.")
@click.option("--k", "k_text", default="10,20", show_default=True, help="Cut-offs, comma-separated.")
@click.option("--targets", help="Event types that count as relevant (default: all but remove_from_cart and search).")
@click.option("--include-seen", is_flag=True, help="Do not exclude items a user had in train from their recommendations.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write results JSON here (default: <workspace>/reports/evaluation.json).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML report here (default: <workspace>/reports/evaluation.html).")
def command(workspace: Path, model_names: str, params: tuple[str, ...], split: str, test_fraction: float | None,
            cutoff: str | None, last_n: int, ratio: float, by: str, seed: int, k_text: str, targets: str | None,
            include_seen: bool, json_path: Path | None, report_path: Path | None) -> None:
    """Measure models offline: precision, recall, MAP, NDCG, MRR, hit rate, coverage, novelty, diversity."""
    options = split_options(split, test_fraction, cutoff, last_n, ratio, by, seed)
    result = run_evaluation(workspace, model_names, params, split, options, parse_ks(k_text),
                            parse_list(targets) or None, not include_seen, json_path, report_path)
    print_table(result)
    click.echo(f"json: {json_path or Path(workspace) / 'reports' / 'evaluation.json'}")
    click.echo(f"report: {report_path or Path(workspace) / 'reports' / 'evaluation.html'}")

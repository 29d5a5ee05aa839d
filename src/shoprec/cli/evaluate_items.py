"""`shoprec evaluate --protocol item-to-item`: measure "similar items" models on (current -> next
item) pairs of the test side's sessions (shoprec.evaluation.item_to_item, docs/evaluation.md).

The user protocol's options that have no meaning here (tuning, fusion, the engine stage, the HTML
report, non-temporal splits) are refused when given, rather than silently ignored: a number
measured without what was asked for would be misread.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shoprec import progress
from shoprec.cli.json_output import dumps
from shoprec.errors import ShoprecError
from shoprec.models.registry import create
from shoprec.training.settings import model_settings

if TYPE_CHECKING:
    from rich.console import Console

    from shoprec.evaluation.item_to_item import ItemToItemResult

PROTOCOLS = ("user", "item-to-item")
DEFAULT_MODELS = "popularity,itemknn,content,similar_items"
RESULTS = "item_to_item.json"
# Options of the user protocol only: refused with --protocol item-to-item when given.
USER_ONLY = ("include_seen", "stage", "diversity", "report_path", "tune", "metric", "max_trials", "fusion",
             "fusion_members", "n_candidates")
# Options of the item-to-item protocol only: refused with --protocol user when given.
ITEM_ONLY = ("gap_minutes", "max_pairs", "pair_seed")


def given(ctx: click.Context, names: tuple[str, ...]) -> list[str]:
    """The options among `names` set on the command line or by environment (not left at their default), as flags."""
    sources = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    flags = []
    for param in ctx.command.params:
        if param.name in names and ctx.get_parameter_source(param.name) in sources:  # type: ignore[arg-type]
            flags.append(param.opts[0])
    return flags


def check_protocol_options(ctx: click.Context, protocol: str, split: str) -> None:
    """A UsageError naming the given options that the chosen protocol does not take."""
    if protocol == "item-to-item":
        if split != "temporal":
            raise click.UsageError(f"--protocol item-to-item takes pairs from a temporal split's test side, "
                                   f"not --split {split}")
        refused = given(ctx, USER_ONLY)
    else:
        refused = given(ctx, ITEM_ONLY)
    if refused:
        raise click.UsageError(f"--protocol {protocol} does not take {', '.join(refused)} (see shoprec evaluate --help)")


def run_item_to_item(workspace: Path, model_names: str | None, params: tuple[str, ...], options: dict[str, Any],
                     ks: tuple[int, ...], targets: list[str] | None, *, gap_minutes: float, max_pairs: int, seed: int,
                     json_path: Path | None, print_json: bool = False) -> ItemToItemResult:
    """Fit the models on a temporal split's train side, measure them on its test pairs, and write the
    JSON (default: a new run folder `<workspace>/reports/<run-id>/item_to_item.json`, copied to
    `reports/item_to_item.json` as the latest run's). Where it went is in the result's `files`."""
    from shoprec.data.store import load_events_dataset
    from shoprec.evaluation.item_to_item import build_pairs, evaluate_item_to_item, no_pairs_reason
    from shoprec.evaluation.report_runs import new_run_dir, publish_latest
    from shoprec.evaluation.splits import make_split
    from shoprec.models.base import event_type_codes

    if targets:
        event_type_codes(targets)  # an unknown name fails before the data is read
    settings = model_settings(model_names or DEFAULT_MODELS, params)
    models = {name: create(name, **given) for name, given in settings.items()}  # a bad name or value fails now
    dataset, _ = load_events_dataset(workspace)
    the_split = make_split(dataset, "temporal", **options)
    pairs = build_pairs(the_split, gap_minutes=gap_minutes, max_pairs=max_pairs, seed=seed, event_types=targets)
    if not len(pairs):  # said before any model is fitted
        raise ShoprecError(f"item-to-item evaluation has no test pairs: {no_pairs_reason(pairs.counts)}; "
                          "try a larger --test-fraction, an earlier --cutoff or a longer --gap-minutes")
    progress.note(f"item-to-item: {pairs.counts['n_pairs']:,} pairs from {pairs.counts['n_sessions']:,} sessions "
                  f"of {pairs.counts['n_shoppers']:,} shoppers")
    result = evaluate_item_to_item(models, the_split, ks, gap_minutes=gap_minutes, max_pairs=max_pairs, seed=seed,
                                   event_types=targets, pairs=pairs)
    written = result.to_dict()
    for name, model in models.items():
        written["results"][name]["params"] = model.get_params()
    text = dumps(written)
    run_dir = new_run_dir(workspace) if json_path is None else None
    path = Path(json_path) if json_path is not None else run_dir / RESULTS  # type: ignore[operator]
    path.write_text(text + "\n", encoding="utf-8")
    result.files = {"json": path}
    if run_dir is not None:
        publish_latest(run_dir, [RESULTS])
        result.files["run"] = run_dir
    if print_json:
        click.echo(text)
    return result


def _fmt(value: object, digits: int = 4) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"  # value != value: NaN


def print_item_tables(result: ItemToItemResult, console: Console | None = None) -> None:
    """The overall table (hit rate, NDCG, MRR, same category, coverage at each K; fit seconds) and
    the per-bucket table (pairs; NDCG / hit rate at the first K per model)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 200)
    split = result.split
    table = Table(title=f"item-to-item: {split['n_pairs']:,} pairs, {split['n_sessions']:,} sessions, "
                        f"{split['n_shoppers']:,} shoppers (temporal split, cutoff {split['options'].get('cutoff', '?')})")
    table.add_column("model")
    columns = [("hit@", "hit_rate@"), ("ndcg@", "ndcg@"), ("mrr@", "mrr@"), ("same-cat@", "same_category@"),
               ("coverage@", "coverage@")]
    keys = [(f"{label}{k}", f"{key}{k}") for k in result.ks for label, key in columns
            if any(f"{key}{k}" in r for r in result.results.values())]
    for label, _ in keys:
        table.add_column(label, justify="right")
    table.add_column("fit s", justify="right")
    for name, metrics in result.results.items():
        table.add_row(name, *[_fmt(metrics.get(key)) for _, key in keys], _fmt(metrics.get("train_seconds"), 2))
    console.print(table)

    k = result.ks[0]
    by_bucket = Table(title=f"by the current item's distinct shoppers in train: ndcg@{k} / hit@{k}")
    by_bucket.add_column("shoppers")
    by_bucket.add_column("pairs", justify="right")
    for name in result.buckets:
        by_bucket.add_column(name, justify="right")
    for label, n in result.bucket_pairs.items():
        cells = [f"{_fmt(b[label].get(f'ndcg@{k}'))} / {_fmt(b[label].get(f'hit_rate@{k}'))}" if n else "-"
                 for b in result.buckets.values()]
        by_bucket.add_row(label, f"{n:,}", *cells)
    console.print(by_bucket)

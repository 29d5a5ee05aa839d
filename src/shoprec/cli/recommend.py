"""`shoprec recommend`: what the current bundle shows one shopper, or every shopper to a file,
through the same engine as the service."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec.cli import run_options, workspace_option
from shoprec.cli.options import parse_list

if TYPE_CHECKING:
    from shoprec.data.store import Store
    from shoprec.ranking.engine import Recommendation, RecommendationEngine
    from shoprec.ranking.filters import ItemFilters
    from shoprec.ranking.rules import RuleSettings


@click.command("recommend")
@run_options
@workspace_option
@click.option("--user", "user_id", help="The shopper's external id (unknown ids get the fallback chain).")
@click.option("--similar-to", "similar_to", metavar="ITEM",
              help="Items similar to ITEM instead (as GET /v1/items/ITEM/similar; --model: the entry to use).")
@click.option("--all-users", is_flag=True, help="Every shopper in the store (in id order), written to --out.")
@click.option("--users", "users_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="The shoppers in FILE (one id a line, or a CSV with a user_id column), written to --out.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="With --all-users/--users: the file to write, one row per user and rank (.parquet, .csv or .jsonl).")
@click.option("--format", "out_format", type=click.Choice(["parquet", "csv", "jsonl"]),
              help="The format of --out (default: from its suffix).")
@click.option("--batch-size", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="With --all-users/--users: users answered and written at a time, at most (fewer for a large catalogue).")
@click.option("--k", default=10, show_default=True, type=int, help="How many items (1..1000).")
@click.option("--model", help="A model or fusion entry of the bundle (default: the bundle's default model).")
@click.option("--history", "history_text", metavar="ID,ID", help="Item ids the shopper viewed, oldest first (answers a shopper unknown to the store).")
@click.option("--category", help="Only this category and its descendants.")
@click.option("--brand", help="Only this brand.")
@click.option("--price-min", type=float, help="Lowest price.")
@click.option("--price-max", type=float, help="Highest price.")
@click.option("--include-seen", is_flag=True, help="Allow items the user already interacted with.")
@click.option("--exclude", "exclude_types", metavar="TYPE,TYPE", help="Exclude only items with events of these types (e.g. purchase).")
@click.option("--include-out-of-stock", is_flag=True, help="Allow items marked out of stock.")
@click.option("--diversity", type=click.Choice(["none", "cap", "mmr"]), default="none", show_default=True, help="Diversity re-rank.")
@click.option("--explain", is_flag=True, help="Give each item its reasons (models and sentences).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with --all-users/--users: the run's summary).")
def command(workspace: Path, user_id: str | None, similar_to: str | None, all_users: bool, users_file: Path | None, out: Path | None,
            out_format: str | None, batch_size: int, k: int, model: str | None, history_text: str | None,
            category: str | None, brand: str | None, price_min: float | None, price_max: float | None,
            include_seen: bool, exclude_types: str | None, include_out_of_stock: bool, diversity: str, explain: bool,
            as_json: bool) -> None:
    """Recommend items for one shopper from their history as stored now.

    `--user ID` prints one shopper's list. `--all-users` (or `--users FILE`) answers many shoppers
    with the same engine, rules and filters, in batches, and writes one row per user and rank
    (user_id, rank, item_id, score) to `--out` (Parquet, CSV or JSON Lines). `--similar-to ITEM`
    prints the items similar to ITEM, as the item page's shelf and `GET /v1/items/ITEM/similar` do.
    """
    batch = all_users or users_file is not None
    if similar_to is not None:
        _check_similar(user_id, all_users, users_file, out, history_text, category, brand, price_min, price_max,
                       include_seen, exclude_types, diversity)
    else:
        _check_modes(user_id, all_users, users_file, out, history_text, explain)
    # Imported here, not at the top, so that `recommend --help` does not wait for pandas and the models.
    from shoprec.bundle import load_current
    from shoprec.data.store import Store
    from shoprec.ranking.engine import RecommendationEngine
    from shoprec.ranking.filters import ItemFilters

    bundle = load_current(workspace)
    rules = _rules(include_seen, exclude_types, include_out_of_stock, diversity)
    filters = ItemFilters(category=category, brand=brand, price_min=price_min, price_max=price_max)
    store = Store(workspace)
    try:
        engine = RecommendationEngine(store, bundle, rules)
        if similar_to is not None:
            _print_similar(engine, similar_to, k, model, explain, as_json)
            return
        if batch:
            assert out is not None
            _write_batch(engine, store, users_file, out, out_format, batch_size, k, model, filters, as_json)
            return
        assert user_id is not None
        recs = engine.recommend(user_id, k, filters=filters, explain=explain, model=model,
                                history_items=parse_list(history_text))
    finally:
        store.close()
    name = model or bundle.default_model
    if as_json:
        click.echo(json.dumps({"user_id": user_id, "model": name, "bundle": bundle.version,
                               "items": [asdict(r) for r in recs]}, indent=2, ensure_ascii=False))
        return
    _print_list(f"{user_id}: top {len(recs)} from {name} (bundle {bundle.version})", recs)


def _check_modes(user_id: str | None, all_users: bool, users_file: Path | None, out: Path | None,
                 history_text: str | None, explain: bool) -> None:
    """One shopper (--user) or many (--all-users or --users FILE, with --out), never both."""
    chosen = [flag for flag, given in (("--user", user_id is not None), ("--all-users", all_users),
                                       ("--users", users_file is not None)) if given]
    if len(chosen) != 1:
        raise click.UsageError("give one of --user ID, --all-users or --users FILE" if not chosen
                               else f"{' and '.join(chosen)} cannot be combined: give one of --user, --all-users, --users")
    if user_id is None:
        if out is None:
            raise click.UsageError(f"{chosen[0]} writes a file: give --out PATH (.parquet, .csv or .jsonl)")
        for flag, given in (("--history", history_text), ("--explain", explain)):
            if given:
                raise click.UsageError(f"{flag} answers one shopper: use it with --user, not {chosen[0]}")
    elif out is not None:
        raise click.UsageError("--out goes with --all-users or --users FILE; --user prints one shopper's list")


def _check_similar(user_id: str | None, all_users: bool, users_file: Path | None, out: Path | None, *given: object) -> None:
    """--similar-to answers one item: no shopper, no file, none of the shopper's options."""
    if user_id is not None or all_users or users_file is not None or out is not None:
        raise click.UsageError("--similar-to answers one item: leave out --user, --all-users, --users and --out")
    names = ("--history", "--category", "--brand", "--price-min", "--price-max", "--include-seen", "--exclude", "--diversity")
    refused = [name for name, value in zip(names, given) if value not in (None, False, "none")]
    if refused:
        raise click.UsageError(f"--similar-to does not take {', '.join(refused)} (similar items are not filtered per shopper)")


def _print_similar(engine: RecommendationEngine, item_id: str, k: int, model: str | None, explain: bool, as_json: bool) -> None:
    from shoprec.errors import ConfigError
    from shoprec.experiments.serving import with_similarity

    if model is not None and model not in engine.bundle.models:
        raise ConfigError(f"--model {model} is not in bundle {engine.bundle.version}; its entries: {', '.join(engine.bundle.models)}")
    chosen = with_similarity(engine, model) if model is not None else engine
    recs = chosen.similar(item_id, k, explain=explain)
    name = chosen.similarity_name
    if as_json:
        click.echo(json.dumps({"item_id": item_id, "model": name, "bundle": engine.bundle.version,
                               "items": [asdict(r) for r in recs]}, indent=2, ensure_ascii=False))
        return
    _print_list(f"like {item_id}: top {len(recs)} from {name} (bundle {engine.bundle.version})", recs)


def _print_list(header: str, recs: list[Recommendation]) -> None:
    click.echo(header)
    for rank, rec in enumerate(recs, start=1):
        click.echo(f"{rank:>3}. {rec.item_id:<14} {rec.score:10.4f}  {rec.title or ''}  [{rec.category or '-'}]  ({rec.source})")
        for reason in rec.reasons:
            click.echo(f"       - {reason.text}")


def _rules(include_seen: bool, exclude_types: str | None, include_out_of_stock: bool, diversity: str) -> RuleSettings:
    from shoprec.ranking.rules import RuleSettings

    excluded = () if include_seen else (tuple(parse_list(exclude_types)) or None)
    return RuleSettings(exclude_event_types=excluded, in_stock_only=not include_out_of_stock, diversity=diversity)


def _write_batch(engine: RecommendationEngine, store: Store, users_file: Path | None, out: Path, out_format: str | None,
                 batch_size: int, k: int, model: str | None, filters: ItemFilters, as_json: bool) -> None:
    from shoprec import progress
    from shoprec.recommending_batch import StoredHistories, output_format, read_user_ids, write_recommendations

    fmt = output_format(out, out_format)  # a bad name fails before the store is read
    histories = StoredHistories(store, engine.bundle)
    user_ids = histories.user_ids.ids if users_file is None else read_user_ids(users_file)
    if users_file is not None:
        unknown = int((histories.user_ids.index_of(user_ids) < 0).sum())
        if unknown:
            progress.note(f"{unknown:,} of {len(user_ids):,} users in {users_file} are not in the store: they get the fallback chain")
    summary = write_recommendations(engine, histories, user_ids, k, out, fmt=fmt, model=model,
                                    filters=filters, batch_users=batch_size)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"{summary.users:,} users, {summary.rows:,} rows in {summary.seconds:.1f} s "
               f"({summary.users_per_second:,.0f} users/s) from {summary.model} (bundle {summary.bundle}) -> {summary.path}")

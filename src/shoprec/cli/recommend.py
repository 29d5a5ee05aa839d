"""`shoprec recommend`: what the current bundle shows one shopper, through the same engine as the service."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from shoprec.cli import run_options, workspace_option
from shoprec.cli.options import parse_list


@click.command("recommend")
@run_options
@workspace_option
@click.option("--user", "user_id", required=True, help="The shopper's external id (unknown ids get the fallback chain).")
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(workspace: Path, user_id: str, k: int, model: str | None, history_text: str | None, category: str | None,
            brand: str | None, price_min: float | None, price_max: float | None, include_seen: bool,
            exclude_types: str | None, include_out_of_stock: bool, diversity: str, explain: bool, as_json: bool) -> None:
    """Recommend items for one shopper from their history as stored now."""
    # Imported here, not at the top, so that `recommend --help` does not wait for pandas and the models.
    from shoprec.bundle import load_current
    from shoprec.data.store import Store
    from shoprec.ranking.engine import RecommendationEngine
    from shoprec.ranking.filters import ItemFilters
    from shoprec.ranking.rules import RuleSettings

    bundle = load_current(workspace)
    excluded = () if include_seen else (tuple(parse_list(exclude_types)) or None)
    rules = RuleSettings(exclude_event_types=excluded, in_stock_only=not include_out_of_stock, diversity=diversity)
    filters = ItemFilters(category=category, brand=brand, price_min=price_min, price_max=price_max)
    store = Store(workspace)
    try:
        engine = RecommendationEngine(store, bundle, rules)
        recs = engine.recommend(user_id, k, filters=filters, explain=explain, model=model,
                                history_items=parse_list(history_text))
    finally:
        store.close()
    name = model or bundle.default_model
    if as_json:
        click.echo(json.dumps({"user_id": user_id, "model": name, "bundle": bundle.version,
                               "items": [asdict(r) for r in recs]}, indent=2, ensure_ascii=False))
        return
    click.echo(f"{user_id}: top {len(recs)} from {name} (bundle {bundle.version})")
    for rank, rec in enumerate(recs, start=1):
        click.echo(f"{rank:>3}. {rec.item_id:<14} {rec.score:10.4f}  {rec.title or ''}  [{rec.category or '-'}]  ({rec.source})")
        for reason in rec.reasons:
            click.echo(f"       - {reason.text}")

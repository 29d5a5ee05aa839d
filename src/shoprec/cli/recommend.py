"""`shoprec recommend`: the current bundle's recommendations for one shopper."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from shoprec.bundle import load_current
from shoprec.cli import workspace_option
from shoprec.cli.options import parse_list
from shoprec.data.store import Store
from shoprec.recommending import recommend_for_user


@click.command("recommend")
@workspace_option
@click.option("--user", "user_id", required=True, help="The shopper's external id (unknown ids get the fallback).")
@click.option("--k", default=10, show_default=True, type=int, help="How many items (1..1000).")
@click.option("--model", help="A model of the bundle (default: the bundle's default model).")
@click.option("--history", "history_text", metavar="ID,ID", help="Item ids the shopper viewed, oldest first (answers a shopper unknown to the store).")
@click.option("--include-seen", is_flag=True, help="Allow items the user already interacted with.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(workspace: Path, user_id: str, k: int, model: str | None, history_text: str | None, include_seen: bool,
            as_json: bool) -> None:
    """Recommend items for one shopper from their history as stored now."""
    bundle = load_current(workspace)
    store = Store(workspace)
    try:
        recs = recommend_for_user(store, bundle, user_id, k, model, exclude_seen=not include_seen,
                                  extra_items=parse_list(history_text))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"user_id": user_id, "model": model or bundle.default_model, "bundle": bundle.version,
                               "items": [asdict(r) for r in recs]}, indent=2, ensure_ascii=False))
        return
    click.echo(f"{user_id}: top {len(recs)} from {model or bundle.default_model} (bundle {bundle.version})")
    for rank, rec in enumerate(recs, start=1):
        click.echo(f"{rank:>3}. {rec.item_id:<14} {rec.score:10.4f}  {rec.title or ''}  [{rec.category or '-'}]")

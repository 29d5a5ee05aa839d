"""`shoprec generate`: a seeded synthetic shop, into the workspace or as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec.cli import run_options, workspace_option

# The generator and the store (pandas, pyarrow) are imported where they run, so that
# `generate --help` and `demo --help` do not wait for them.
if TYPE_CHECKING:
    from shoprec.data.ingest import IngestSummary
    from shoprec.data.store import Store


def shop_spec_options(func):  # type: ignore[no-untyped-def]
    """The size, seed and language options shared by `generate` and `demo`."""
    options = [
        click.option("--users", type=click.IntRange(min=1), default=2_000, show_default=True, help="Number of shoppers."),
        click.option("--items", type=click.IntRange(min=1), default=1_000, show_default=True, help="Number of products."),
        click.option("--events", type=click.IntRange(min=1), default=100_000, show_default=True, help="Number of events."),
        click.option("--seed", type=int, default=42, show_default=True, help="Random seed: the same seed gives the same shop."),
        click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language of product text."),
        click.option("--days", type=click.IntRange(min=1), default=120, show_default=True, help="Days of activity."),
        click.option("--start", default="2024-09-01", show_default=True, help="First day (UTC)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def generate_into_store(store: Store, users: int, items: int, events: int, seed: int, lang: str, days: int, start: str) -> IngestSummary:
    """Generate a shop and ingest it (items, users, then events streamed in chunks)."""
    from shoprec.data.ingest import Source, ingest
    from shoprec.data.synthetic import ShopSpec, generate_shop
    from shoprec.data.synthetic.behaviour import BLOCK_EVENTS

    shop = generate_shop(ShopSpec(users=users, items=items, events=events, seed=seed, lang=lang, start=start, days=days))
    label = f"synthetic shop (seed {seed})"
    return ingest(store, [
        Source.from_frames("items", f"{label} items", lambda: [shop.items], progress_label="generate items"),
        Source.from_frames("users", f"{label} users", lambda: [shop.users], progress_label="generate users"),
        # chunks of one generation block: the progress moves as each is made (the log is the same)
        Source.from_frames("events", f"{label} events", lambda: shop.event_chunks(BLOCK_EVENTS), rows=events,
                           progress_label="generate events"),
    ])


@click.command("generate")
@run_options
@workspace_option
@shop_spec_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write items/users/events files here instead of into the workspace.")
@click.option("--file-format", type=click.Choice(["csv", "parquet", "jsonl"]), default="csv", show_default=True, help="Format of the files written with --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(workspace: Path, users: int, items: int, events: int, seed: int, lang: str, days: int, start: str,
            out: Path | None, file_format: str, as_json: bool) -> None:
    """Generate a believable synthetic shop: catalogue, shoppers and their events."""
    if out is not None:
        from shoprec.data.synthetic import ShopSpec, generate_shop, write_shop_files

        shop = generate_shop(ShopSpec(users=users, items=items, events=events, seed=seed, lang=lang, start=start, days=days))
        paths = write_shop_files(shop, out, file_format)
        result: dict[str, object] = {kind: str(path) for kind, path in paths.items()}
    else:
        from shoprec.data.store import Store

        store = Store(workspace)
        try:
            summary = generate_into_store(store, users, items, events, seed, lang, days, start)
        finally:
            store.close()
        result = summary.to_json()
    if as_json:
        click.echo(json.dumps(result, indent=2))
    elif out is not None:
        for kind, path in result.items():
            click.echo(f"{kind:<7} {path}")
    else:
        click.echo(f"generated {users:,} users, {items:,} items, {events:,} events into {workspace} "
                   f"(accepted {result['accepted']:,}, duplicates {result['duplicates']:,})")

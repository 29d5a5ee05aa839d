"""`shoprec demo`: the whole path on a synthetic shop: generate, ingest, train, evaluate, report."""

from __future__ import annotations

from pathlib import Path

import click

from shoprec.cli import workspace_option
from shoprec.cli.evaluate import print_table, run_evaluation
from shoprec.cli.generate import generate_into_store, shop_spec_options
from shoprec.cli.train import command as train_command
from shoprec.data.store import Store


@click.command("demo")
@workspace_option
@shop_spec_options
@click.pass_context
def command(ctx: click.Context, workspace: Path, users: int, items: int, events: int, seed: int, lang: str, days: int, start: str) -> None:
    """Generate a synthetic shop into the workspace, train every model, evaluate them and write the report."""
    click.echo(f"1/4 generating a synthetic shop into {workspace} ...")
    store = Store(workspace)
    try:
        summary = generate_into_store(store, users, items, events, seed, lang, days, start)
    finally:
        store.close()
    click.echo(f"    accepted {summary.accepted:,} rows, merged {summary.duplicates:,} repeats, rejected {summary.rejected_total:,}")
    click.echo("2/4 training ...")
    ctx.invoke(train_command, workspace=workspace, model_names="all", params=(), default_model=None, as_json=False)
    click.echo("3/4 evaluating (temporal split, last 20% of events) ...")
    result = run_evaluation(workspace, "all", (), "temporal", {"test_fraction": 0.2}, (10, 20), None, True, None, None)
    print_table(result)
    click.echo(f"4/4 report: {Path(workspace) / 'reports' / 'evaluation.html'}")
    click.echo(f"    try: shoprec recommend --workspace {workspace} --user u000001")

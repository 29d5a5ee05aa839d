"""`shoprec demo`: the whole path on a synthetic shop: generate, ingest, train, evaluate, report, then
serve the storefront (unless `--no-serve`)."""

from __future__ import annotations

from pathlib import Path

import click

from shoprec.cli import run_options, workspace_option
from shoprec.cli.evaluate import print_table, run_evaluation
from shoprec.cli.generate import generate_into_store, shop_spec_options
from shoprec.cli.serve import run_server, serve_options
from shoprec.cli.train import command as train_command
from shoprec.data.store import Store

# Fusion learns on a validation split, fitting its members a second time: the demo fuses the fast
# members so that it finishes in minutes (the deep models are still trained and evaluated alone).
DEMO_FUSION_MEMBERS = "popularity,itemknn,ials,ease,content"


@click.command("demo")
@run_options
@workspace_option
@shop_spec_options
@serve_options
@click.option("--no-serve", is_flag=True, help="Stop after the report instead of serving the storefront.")
@click.pass_context
def command(ctx: click.Context, workspace: Path, users: int, items: int, events: int, seed: int, lang: str, days: int, start: str,
            host: str, port: int, no_serve: bool) -> None:
    """Generate a synthetic shop into the workspace, train every model, evaluate them, write the report,
    then serve the storefront on it (a storefront key is made up so its buttons can post events)."""
    click.echo(f"1/4 generating a synthetic shop into {workspace} ...")
    store = Store(workspace)
    try:
        summary = generate_into_store(store, users, items, events, seed, lang, days, start)
    finally:
        store.close()
    click.echo(f"    accepted {summary.accepted:,} rows, merged {summary.duplicates:,} repeats, rejected {summary.rejected_total:,}")
    click.echo("2/4 training ...")
    ctx.invoke(train_command, workspace=workspace, model_names="all", params=(), default_model=None, as_json=False,
               fusion_members=DEMO_FUSION_MEMBERS)
    click.echo("3/4 evaluating (temporal split, last 20% of events) ...")
    result = run_evaluation(workspace, "all", (), "temporal", {"test_fraction": 0.2}, (10, 20), None, True, None, None,
                            fusion_members=DEMO_FUSION_MEMBERS)
    print_table(result)
    click.echo(f"4/4 report: {Path(workspace) / 'reports' / 'evaluation.html'}")
    if no_serve:
        click.echo(f"    try: shoprec recommend --workspace {workspace} --user u000001")
        click.echo(f"    or:  shoprec serve --workspace {workspace} --demo")
        return
    click.echo("    serving the storefront; press Ctrl+C to stop")
    run_server(workspace, host, port, demo=True)

"""`shoprec compact`: move the live log's events into a columnar segment of the store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from shoprec.cli import run_options, workspace_option


@click.command("compact")
@run_options
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(workspace: Path, as_json: bool) -> None:
    """Move the live log's events (from the API) into a store segment, where reads and training are fastest."""
    from shoprec.data.store import Store
    from shoprec.errors import ShoprecError

    if not (Path(workspace) / "store").is_dir():
        raise ShoprecError(f"no store in {workspace}: nothing to compact")
    store = Store(workspace)
    try:
        backlog = len(store.live.read(store.manifest().live_compacted_upto)[0])
        started = time.perf_counter()
        moved = store.compact()
        seconds = time.perf_counter() - started
        segments = len(store.manifest().event_segments)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"live_rows": backlog, "moved": moved, "already_stored": max(backlog - moved, 0),
                               "seconds": round(seconds, 3), "segments": segments}, indent=2))
        return
    if not backlog:
        click.echo("the live log is empty: nothing to compact")
        return
    repeats = f" ({backlog - moved:,} already in segments, dropped)" if backlog > moved else ""
    click.echo(f"moved {moved:,} of {backlog:,} live-log events into a segment{repeats} in {seconds:.2f} s; "
               f"{segments} segment(s) now")

"""`shoprec status`: the workspace at a glance (store, events, live log, bundles, warnings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shoprec.cli import run_options, workspace_option


@click.command("status")
@run_options
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def command(workspace: Path, as_json: bool) -> None:
    """Show the store's size and events by type and day, the live-log backlog, the current bundle and warnings."""
    from shoprec.errors import ShoprecError
    from shoprec.operations.status import status

    if not Path(workspace).is_dir():
        raise ShoprecError(f"no workspace at {workspace}: 'shoprec generate' or 'shoprec ingest' creates one")
    found = status(workspace)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for line in render(found):
        click.echo(line)


def render(found: dict[str, Any]) -> list[str]:
    """The status as compact lines for a terminal."""
    from shoprec.operations.bundles import human_age, human_bytes

    store, events, bundles = found["store"], found["events"], found["bundles"]
    lines = [f"workspace  {found['workspace']}  ({found['time']})",
             f"store      {human_bytes(store['bytes'])}: {store['segments']} segment(s), {events['total']:,} events, "
             f"{store['items']:,} items, {store['users']:,} users",
             f"live log   {store['live_backlog']:,} events not compacted yet"
             + (" ('shoprec compact' moves them)" if store["live_backlog"] else "")]
    if events["total"]:
        lines.append(f"events     {events['first_day']} .. {events['last_day']} (last day {events['last_day_age_days']} "
                     f"day(s) ago): " + ", ".join(f"{k} {n:,}" for k, n in events["by_type"].items()))
        kinds = list(events["by_type"])
        header = ["day", "events", *kinds]
        rows = [[row["day"], f"{row['events']:,}", *(f"{row['by_type'].get(k, 0):,}" for k in kinds)]
                for row in events["by_day"]]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    current = bundles["current"]
    if current is None:
        lines.append("bundle     none")
    else:
        value = current["validation"]["value"]
        measured = "-" if value is None else f"{value:.4f}"
        lines.append(f"bundle     {current['version']}: trained {current['trained_at']} ({human_age(current['age_seconds'])} "
                     f"ago), default {current['default_model']}, validation {current['validation']['metric']} {measured}")
    lines.append(f"bundles    {bundles['count']} in all, {human_bytes(bundles['bytes'])}"
                 + (f", rollback goes to {bundles['previous']}" if bundles["previous"] else "")
                 + (f", {bundles['incomplete']} incomplete" if bundles["incomplete"] else ""))
    for running in found["experiments"]:
        variants = ", ".join(f"{name}={target}" for name, target in running["variants"].items())
        lines.append(f"experiment {running['name']} ({running['design']} on {running['surface']}): {variants}")
    for warning in found["warnings"]:
        lines.append(f"warning    {warning['message']}")
    for warning in found["ingest_warnings"]:
        lines.append(f"ingest     {warning.get('code', '?')}: {warning.get('message', '')}")
    return lines

"""`shoprec ingest`: files or public datasets into the workspace's store."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec.cli import run_options, workspace_option
from shoprec.cli.options import parse_list, parse_pairs
from shoprec.data.adapters import FORMAT_NAMES, adapter_sources
from shoprec.data.kinds import KINDS

# Reading, validating and storing (pandas, pyarrow) are imported where they run, so that
# `ingest --help` does not wait for them.
if TYPE_CHECKING:
    from shoprec.data.ingest import IngestSummary
    from shoprec.data.timestamps import TimeBounds


@click.command("ingest")
@run_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@workspace_option
@click.option("--format", "dataset_format", type=click.Choice(FORMAT_NAMES), help="A built-in adapter; PATH is the dataset's folder or main file.")
@click.option("--kind", type=click.Choice(KINDS), default="events", show_default=True, help="What a generic file holds.")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help="Read a canonical field from a differently named column (repeatable).")
@click.option("--columns", metavar="A,B,C", help="Column names for a file without a header line.")
@click.option("--delimiter", metavar="CHAR", help="Field delimiter (default: sniffed; tab for .tsv). Use '\\t' for tab.")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding, e.g. latin-1.")
@click.option("--file-format", type=click.Choice(["csv", "tsv", "jsonl", "parquet"]), help="Override the format inferred from the file name.")
@click.option("--event-type", metavar="TYPE", help="The event type of every row, for logs without a type column.")
@click.option("--event-type-map", "type_maps", multiple=True, metavar="SRC=TYPE,...", help="Rename event types, e.g. pv=view,buy=purchase.")
@click.option("--time-format", metavar="STRFTIME", help="Timestamp format when not ISO 8601 or epoch, e.g. '%m/%d/%Y %H:%M'.")
@click.option("--max-future", "max_future_hours", type=click.FloatRange(min=0), default=24.0, show_default=True,
              metavar="HOURS", help="Quarantine events more than this many hours after now (future_timestamp).")
@click.option("--time-floor", default="1990-01-01", show_default=True, metavar="DATE",
              help="Quarantine events before this date (ancient_timestamp).")
@click.option("--strict", is_flag=True, help="Commit nothing and exit 1 if any row is rejected.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(paths: tuple[Path, ...], workspace: Path, dataset_format: str | None, kind: str, maps: tuple[str, ...],
            columns: str | None, delimiter: str | None, encoding: str, file_format: str | None, event_type: str | None,
            type_maps: tuple[str, ...], time_format: str | None, strict: bool, as_json: bool,
            max_future_hours: float = 24.0, time_floor: str = "1990-01-01") -> None:
    """Ingest PATHS (CSV/TSV, JSON Lines, Parquet; plain, .gz or .zip) into the store.

    Rejected rows go to a quarantine file with their file, line, field and reason; exact repeats
    of stored events are merged. Exits 1 when nothing valid was read, or with --strict when
    anything was rejected.
    """
    from shoprec.data.ingest import Source, ingest
    from shoprec.data.readers import ReadOptions, read_records
    from shoprec.data.store import Store
    from shoprec.data.validate import ColumnMapping

    bounds = _time_bounds(max_future_hours, time_floor)
    if delimiter == "\\t":
        delimiter = "\t"
    options = ReadOptions(file_format=file_format, delimiter=delimiter, encoding=encoding,
                          columns=tuple(parse_list(columns)) or None)
    if dataset_format:
        sources = [replace(s, mapping=replace(s.mapping, time_bounds=bounds))
                   for path in paths for s in adapter_sources(dataset_format, path, options)]
    else:
        mapping = ColumnMapping(columns=parse_pairs(maps, "--map"), event_type=event_type,
                                event_type_map=parse_pairs(type_maps, "--event-type-map"), time_format=time_format,
                                time_bounds=bounds)
        sources = [Source(kind, str(p), (lambda p=p: read_records(p, options)), mapping) for p in paths]
    store = Store(workspace)
    try:
        summary = ingest(store, sources, strict=strict)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
    else:
        _print_summary(summary)
    if summary.accepted + summary.duplicates == 0:
        click.echo("error: no valid rows were read", err=True)
        sys.exit(1)
    if strict and summary.rejected_total:
        click.echo(f"error: --strict: {summary.rejected_total} rows rejected, nothing was stored", err=True)
        sys.exit(1)


def _print_summary(summary: IngestSummary) -> None:
    click.echo(f"accepted {summary.accepted:,}   duplicates merged {summary.duplicates:,}   rejected {summary.rejected_total:,}   ({summary.seconds:.1f} s)")
    for kind, counts in summary.by_kind.items():
        click.echo(f"  {kind:<10} accepted {counts.get('accepted', 0):,}  duplicates {counts.get('duplicates', 0):,}  rejected {counts.get('rejected', 0):,}")
    for reason, n in sorted(summary.rejected.items()):
        click.echo(f"  rejected: {reason:<22} {n:,}")
    if summary.unknown_items:
        click.echo(f"  {summary.events_with_unknown_items:,} events name {summary.unknown_items:,} items not in the catalogue (kept, known by id only)")
    if summary.quarantine:
        click.echo(f"  quarantine: {summary.quarantine}")
    if not summary.committed:
        click.echo("  nothing stored (--strict)")


def _time_bounds(max_future_hours: float, time_floor: str) -> TimeBounds:
    """`--max-future` and `--time-floor` as TimeBounds; a clear error for a date that does not parse."""
    import pandas as pd

    from shoprec.data.timestamps import TimeBounds

    try:
        floor = pd.Timestamp(time_floor)
    except ValueError as exc:
        raise click.BadParameter(f"expected a date such as 1990-01-01, got {time_floor!r}", param_hint="--time-floor") from exc
    floor = floor.tz_localize("UTC") if floor.tzinfo is None else floor.tz_convert("UTC")
    return TimeBounds(floor=floor, max_future=pd.Timedelta(hours=max_future_hours))

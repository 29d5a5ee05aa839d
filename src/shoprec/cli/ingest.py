"""`shoprec ingest`: files or public datasets into the workspace's store."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec.cli import run_options, workspace_option
from shoprec.cli.ingest_sources import check_inputs, database_sources, run_watch, source_options
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
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@workspace_option
@source_options
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
@click.option("--na-values", metavar="A,B,...", help="Text that means 'no value' in every column, replacing the default "
              "set (empty, NA, N/A, null, NULL, None, nan, NaN, -); '' for empty only.")
@click.option("--anonymous-user", type=click.Choice(["session", "event"]),
              help="Keep events without a user: as their session's shopper, or each as its own (default: quarantine, missing_user_id).")
@click.option("--returns", type=click.Choice(["event", "quarantine"]), default="event", show_default=True,
              help="A purchase with a negative quantity (or marked by --map cancelled=COLUMN) becomes a 'return' event, or is quarantined.")
@click.option("--cancelled-prefix", metavar="TEXT", help="The cancelled column marks a row when its value starts with TEXT (e.g. C for invoice numbers like C536379).")
@click.option("--decimal", type=click.Choice([".", ","]), default=".", show_default=True, help="Decimal mark of numbers (',' reads 1.234,50 as 1234.5).")
@click.option("--category-sep", metavar="CHAR", help="Separator of category levels (default: detected, '>', '/' or '|', and reported).")
@click.option("--strict", is_flag=True, help="Commit nothing and exit 1 if any row is rejected.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(paths: tuple[Path, ...], workspace: Path, dataset_format: str | None, kind: str, maps: tuple[str, ...],
            columns: str | None, delimiter: str | None, encoding: str, file_format: str | None, event_type: str | None,
            type_maps: tuple[str, ...], time_format: str | None, strict: bool, as_json: bool,
            max_future_hours: float = 24.0, time_floor: str = "1990-01-01", na_values: str | None = None,
            anonymous_user: str | None = None, returns: str = "event", cancelled_prefix: str | None = None,
            decimal: str = ".", category_sep: str | None = None,
            from_url: str | None = None, query: str | None = None, chunk_rows: int = 250_000, watch: Path | None = None,
            pattern: str | None = None, interval: float | None = None, once: bool = False) -> None:
    """Ingest PATHS (CSV/TSV, JSON Lines, Parquet; plain, .gz or .zip) into the store.

    Rejected rows go to a quarantine file with their file, line, field and reason; exact repeats
    of stored events are merged. Exits 1 when nothing valid was read, or with --strict when
    anything was rejected. Also reads a database query (--from URL --query SQL), or each new file
    landing in a folder (--watch DIR): see docs/data.md.
    """
    check_inputs(paths, from_url, query, watch, dataset_format, pattern, interval, once)
    from shoprec.data.ingest import Source, ingest
    from shoprec.data.mapping import DEFAULT_NA_VALUES, ColumnMapping
    from shoprec.data.readers import ReadOptions, read_records
    from shoprec.data.store import Store

    bounds = _time_bounds(max_future_hours, time_floor)
    if delimiter == "\\t":
        delimiter = "\t"
    options = ReadOptions(file_format=file_format, delimiter=delimiter, encoding=encoding,
                          columns=tuple(parse_list(columns)) or None, chunk_rows=chunk_rows)

    def sources_for(paths: tuple[Path, ...]) -> list[Source]:
        if dataset_format:
            return [replace(s, mapping=replace(s.mapping, time_bounds=bounds))
                    for path in paths for s in adapter_sources(dataset_format, path, options)]
        return [Source(kind, str(p), (lambda p=p: read_records(p, options)), mapping) for p in paths]

    mapping: ColumnMapping | None = None
    if not dataset_format:
        messy = {"na_values": DEFAULT_NA_VALUES if na_values is None else frozenset(v.strip() for v in na_values.split(",")),
                 "anonymous_user": anonymous_user, "returns": returns, "cancelled_prefix": cancelled_prefix,
                 "decimal": decimal, "category_sep": category_sep}
        mapping = ColumnMapping(columns=parse_pairs(maps, "--map"), event_type=event_type,
                                event_type_map=parse_pairs(type_maps, "--event-type-map"), time_format=time_format,
                                time_bounds=bounds, **messy)  # type: ignore[arg-type]
    if watch is not None:
        sys.exit(run_watch(workspace, watch, lambda path: sources_for((path,)), pattern=pattern, interval=interval,
                           once=once, strict=strict, as_json=as_json, print_summary=_print_summary,
                           print_warnings=print_warnings))
    sources = sources_for(paths) + database_sources(from_url, query, kind, mapping, chunk_rows)
    store = Store(workspace)
    try:
        summary = ingest(store, sources, strict=strict)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
        print_warnings(summary)
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
    for label, why in summary.category_separators.items():
        click.echo(f"  category levels in {label}: separated by {why}")
    if summary.quarantine:
        click.echo(f"  quarantine: {summary.quarantine}")
    if not summary.committed:
        click.echo("  nothing stored (--strict)")
    print_warnings(summary)


def print_warnings(summary: IngestSummary) -> None:
    """The data profile's warnings (data/profile.py) on stderr, each with what to do; --quiet keeps them."""
    for warning in summary.warnings:
        click.echo(f"warning: {warning['message']} [{warning['code']}]", err=True)
        click.echo(f"  what to do: {warning['what_to_do']}", err=True)


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

"""`shoprec ingest` beyond files named on the command line: a database query (`--from URL --query SQL`)
and a watched folder (`--watch DIR`). The options are declared here (light imports only, so
`ingest --help` stays fast); the work is in shoprec.data.sql_source and shoprec.data.watch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from shoprec.data.ingest import IngestSummary, Source
    from shoprec.data.validate import ColumnMapping

DEFAULT_INTERVAL = 5.0


def source_options(func):  # type: ignore[no-untyped-def]
    """`--from`, `--query`, `--chunk-rows`, `--watch`, `--pattern`, `--interval`, `--once`."""
    flags = [
        click.option("--from", "from_url", metavar="URL",
                     help="Read from a database (a SQLAlchemy URL: postgresql://user:pass@host/db, sqlite:///shop.db); with --query."),
        click.option("--query", metavar="SQL", help="With --from: the SELECT whose rows are ingested (as --kind), streamed in chunks."),
        click.option("--chunk-rows", type=click.IntRange(min=1), default=250_000, show_default=True, metavar="N",
                     help="Rows read and validated at a time (files and --from)."),
        click.option("--watch", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="Ingest each new file that lands in DIR once it is complete, exactly once, until Ctrl+C."),
        click.option("--pattern", metavar="GLOB", help="With --watch: the file names to take, e.g. 'orders-*.csv.gz' (default: any data file)."),
        click.option("--interval", type=click.FloatRange(min=0), metavar="SECONDS",
                     help=f"With --watch: seconds between polls; a file is taken when unchanged across two. [default: {DEFAULT_INTERVAL:g}]"),
        click.option("--once", is_flag=True, help="With --watch: take the complete new files there now, then exit (for cron)."),
    ]
    for flag in reversed(flags):
        func = flag(func)
    return func


def check_inputs(paths: tuple[Path, ...], from_url: str | None, query: str | None, watch: Path | None,
                 dataset_format: str | None, pattern: str | None, interval: float | None, once: bool) -> None:
    """One clear usage error for inputs that do not go together (or no input at all)."""
    if (from_url is None) != (query is None):
        raise click.UsageError("--from URL and --query SQL go together")
    if not paths and from_url is None and watch is None:
        raise click.UsageError("nothing to ingest: give PATHS, --from URL --query SQL, or --watch DIR")
    if watch is not None and (paths or from_url is not None):
        raise click.UsageError("--watch DIR ingests the files that land in DIR: give no PATHS or --from with it")
    if watch is None and (pattern is not None or interval is not None or once):
        raise click.UsageError("--pattern, --interval and --once go with --watch DIR")
    if from_url is not None and dataset_format:
        raise click.UsageError("--format reads a dataset's files; a --from query is read as --kind with --map")


def database_sources(from_url: str | None, query: str | None, kind: str, mapping: ColumnMapping | None,
                     chunk_rows: int) -> list[Source]:
    """The --from query as a source (none without --from)."""
    if from_url is None or query is None:
        return []
    from shoprec.data.sql_source import sql_source

    return [sql_source(from_url, query, kind, mapping, chunk_rows)]


def run_watch(workspace: Path, folder: Path, sources_for: Callable[[Path], list[Source]], *, pattern: str | None,
              interval: float | None, once: bool, strict: bool, as_json: bool,
              print_summary: Callable[[IngestSummary], None],
              print_warnings: Callable[[IngestSummary], None] = lambda summary: None) -> int:
    """Watch `folder` (see shoprec.data.watch); print each file's summary (a JSON line with --json).

    The exit status: 0, or 1 when a file taken failed, held no valid row, or was refused by --strict.
    """
    from shoprec import progress
    from shoprec.data.store import Store
    from shoprec.data.watch import FolderWatch

    interval = DEFAULT_INTERVAL if interval is None else interval
    store = Store(workspace)
    watcher = FolderWatch(store, folder, sources_for, pattern=pattern, strict=strict)
    failed = taken = 0
    if not once:
        progress.note(f"watching {folder} every {interval:g} s for new files (Ctrl+C to stop)")
    try:
        for result in watcher.run(interval, once=once):
            taken += 1
            summary = result.summary
            problem = result.error
            if summary is not None and summary.accepted + summary.duplicates == 0:
                problem = "no valid rows were read"
            elif summary is not None and strict and summary.rejected_total:
                problem = f"--strict: {summary.rejected_total} rows rejected, nothing was stored"
            failed += problem is not None
            if as_json:
                line = {"file": str(result.path), **(summary.to_json() if summary is not None else {}), "error": problem}
                click.echo(json.dumps(line))
                if summary is not None:
                    print_warnings(summary)  # on stderr, as for one ingest
            else:
                click.echo(f"{result.path}:")
                if summary is not None:
                    print_summary(summary)
            if problem is not None:
                click.echo(f"error: {result.path}: {problem}", err=True)
            sys.stdout.flush()
    except KeyboardInterrupt:
        cut = watcher.busy
        click.echo(f"stopped watching {folder} after {taken} files" +
                   (f"; {cut} was cut short and not stored: it is taken again on the next start" if cut else ""), err=True)
        return 130
    finally:
        store.close()
    if once and not as_json:
        progress.note(f"{taken} new files in {folder}" + (f", {failed} with errors" if failed else ""))
    return 1 if failed else 0

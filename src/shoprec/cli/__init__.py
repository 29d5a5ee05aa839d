"""The `shoprec` command: one group, one file per command, errors as one clear line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from shoprec import threads
from shoprec.errors import ShoprecError

threads.init_environment()  # before a command's module loads numpy, OpenMP and the rest

DEFAULT_WORKSPACE = "./shoprec-workspace"


def workspace_option(func):  # type: ignore[no-untyped-def]
    """`--workspace DIR`, defaulting to $SHOPREC_WORKSPACE, else ./shoprec-workspace."""
    return click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("SHOPREC_WORKSPACE", DEFAULT_WORKSPACE),
        show_default="$SHOPREC_WORKSPACE or ./shoprec-workspace",
        help="The workspace folder holding the store, bundles and reports.",
    )(func)


def run_options(func):  # type: ignore[no-untyped-def]
    """`--threads`, `--quiet`, `--verbose`: on every command, applied before the command runs.

    `--threads N` (default $SHOPREC_THREADS, else the cores this process may use) sizes every
    library's thread pool (shoprec.threads); `--quiet` drops progress and notes from stderr,
    `--verbose` adds detail. Machine-readable output (--json) always goes to stdout.
    """

    def set_threads(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        from shoprec import threads

        threads.set_threads(None if value is None else threads.parse(value, "--threads"))

    def set_verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        from shoprec import progress

        if value:
            progress.set_verbosity(progress.QUIET if param.name == "quiet" else progress.VERBOSE)

    func = click.option("--verbose", "-v", is_flag=True, expose_value=False, callback=set_verbosity,
                        help="More detail on stderr.")(func)
    func = click.option("--quiet", "-q", is_flag=True, expose_value=False, callback=set_verbosity,
                        help="No progress or notes on stderr (errors still).")(func)
    return click.option("--threads", metavar="N", expose_value=False, callback=set_threads,
                        help="Threads for every library (default: $SHOPREC_THREADS, else the cores this process may use).")(func)


SPLITS = ("temporal", "leave-last", "stratified", "last-session")


def split_flags(func):  # type: ignore[no-untyped-def]
    """The split protocol's flags (`--split`, `--test-fraction`, ... `--seed`), shared by evaluate,
    tune and train --tune; `split_options` turns them into the protocol's options."""
    flags = [
        click.option("--split", type=click.Choice(SPLITS), default="temporal", show_default=True, help="The split protocol."),
        click.option("--test-fraction", type=float, help="temporal: the last fraction of events in time order (default 0.2)."),
        click.option("--cutoff", help="temporal: events at or after this time (ISO 8601) are test."),
        click.option("--last-n", type=int, default=1, show_default=True, help="leave-last: each user's last N events are test."),
        click.option("--ratio", type=float, default=0.75, show_default=True, help="stratified: share of each group's events in train."),
        click.option("--by", type=click.Choice(["item", "user"]), default="item", show_default=True, help="stratified: group by item or user."),
        click.option("--seed", type=int, default=42, show_default=True, help="stratified: random seed."),
    ]
    for flag in reversed(flags):
        func = flag(func)
    return func


def split_options(split: str, test_fraction: float | None, cutoff: str | None, last_n: int, ratio: float, by: str,
                  seed: int) -> dict[str, Any]:
    """The options of the chosen split protocol, from the command line's flags."""
    if split == "temporal":
        return {"cutoff": cutoff} if cutoff else {"test_fraction": 0.2 if test_fraction is None else test_fraction}
    if split == "leave-last":
        return {"last_n": last_n}
    if split == "stratified":
        return {"ratio": ratio, "by": by, "seed": seed}
    return {}


def tuning_flags(func):  # type: ignore[no-untyped-def]
    """`--metric` and `--max-trials`: what tuning maximises on validation and how many grid points it tries."""
    func = click.option("--max-trials", type=click.IntRange(min=1),
                        help="Try at most N grid points per model (a random subset of a larger grid).")(func)
    return click.option("--metric", default="ndcg@10", show_default=True,
                        help="The validation metric tuning maximises, e.g. ndcg@10, recall@20.")(func)


def fusion_flags(func):  # type: ignore[no-untyped-def]
    """`--fusion`, `--fusion-members`, `--candidates`: which fusion methods to learn (on a validation
    split, like tuning) over which models, from how many candidates per model."""
    func = click.option("--candidates", "n_candidates", type=click.IntRange(min=1), default=100, show_default=True,
                        help="Candidates each member model contributes per user.")(func)
    func = click.option("--fusion-members", help="Models to fuse, comma-separated (default: every model but random).")(func)
    return click.option("--fusion", default="all", show_default=True,
                        help="Fusion methods: all, none, or some of average,weighted,borda,vote,rrf,ltr.")(func)


# One module per command under shoprec.cli, each with a click `command`, in help order, with the
# first line of its help: `shoprec --help` lists them without importing any (a command's module
# imports what it needs: pandas, LightGBM, torch...), and only the command that runs is imported.
# tests/cli/test_lazy_commands.py checks that each line here is its command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("generate", "Generate a believable synthetic shop: catalogue, shoppers and their events."),
    "ingest": ("ingest", "Ingest PATHS (CSV/TSV, JSON Lines, Parquet; plain, .gz or .zip) into the store."),
    "train": ("train", "Fit the chosen models on all stored data and write a new current bundle."),
    "tune": ("tune", "Search each model's tuning space on a validation split carved from the train side of the chosen split."),
    "evaluate": ("evaluate", "Measure models offline: precision, recall, MAP, NDCG, MRR, hit rate, coverage, novelty, diversity."),
    "recommend": ("recommend", "Recommend items for one shopper from their history as stored now."),
    "search": ("search", "Search the catalogue for QUERY (put it after `--` if it starts with a dash; none: browse)."),
    "search-train": ("search_train", "Train the search ranker (and the hybrid blend) on judged queries; print held-out NDCG."),
    "search-eval": ("search_eval", "Measure search: NDCG@k, recall, latency per mode, on queries no mode learned from."),
    "demo": ("demo", "Generate a synthetic shop, train a fast set of models, serve the storefront and the API, then evaluate in the background."),
    "serve": ("serve", "Serve recommendations, search, events and the storefront over HTTP (docs at /docs)."),
    "status": ("status", "Show the store's size and events by type and day, the live-log backlog, the current bundle and warnings."),
    "compact": ("compact", "Move the live log's events (from the API) into a store segment, where reads and training are fastest."),
    "bundles": ("bundles", "List the trained bundles; promote one, roll back to the previous one, prune old ones."),
    "experiment": ("experiment", "Run online experiments (A/B or interleaving) between models or bundles, and report them."),
    "simulate": ("simulate", "Play simulated shoppers with a planted taste against the running service, to test experiments end to end."),
}
COMMAND_MODULES = tuple(module for module, _ in COMMANDS.values())


class LazyGroup(click.Group):
    """A group whose commands are imported when run (or asked for their own help), not before."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        import importlib

        command: click.Command = importlib.import_module(f"shoprec.cli.{COMMANDS[cmd_name][0]}").command
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) if name in COMMANDS and name not in self.commands
                else (name, self.commands[name].get_short_help_str(formatter.width)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="shoprec")
def cli() -> None:
    """shoprec: search and recommendations for online shops."""


def main() -> None:
    """Entry point: run the command; a ShoprecError (bad input, bad option) is one line on stderr."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ShoprecError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except (OSError, MemoryError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)

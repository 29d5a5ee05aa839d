"""The `shoprec` command: one group, one file per command, errors as one clear line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from shoprec.errors import ShoprecError

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="shoprec")
def cli() -> None:
    """shoprec: search and recommendations for online shops."""


def _register() -> None:
    from shoprec.cli import demo, evaluate, generate, ingest, recommend, train

    for module in (generate, ingest, train, evaluate, recommend, demo):
        cli.add_command(module.command)


_register()


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

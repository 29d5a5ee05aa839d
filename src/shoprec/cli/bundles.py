"""`shoprec bundles list|promote|rollback|prune`: which bundle serves, and changing it.

Every change of `bundles/CURRENT` (training, promote, rollback, a service reload naming a version)
is recorded in `bundles/HISTORY`; rollback goes back along it. A running service follows CURRENT:
every worker loads the bundle it names within about a second plus the load
(shoprec.service.bundle_follower); each command that changes CURRENT says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec.cli import run_options, workspace_option

if TYPE_CHECKING:
    from shoprec.operations.bundles import BundleInfo
    from shoprec.training.gate import GateDecision

RELOAD_HINT = ("a running service on this workspace loads it within seconds, every worker "
               "(GET /ready names the bundle each serves)")


@click.group("bundles")
def command() -> None:
    """List the trained bundles; promote one, roll back to the previous one, prune old ones."""


@command.command("list")
@run_options
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print the bundles as a JSON list.")
def list_command(workspace: Path, as_json: bool) -> None:
    """Every bundle, oldest first: version, trained at, default model, validation ndcg@10, size; * marks CURRENT."""
    from shoprec.operations.bundles import list_bundles

    found = list_bundles(workspace)
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in found], indent=2))
        return
    if not found:
        click.echo(f"no bundles in {workspace}: run 'shoprec train'")
        return
    click.echo(_table(found))
    click.echo("* current   < the previous one (what 'shoprec bundles rollback' goes back to)")


@command.command("promote")
@run_options
@workspace_option
@click.argument("version")
def promote_command(workspace: Path, version: str) -> None:
    """Make bundle VERSION current, once it loaded whole as the service would load it."""
    from shoprec.bundle import bundles_dir, current_version
    from shoprec.data.store import Store
    from shoprec.errors import ShoprecError
    from shoprec.ranking.engine import RecommendationEngine
    from shoprec.service.reloader import load_for_serving

    if not version or "/" in version or version.startswith("."):
        raise ShoprecError(f"{version!r} is not a bundle version: 'shoprec bundles list' shows them")
    if not (bundles_dir(workspace) / version).is_dir():
        raise ShoprecError(f"no bundle {version} in {bundles_dir(workspace)}: 'shoprec bundles list' shows them")
    before = current_version(workspace)
    store = Store(workspace)
    try:
        # The service's own check (a missing, partial or damaged bundle is refused), which then sets
        # CURRENT (recorded in HISTORY); nothing changes when it refuses.
        load_for_serving(workspace, version, lambda bundle: RecommendationEngine.open(workspace, store, bundle))
    except ShoprecError as exc:
        raise ShoprecError(f"{exc}; CURRENT still names {before or 'nothing'}") from exc
    finally:
        store.close()
    if before == version:
        click.echo(f"bundle {version} loads whole and was already current")
        return
    click.echo(f"bundle {version} is current (was {before or 'none'}); {RELOAD_HINT}")


@command.command("rollback")
@run_options
@workspace_option
def rollback_command(workspace: Path) -> None:
    """Make the bundle that was current before the current one current again."""
    from shoprec.operations.bundles import rollback

    left, back_to = rollback(workspace)
    click.echo(f"bundle {back_to} is current again (was {left}); {RELOAD_HINT}")


@command.command("prune")
@run_options
@workspace_option
@click.option("--keep", type=click.IntRange(min=0), required=True, metavar="N",
              help="Keep the N newest bundles (the current one and the previous one are always kept).")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def prune_command(workspace: Path, keep: int, as_json: bool) -> None:
    """Remove all but the N newest bundles, never the current one nor the previous one."""
    from shoprec.operations.bundles import human_bytes, prune

    removed, incomplete = prune(workspace, keep)
    if as_json:
        click.echo(json.dumps({"removed": [info.version for info in removed],
                               "freed_bytes": sum(info.size_bytes for info in removed),
                               "incomplete_left": [info.version for info in incomplete]}, indent=2))
        return
    for info in removed:
        click.echo(f"removed {info.version} ({human_bytes(info.size_bytes)})")
    freed = human_bytes(sum(info.size_bytes for info in removed))
    click.echo(f"removed {len(removed)} bundle(s), {freed} freed" if removed else "nothing to remove")
    if incomplete:
        click.echo(f"left {len(incomplete)} folder(s) without a manifest (an interrupted or running training): "
                   + ", ".join(info.version for info in incomplete))


def print_gate(decision: GateDecision) -> None:
    """The gate's lines after `shoprec train --promote-if-better`."""
    champion = "-" if decision.champion_value is None else f"{decision.champion_value:.4f}"
    where = f" ({decision.champion_source})" if decision.champion_source else ""
    click.echo(f"gate on validation {decision.metric}: new {decision.challenger_value:.4f}, "
               f"current {decision.champion or 'none'} {champion}{where}")
    if decision.promoted:
        click.echo(f"promoted: {decision.reason}; {RELOAD_HINT}")
    else:
        click.echo(f"not promoted: {decision.reason}; the new bundle is kept, not current "
                   f"('shoprec bundles promote {decision.challenger}' makes it current)")


def _table(found: list[BundleInfo]) -> str:
    from shoprec.operations.bundles import human_age, human_bytes

    rows = [("", "version", "trained at", "age", "default model", "val ndcg@10", "size")]
    for info in found:
        mark = "*" if info.current else "<" if info.previous else ""
        if not info.complete:
            rows.append((mark, info.version, "(incomplete: no manifest)", "", "", "", human_bytes(info.size_bytes)))
            continue
        rows.append((mark, info.version, info.trained_at or "-", human_age(info.age_seconds()), info.default_model or "-",
                     "-" if info.validation is None else f"{info.validation:.4f}", human_bytes(info.size_bytes)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {3, 5, 6}
    return "\n".join("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows)

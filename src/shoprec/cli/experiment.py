"""`shoprec experiment start|stop|report|list`: online experiments between bundle entries or bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shoprec.cli import run_options, workspace_option


@click.group("experiment")
def command() -> None:
    """Run online experiments (A/B or interleaving) between models or bundles, and report them.

    The service reads the running experiments from the workspace within a second: start and stop
    them while it runs. See docs/experiments.md.
    """


@command.command("start")
@run_options
@workspace_option
@click.argument("name")
@click.option("--variant", "variants", multiple=True, required=True, metavar="NAME=TARGET",
              help="A variant and what answers it: an entry of the current bundle (itemknn, fusion:rrf), a bundle "
                   "version, or VERSION/ENTRY; on --surface search, a search mode. Give it twice (A=..., B=...).")
@click.option("--traffic", metavar="P,P", help="Shares of shoppers per variant, in --variant order (default: equal).")
@click.option("--surface", type=click.Choice(["recommendations", "search", "similar"]), default="recommendations",
              show_default=True, help="Which answers the experiment takes over.")
@click.option("--design", type=click.Choice(["ab", "interleaving"]), default="ab", show_default=True,
              help="ab: each shopper sees one variant; interleaving: every list merged from both (team draft).")
@click.option("--window-hours", type=float, default=24.0, show_default=True,
              help="A cart or purchase without a request id is credited to a click at most this long before it.")
@click.option("--json", "as_json", is_flag=True, help="Print the experiment as JSON.")
def start(workspace: Path, name: str, variants: tuple[str, ...], traffic: str | None, surface: str, design: str,
          window_hours: float, as_json: bool) -> None:
    """Start experiment NAME."""
    from shoprec.cli.options import parse_list
    from shoprec.errors import ConfigError
    from shoprec.experiments.definitions import ExperimentFile, new_experiment, parse_variant
    from shoprec.experiments.serving import check_targets

    try:
        shares = [float(t) for t in parse_list(traffic)] if traffic else None
    except ValueError as exc:
        raise ConfigError(f"--traffic {traffic!r}: give numbers, e.g. 50,50") from exc
    experiment = new_experiment(name, [parse_variant(v) for v in variants], traffic=shares, surface=surface,
                                design=design, window_hours=window_hours)
    check_targets(workspace, experiment)
    ExperimentFile(workspace).start(experiment)
    if as_json:
        click.echo(json.dumps(experiment.to_json(), indent=2))
        return
    split = "interleaved" if design == "interleaving" else ", ".join(f"{v} {share:.0%}" for v, share in
                                                                     zip(experiment.names, experiment.traffic, strict=True))
    click.echo(f"experiment {name} started on {surface} ({split}): "
               + ", ".join(f"{v}={t}" for v, t in experiment.variants.items()))


@command.command("stop")
@run_options
@workspace_option
@click.argument("name")
def stop(workspace: Path, name: str) -> None:
    """Stop experiment NAME (its data stays for the report)."""
    from shoprec.experiments.definitions import ExperimentFile

    stopped = ExperimentFile(workspace).stop(name)
    click.echo(f"experiment {name} stopped; report: shoprec experiment report {stopped.name}")


@command.command("list")
@run_options
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_experiments(workspace: Path, as_json: bool) -> None:
    """List the workspace's experiments."""
    from shoprec.experiments.definitions import ExperimentFile

    experiments = ExperimentFile(workspace).all(fresh=True)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in experiments.values()], indent=2))
        return
    if not experiments:
        click.echo("no experiments")
    for e in experiments.values():
        state = "running" if e.running else "stopped"
        click.echo(f"{e.name:<24} {state:<8} {e.surface:<16} {e.design:<13} "
                   + ", ".join(f"{v}={t}" for v, t in e.variants.items()))


@command.command("report")
@run_options
@workspace_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(workspace: Path, name: str, as_json: bool) -> None:
    """Report experiment NAME: per variant what was shown and what came of it, with the statistics."""
    from shoprec.experiments.definitions import ExperimentFile
    from shoprec.experiments.report import build_report
    from shoprec.experiments.shown import ShownLog, path_in

    experiment = ExperimentFile(workspace).get(name)
    log = ShownLog(path_in(Path(workspace) / "store"))
    try:
        result = build_report(experiment, log)
    finally:
        log.close()
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo("\n".join(report_lines(result)))


def report_lines(result: dict[str, Any]) -> list[str]:
    """The report as text."""
    lines = [f"experiment {result['name']} ({result['design']}, {result['surface']}, {result['status']} "
             f"since {result['started']})"]
    if result["design"] == "interleaving":
        lines.append(f"{'variant':<10} {'target':<24} {'shown':>8} {'clicks':>7} {'wins':>6}")
        for name, v in result["variants"].items():
            lines.append(f"{name:<10} {v['target']:<24} {v['impressions']:>8} {v['clicks']:>7} {v['wins']:>6}")
        lines.append(f"requests {result['requests']}, with clicks {result['requests_with_clicks']}, ties {result['ties']}")
        lines.append(f"p-value {_num(result['p_value'])} ({result['test']})")
    else:
        lines.append(f"{'variant':<8} {'target':<20} {'users':>6} {'shown':>7} {'clicks':>6} {'CTR [95% CI]':>26} "
                     f"{'cart rate':>9} {'conversion [95% CI]':>26} {'revenue/shopper [95% CI]':>30}")
        for name, v in result["variants"].items():
            lines.append(f"{name:<8} {v['target']:<20} {v['users']:>6} {v['impressions']:>7} {v['clicks']:>6} "
                         f"{_with_ci(v['ctr'], v['ctr_ci']):>26} {_num(v['add_to_cart_rate']):>9} "
                         f"{_with_ci(v['conversion_rate'], v['conversion_rate_ci']):>26} "
                         f"{_with_ci(v['revenue_per_shopper'], v['revenue_per_shopper_ci']):>30}")
        for metric, d in result["differences"].items():
            lines.append(f"{metric}: difference {_num(d['difference'])}, p-value {_num(d['p_value'])} ({d['test']})")
        srm = "MISMATCH: the split is not as set, do not trust the result" if result["srm"] else "ok"
        lines.append(f"sample ratio: p-value {_num(result['srm_p_value'])} ({srm})")
    winner = result["winner"]
    lines.append(f"winner: {winner}" if winner else f"winner: none (no significant difference at {result['alpha']})")
    return lines


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _with_ci(value: float | None, ci: list[float] | None) -> str:
    return _num(value) + ("" if ci is None else f" [{_num(ci[0])}, {_num(ci[1])}]")

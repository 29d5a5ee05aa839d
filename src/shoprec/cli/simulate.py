"""`shoprec simulate`: simulated shoppers with a planted taste against the running service (loopback only)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click

from shoprec.cli import run_options, workspace_option


@click.command("simulate")
@run_options
@workspace_option
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="The running service (`shoprec serve`); only an address on this machine is accepted.")
@click.option("--shoppers", type=int, default=200, show_default=True, help="Simulated shoppers (at most 100,000).")
@click.option("--days", type=int, default=3, show_default=True, help="Rounds of visits (at most 365).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the shoppers' tastes and choices.")
@click.option("--k", type=int, default=10, show_default=True, help="Items per recommendation list.")
@click.option("--visit-rate", type=float, default=0.8, show_default=True, help="Chance a shopper visits on a day.")
@click.option("--api-key", envvar="SHOPREC_STOREFRONT_KEY", show_envvar=True,
              help="A key that may post events (the storefront key or an admin key; default: the first of $SHOPREC_API_KEYS).")
@click.option("--report", "report_name", metavar="NAME", help="Print experiment NAME's report (from --workspace) afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the run's counts (and the report).")
def command(workspace: Path, url: str, shoppers: int, days: int, seed: int, k: int, visit_rate: float,
            api_key: str | None, report_name: str | None, as_json: bool) -> None:
    """Play simulated shoppers with a planted taste against the running service, to test experiments end to end."""
    import httpx

    from shoprec.experiments.simulator import SimulationSettings, check_loopback, simulate

    settings = SimulationSettings(shoppers=shoppers, days=days, seed=seed, k=k, visit_rate=visit_rate)
    settings.check()
    base = check_loopback(url)
    key = api_key or next((k.strip() for k in os.environ.get("SHOPREC_API_KEYS", "").split(",") if k.strip()), None)
    headers = {"X-API-Key": key} if key else {}
    with httpx.Client(base_url=base, headers=headers, timeout=30, trust_env=False) as client:
        try:
            result = simulate(client, settings)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"the service at {base} failed: {exc}") from exc
    out: dict[str, object] = {"simulation": result.to_json()}
    if report_name:
        from shoprec.experiments.definitions import ExperimentFile
        from shoprec.experiments.report import build_report
        from shoprec.experiments.shown import FLUSH_EVERY_S, ShownLog, path_in

        time.sleep(2 * FLUSH_EVERY_S)  # the service commits the lists it answered within FLUSH_EVERY_S
        log = ShownLog(path_in(Path(workspace) / "store"))
        try:
            out["report"] = build_report(ExperimentFile(workspace).get(report_name), log)
        finally:
            log.close()
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"{result.shoppers} shoppers, {result.days} days: {result.visits} visits, {result.impressions} items shown, "
               f"{result.clicks} clicks ({result.liked_clicks} on their taste), {result.add_to_carts} carts, "
               f"{result.purchases} purchases in {result.seconds:.1f} s; variants {dict(result.variants)}")
    if report_name:
        from shoprec.cli.experiment import report_lines

        click.echo("\n".join(report_lines(out["report"])))  # type: ignore[arg-type]

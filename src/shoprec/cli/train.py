"""`shoprec train`: fit models on everything in the store and write a bundle.

With `--tune`, each model's key hyperparameters are first chosen on a validation split carved
from the stored data; with `--params-from`, they are read from a `shoprec tune` file. Either way
the bundle's manifest records the chosen values and their validation metric under
`metrics.tuning`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shoprec import progress
from shoprec.cli import fusion_flags, run_options, split_flags, split_options, tuning_flags, workspace_option
from shoprec.errors import ConfigError, ShoprecError
from shoprec.models.registry import DEFAULT_MODELS, create
from shoprec.tracking import Tracker, mlflow_option, train_record

# What fits, fuses and writes (pandas, SciPy, LightGBM) is imported where it runs, so that
# `train --help` does not wait for it.
if TYPE_CHECKING:
    from shoprec.models.isolated_fit import FitFailed


@click.command("train")
@run_options
@workspace_option
@click.option("--models", "model_names", default="default", show_default=True,
              help=f"Comma-separated model names, 'all', or 'default' ({','.join(DEFAULT_MODELS)}: chosen by measurement, docs/models.md).")
@click.option("--param", "params", multiple=True, metavar="MODEL.NAME=VALUE", help="A hyperparameter, e.g. popularity.half_life_days=14.")
@click.option("--default-model", help="The model `recommend` uses by default (default: the first named).")
@click.option("--tune", is_flag=True, help="First choose each model's key hyperparameters on a validation split of the stored data (split flags below).")
@click.option("--params-from", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Use the tuned values in this file (written by 'shoprec tune').")
@tuning_flags
@fusion_flags
@split_flags
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="Where to fit: this process, or Apache Spark (ials, itemknn, popularity, similar_items; docs/spark.md).")
@click.option("--master", default="local[*]", show_default=True,
              help="With --engine spark: the Spark master, e.g. local[4] or spark://host:7077.")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
              help="With --engine spark: a Spark setting (repeatable), e.g. spark.driver.memory=8g.")
@click.option("--isolate/--no-isolate", default=True, show_default=True,
              help="Fit each model in a child process, so that a native crash costs that model, not the run.")
@click.option("--promote-if-better", is_flag=True,
              help="Make the new bundle current only if its default model's validation ndcg@10 (--metric) is at least "
                   "the current bundle's, on the same validation split (docs/operations.md); else keep it, not current.")
@mlflow_option
@click.option("--json", "as_json", is_flag=True, help="Print the bundle summary as JSON.")
def command(workspace: Path, model_names: str, params: tuple[str, ...], default_model: str | None, tune: bool,
            params_from: Path | None, metric: str, max_trials: int | None, fusion: str, fusion_members: str | None,
            n_candidates: int, split: str, test_fraction: float | None, cutoff: str | None, last_n: int, ratio: float,
            by: str, seed: int, engine: str, master: str, spark_conf: tuple[str, ...], as_json: bool,
            isolate: bool = True, promote_if_better: bool = False, mlflow_uri: str | None = None) -> None:
    """Fit the chosen models on all stored data and write a new current bundle.

    With two or more models, fusion entries (fusion:average ... fusion:ltr) are learned on a
    validation split carved from the stored data, and the bundle's default model is the model
    or fusion entry with the best validation NDCG@10 (unless --default-model names one). The
    split flags say how that validation split (and the one --tune uses) is carved: by default
    the last 20% of events in time order.
    """
    if tune and params_from is not None:
        raise ConfigError("--tune and --params-from both choose hyperparameters: give one of them")
    tracker = Tracker.open(mlflow_uri)  # before any work: a missing extra or a bad URI fails now
    if promote_if_better and (engine == "spark" or metric.strip().lower() != "ndcg@10"):
        raise ConfigError("--promote-if-better compares validation ndcg@10 (the number training measures for every "
                          "entry), with the local engine: drop --engine spark and --metric, or promote by hand "
                          "with 'shoprec bundles promote VERSION'")
    from shoprec.data.store import load_events_dataset
    from shoprec.ranking.fused import fusion_name
    from shoprec.ranking.plan import choose_members, parse_methods
    from shoprec.training.local import check_default_model, failed_list, train_local
    from shoprec.training.settings import model_settings, settings_from_file, tuned_settings

    settings = model_settings(model_names, params)
    models = {name: create(name, **given) for name, given in settings.items()}  # checks names and values early
    methods = parse_methods(fusion)
    if engine == "spark":
        from shoprec.cli.train_spark import train_on_spark

        summary = train_on_spark(workspace, model_names, params, master, default_model, tune, params_from, bool(methods),
                                 as_json, spark_conf)
        if tracker is not None:
            tracker.log("train", train_record(summary, list(summary["params"]), engine="spark"))
        return
    members = choose_members(list(settings), fusion_members) if methods else []
    check_default_model(default_model, [*models, *(fusion_name(m) for m in methods)] if len(members) >= 2 else list(models))
    dataset, store_version = load_events_dataset(workspace)
    options = split_options(split, test_fraction, cutoff, last_n, ratio, by, seed)
    tuning: dict[str, Any] = {}
    if tune:
        settings, tuning = tuned_settings(settings, dataset, split, options, metric, max_trials)
    elif params_from is not None:
        settings, tuning = settings_from_file(settings, params_from)
    result = train_local(workspace, dataset, settings, methods=methods, members=members, default_model=default_model,
                         split=split, split_options=options, n_candidates=n_candidates, isolate=isolate, tuning=tuning,
                         data_snapshot={"store_manifest_version": store_version}, on_start=_fitting, on_end=_fitted,
                         make_current=not promote_if_better)
    decision = None
    if promote_if_better:
        from shoprec.training.gate import gate

        decision = gate(workspace, result.path, dataset, split, options, n_candidates)
    if as_json:
        click.echo(json.dumps({**result.summary(settings), **({"gate": decision.to_dict()} if decision else {})}, indent=2))
    else:
        click.echo(f"trained {', '.join(result.entries)} on {dataset.n_events:,} events, {dataset.n_users:,} users, "
                   f"{dataset.n_items:,} items")
        validation = result.metrics.get("fusion", {}).get("validation_ndcg@10", {})
        for name, s in result.seconds.items():
            chosen = ", ".join(f"{k}={v}" for k, v in settings.get(name, {}).items())
            measured = f"  validation ndcg@10 {validation[name]:.4f}" if name in validation else ""
            click.echo(f"  {name:<16} {s:8.2f} s{measured}  {chosen}")
        click.echo(f"default model: {result.default_model}")
        click.echo(f"bundle: {result.path}")
        if decision is not None:
            from shoprec.cli.bundles import print_gate

            print_gate(decision)
    if tracker is not None:
        tracker.log("train", train_record(result.summary(settings), list(settings), split=split, split_options=options,
                                          fusion=fusion))
    if result.failures:
        left = ",".join(name for name in settings if name not in result.failures)
        raise TrainingIncomplete(
            f"{len(result.failures)} of {len(settings)} models failed and are not in the bundle "
            f"({failed_list(result.failures)}); the bundle holds the others{'' if decision and not decision.promoted else ' and is current'}. Fix the cause, or "
            f"train without them: shoprec train --models {left}")


class TrainingIncomplete(ShoprecError):
    """Some models failed; the bundle of the others was written."""


def _fitting(name: str) -> None:
    progress.note(f"fitting {name} ...")


def _fitted(name: str, seconds: float, failure: FitFailed | None) -> None:
    if failure is None:
        progress.note(f"fitted {name} in {seconds:.1f} s")
    else:
        click.echo(f"error: {name} failed after {seconds:.1f} s: {failure.reason}", err=True)

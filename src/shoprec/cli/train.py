"""`shoprec train`: fit models on everything in the store and write a bundle.

With `--tune`, each model's key hyperparameters are first chosen on a validation split carved
from the stored data; with `--params-from`, they are read from a `shoprec tune` file. Either way
the bundle's manifest records the chosen values and their validation metric under
`metrics.tuning`.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shoprec import progress
from shoprec.cli import fusion_flags, run_options, split_flags, split_options, tuning_flags, workspace_option
from shoprec.cli.options import parse_list, parse_pairs
from shoprec.errors import ConfigError, ShoprecError
from shoprec.evaluation.tuning_file import load_tuning
from shoprec.models.registry import DEFAULT_MODELS, MODELS, create

# What fits, fuses and writes (pandas, SciPy, LightGBM) is imported where it runs, so that
# `train --help` does not wait for it.
if TYPE_CHECKING:
    from shoprec.data.dataset import Dataset
    from shoprec.models.base import Recommender
    from shoprec.models.isolated_fit import FitFailed


def build_models(names: str, params: tuple[str, ...]) -> dict[str, Recommender]:
    """Models from `--models a,b` (or `all`) and `--param model.name=value` settings."""
    return {name: create(name, **settings) for name, settings in model_settings(names, params).items()}


def model_settings(names: str, params: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Model name -> the hyperparameters set with `--param`, for `--models a,b` (or `all`, or
    `default`: DEFAULT_MODELS, the set chosen by measurement)."""
    chosen = (sorted(MODELS) if names.strip() == "all" else list(DEFAULT_MODELS) if names.strip() == "default"
              else parse_list(names))
    if not chosen:
        raise ConfigError("--models: name at least one model, or 'all'")
    settings: dict[str, dict[str, object]] = {name: {} for name in chosen}
    for key, raw in parse_pairs(params, "--param").items():
        model, sep, param = key.partition(".")
        if not sep or model not in settings:
            raise ConfigError(f"--param: expected MODEL.NAME=VALUE for one of {', '.join(chosen)}, got '{key}'")
        settings[model][param] = _value(raw)
    return settings


def tuned_settings(settings: dict[str, dict[str, Any]], dataset: Dataset, split: str, options: dict[str, Any],
                   metric: str, max_trials: int | None) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Tune each model on a validation split carved from `dataset` (hyperparameters set with
    `--param` stay fixed); returns the settings to fit with and the manifest's tuning entries."""
    from shoprec.evaluation.tuning import parse_metric, tune_models

    _, metric_k = parse_metric(metric)
    tuned = tune_models(settings, dataset, split, options, metric=metric, ks=(metric_k,), max_trials=max_trials)
    return ({name: r.params for name, r in tuned.items()},
            {name: {**r.to_dict(), "source": "train --tune"} for name, r in tuned.items()})


def settings_from_file(settings: dict[str, dict[str, Any]], path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Settings with the tuned values of `path` (a `shoprec tune` file) under those set with `--param`."""
    entries = load_tuning(path)
    missing = [name for name in settings if name not in entries]
    if missing:
        progress.note(f"{path} holds no tuned values for {', '.join(missing)}: using their defaults")
    merged = {name: {**entries.get(name, {}).get("params", {}), **given} for name, given in settings.items()}
    used = {name: {**entries[name], "source": str(path)} for name in settings if name in entries}
    return merged, used


def _value(raw: str) -> object:
    """A --param value: JSON when it reads as JSON (numbers, true, null), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


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
              help="Where to fit: this process, or Apache Spark (ials, itemknn, popularity; docs/spark.md).")
@click.option("--master", default="local[*]", show_default=True,
              help="With --engine spark: the Spark master, e.g. local[4] or spark://host:7077.")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
              help="With --engine spark: a Spark setting (repeatable), e.g. spark.driver.memory=8g.")
@click.option("--isolate/--no-isolate", default=True, show_default=True,
              help="Fit each model in a child process, so that a native crash costs that model, not the run.")
@click.option("--json", "as_json", is_flag=True, help="Print the bundle summary as JSON.")
def command(workspace: Path, model_names: str, params: tuple[str, ...], default_model: str | None, tune: bool,
            params_from: Path | None, metric: str, max_trials: int | None, fusion: str, fusion_members: str | None,
            n_candidates: int, split: str, test_fraction: float | None, cutoff: str | None, last_n: int, ratio: float,
            by: str, seed: int, engine: str, master: str, spark_conf: tuple[str, ...], as_json: bool,
            isolate: bool = True) -> None:
    """Fit the chosen models on all stored data and write a new current bundle.

    With two or more models, fusion entries (fusion:average ... fusion:ltr) are learned on a
    validation split carved from the stored data, and the bundle's default model is the model
    or fusion entry with the best validation NDCG@10 (unless --default-model names one). The
    split flags say how that validation split (and the one --tune uses) is carved: by default
    the last 20% of events in time order.
    """
    if tune and params_from is not None:
        raise ConfigError("--tune and --params-from both choose hyperparameters: give one of them")
    from shoprec.bundle import new_bundle_folder, write_bundle
    from shoprec.data.store import load_events_dataset
    from shoprec.models.isolated_fit import fit_each
    from shoprec.ranking.cold_start import ContextPopularity
    from shoprec.ranking.engine import CONTEXT_POPULARITY
    from shoprec.ranking.fused import fusion_name
    from shoprec.ranking.plan import choose_members, parse_methods
    from shoprec.ranking.plan import learn as learn_fusion

    settings = model_settings(model_names, params)
    models = {name: create(name, **given) for name, given in settings.items()}  # checks names and values early
    methods = parse_methods(fusion)
    if engine == "spark":
        from shoprec.cli.train_spark import train_on_spark

        train_on_spark(workspace, model_names, params, master, default_model, tune, params_from, bool(methods), as_json,
                       spark_conf)
        return
    members = choose_members(list(settings), fusion_members) if methods else []
    entries = [*models, *(fusion_name(m) for m in methods)] if len(members) >= 2 else list(models)
    if default_model is not None and default_model not in entries:
        raise ConfigError(f"--default-model {default_model} is not among the trained models: {', '.join(entries)}")
    dataset, store_version = load_events_dataset(workspace)
    snapshot = {"store_manifest_version": store_version}
    tuning: dict[str, Any] = {}
    if tune:
        options = split_options(split, test_fraction, cutoff, last_n, ratio, by, seed)
        settings, tuning = tuned_settings(settings, dataset, split, options, metric, max_trials)
    elif params_from is not None:
        settings, tuning = settings_from_file(settings, params_from)
    models = {name: create(name, **given) for name, given in settings.items()}
    folder = new_bundle_folder(workspace)
    models, seconds, failures = fit_each(models, dataset, folder, isolate=isolate, on_start=_fitting,
                                         on_end=_fitted)
    if not models:
        shutil.rmtree(folder, ignore_errors=True)
        raise ShoprecError(f"every model failed, no bundle written: {_failed_list(failures)}")
    if failures:
        members = [name for name in members if name in models]
        if default_model is not None and default_model not in models and not (
                default_model.startswith("fusion:") and len(members) >= 2):
            default_model = None  # it failed (or its fusion lost members): the usual choice instead
    metrics: dict[str, Any] = {"tuning": tuning} if tuning else {}
    bundle_models: dict[str, Recommender] = dict(models)
    started = time.perf_counter()
    bundle_models[CONTEXT_POPULARITY] = ContextPopularity().fit(dataset)  # what shoppers with no history get
    seconds[CONTEXT_POPULARITY] = time.perf_counter() - started
    preferred = default_model or ("popularity" if "popularity" in models else next(iter(models)))
    if len(members) >= 2:
        options = split_options(split, test_fraction, cutoff, last_n, ratio, by, seed)
        learning, fusion_seconds = learn_fusion(methods, settings, {name: models[name] for name in members}, dataset,
                                                split, options, n_candidates=n_candidates)
        for method, entry in learning.fusions.items():
            bundle_models[fusion_name(method)] = entry
            seconds[fusion_name(method)] = fusion_seconds
        metrics["fusion"] = {**learning.to_dict(), "members": members, "best_on_validation": learning.best()}
        preferred = default_model or learning.best()
    if failures:
        metrics["failed"] = {name: failure.reason for name, failure in failures.items()}
    path = write_bundle(workspace, bundle_models, dataset, default_model=preferred, train_seconds=seconds,
                        data_snapshot=snapshot, metrics=metrics or None, folder=folder, saved=models)
    summary = {"bundle": str(path), "default_model": preferred, "data": dataset.summary(),
               "train_seconds": {k: round(v, 3) for k, v in seconds.items()},
               "params": {name: settings[name] for name in models}}
    if "fusion" in metrics:
        summary["validation_ndcg@10"] = metrics["fusion"]["validation_ndcg@10"]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"trained {', '.join(bundle_models)} on {dataset.n_events:,} events, {dataset.n_users:,} users, {dataset.n_items:,} items")
        validation = metrics.get("fusion", {}).get("validation_ndcg@10", {})
        for name, s in seconds.items():
            chosen = ", ".join(f"{k}={v}" for k, v in settings.get(name, {}).items())
            measured = f"  validation ndcg@10 {validation[name]:.4f}" if name in validation else ""
            click.echo(f"  {name:<16} {s:8.2f} s{measured}  {chosen}")
        click.echo(f"default model: {preferred}")
        click.echo(f"bundle: {path}")
    if failures:
        left = ",".join(name for name in settings if name not in failures)
        raise TrainingIncomplete(
            f"{len(failures)} of {len(settings)} models failed and are not in the bundle ({_failed_list(failures)}); "
            f"the bundle holds the others and is current. Fix the cause, or train without them: "
            f"shoprec train --models {left}")


class TrainingIncomplete(ShoprecError):
    """Some models failed; the bundle of the others was written."""


def _fitting(name: str) -> None:
    progress.note(f"fitting {name} ...")


def _fitted(name: str, seconds: float, failure: FitFailed | None) -> None:
    if failure is None:
        progress.note(f"fitted {name} in {seconds:.1f} s")
    else:
        click.echo(f"error: {name} failed after {seconds:.1f} s: {failure.reason}", err=True)


def _failed_list(failures: dict[str, FitFailed]) -> str:
    return "; ".join(f"{name}: {failure.reason}" for name, failure in failures.items())

"""`shoprec train`: fit models on everything in the store and write a bundle."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from shoprec.bundle import write_bundle
from shoprec.cli import workspace_option
from shoprec.cli.options import parse_list, parse_pairs
from shoprec.data.store import Store
from shoprec.errors import ConfigError, ShoprecError
from shoprec.models.base import Recommender
from shoprec.models.registry import MODELS, create


def build_models(names: str, params: tuple[str, ...]) -> dict[str, Recommender]:
    """Models from `--models a,b` (or `all`) and `--param model.name=value` settings."""
    chosen = sorted(MODELS) if names.strip() == "all" else parse_list(names)
    if not chosen:
        raise ConfigError("--models: name at least one model, or 'all'")
    settings: dict[str, dict[str, object]] = {name: {} for name in chosen}
    for key, raw in parse_pairs(params, "--param").items():
        model, sep, param = key.partition(".")
        if not sep or model not in settings:
            raise ConfigError(f"--param: expected MODEL.NAME=VALUE for one of {', '.join(chosen)}, got '{key}'")
        settings[model][param] = _value(raw)
    return {name: create(name, **settings[name]) for name in chosen}


def _value(raw: str) -> object:
    """A --param value: JSON when it reads as JSON (numbers, true, null), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


@click.command("train")
@workspace_option
@click.option("--models", "model_names", default="all", show_default=True, help="Comma-separated model names, or 'all'.")
@click.option("--param", "params", multiple=True, metavar="MODEL.NAME=VALUE", help="A hyperparameter, e.g. popularity.half_life_days=14.")
@click.option("--default-model", help="The model `recommend` uses by default (default: the first named).")
@click.option("--json", "as_json", is_flag=True, help="Print the bundle summary as JSON.")
def command(workspace: Path, model_names: str, params: tuple[str, ...], default_model: str | None, as_json: bool) -> None:
    """Fit the chosen models on all stored data and write a new current bundle."""
    models = build_models(model_names, params)
    if default_model is not None and default_model not in models:
        raise ConfigError(f"--default-model {default_model} is not among the trained models: {', '.join(models)}")
    store = Store(workspace)
    try:
        dataset = store.dataset()
        snapshot = {"store_manifest_version": store.manifest().version}
    finally:
        store.close()
    if dataset.n_events == 0:
        raise ShoprecError(f"the store in {workspace} holds no events: run 'shoprec ingest' or 'shoprec generate' first")
    seconds: dict[str, float] = {}
    for name, model in models.items():
        started = time.perf_counter()
        model.fit(dataset)
        seconds[name] = time.perf_counter() - started
    preferred = default_model or ("popularity" if "popularity" in models else next(iter(models)))
    path = write_bundle(workspace, models, dataset, default_model=preferred, train_seconds=seconds, data_snapshot=snapshot)
    summary = {"bundle": str(path), "default_model": preferred, "data": dataset.summary(),
               "train_seconds": {k: round(v, 3) for k, v in seconds.items()}}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"trained {', '.join(models)} on {dataset.n_events:,} events, {dataset.n_users:,} users, {dataset.n_items:,} items")
        for name, s in seconds.items():
            click.echo(f"  {name:<14} {s:8.2f} s")
        click.echo(f"bundle: {path}")

"""Which models to train and with which hyperparameters: `--models`, `--param`, `--tune`, `--params-from`.

Shared by `shoprec train` (local and Spark), `tune`, `evaluate` and `demo`, so every command reads
the same names and values the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoprec import progress
from shoprec.cli.options import parse_list, parse_pairs
from shoprec.errors import ConfigError
from shoprec.evaluation.tuning_file import load_tuning
from shoprec.models.registry import DEFAULT_MODELS, MODELS, create

if TYPE_CHECKING:
    from shoprec.data.dataset import Dataset
    from shoprec.models.base import Recommender


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

"""`shoprec train --engine spark`: the models Spark trains, written as the usual bundle (docs/spark.md).

Kept apart from shoprec.cli.train so that the local command never imports pyspark.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shoprec.errors import ConfigError
from shoprec.spark import SPARK_MODELS, check_spark_models, require_pyspark
from shoprec.training.settings import model_settings, settings_from_file


def train_on_spark(workspace: Path, model_names: str, params: tuple[str, ...], master: str, default_model: str | None,
                   tune: bool, params_from: Path | None, fusion: bool, as_json: bool, spark_conf: tuple[str, ...] = ()) -> dict[str, Any]:
    """`train --engine spark`: the models Spark trains (`--models all`: every one of them), no fusion,
    the same bundle as the local engine (docs/spark.md). Returns the summary `--json` prints."""
    conf = parse_conf(spark_conf)
    names = ",".join(SPARK_MODELS) if model_names.strip() in ("all", "default") else model_names
    settings = model_settings(names, params)
    check_spark_models(list(settings))
    if tune:
        raise ConfigError("--tune fits every model locally on a validation split: run 'shoprec tune', "
                          "then 'shoprec train --engine spark --params-from FILE'")
    if default_model is not None and default_model not in settings:
        raise ConfigError(f"--default-model {default_model} is not among the trained models: {', '.join(settings)}")
    require_pyspark()
    from shoprec.spark.train import run

    tuning: dict[str, Any] = {}
    if params_from is not None:
        settings, tuning = settings_from_file(settings, params_from)
    if fusion and len(settings) >= 2:
        click.echo("note: --engine spark learns no fusion entries (they refit every model on a validation split, "
                   "locally); the bundle holds the single models", err=True)
    summary = run(workspace, settings, master=master, default_model=default_model,
                  metrics={"tuning": tuning} if tuning else None, config=conf)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return summary
    data = summary["data"]
    click.echo(f"trained {', '.join(summary['train_seconds'])} on Spark ({summary['spark_master']}) from "
               f"{data['events']:,} events, {data['users']:,} users, {data['items']:,} items")
    for name, s in summary["train_seconds"].items():
        chosen = ", ".join(f"{k}={v}" for k, v in settings.get(name, {}).items())
        click.echo(f"  {name:<18} {s:8.2f} s  {chosen}")
    click.echo(f"default model: {summary['default_model']}")
    click.echo(f"bundle: {summary['bundle']}")
    return summary


def parse_conf(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--spark-conf KEY=VALUE` pairs as a dict; a clear error for one without '='."""
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"--spark-conf expects KEY=VALUE (e.g. spark.driver.memory=8g), got {pair!r}")
        conf[key.strip()] = value.strip()
    return conf

"""`shoprec tune`: choose each model's key hyperparameters on validation data, never on test.

The workspace's data is split as `evaluate` would split it (same flags); the validation split is
carved from that split's *train side* with the same protocol, so an `evaluate` with the same
split flags afterwards measures values that were chosen without ever seeing its test events.
The choices go to `<workspace>/tuning.json`, which `train --params-from` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec import progress
from shoprec.cli import run_options, split_flags, split_options, tuning_flags, workspace_option
from shoprec.cli.json_output import dumps, json_request, json_result_options
from shoprec.cli.options import parse_list
from shoprec.evaluation.tuning_file import TUNING_FILE, save_tuning
from shoprec.training.settings import model_settings

# The tuning itself (pandas, SciPy) and rich are imported where they run, so that `tune --help`
# does not wait for them.
if TYPE_CHECKING:
    from rich.console import Console

    from shoprec.evaluation.tuning import TuningResult


def print_tuning(results: dict[str, TuningResult], console: Console | None = None) -> None:
    """One row per model: the chosen values, their validation metric, how many trials."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    metric = next(iter(results.values())).metric if results else ""
    table = Table(title=f"tuned on validation ({metric})")
    for column in ("model", "chosen", f"validation {metric}", "trials", "seconds"):
        table.add_column(column, justify="left" if column in ("model", "chosen") else "right")
    for name, result in results.items():
        chosen = ", ".join(f"{k}={v}" for k, v in result.params.items()) or "(defaults)"
        seconds = sum(t.seconds for t in result.trials)
        table.add_row(name, chosen, f"{result.value:.4f}", str(len(result.trials)), f"{seconds:.1f}")
    console.print(table)


@click.command("tune")
@run_options
@workspace_option
@click.option("--models", "model_names", default="all", show_default=True, help="Comma-separated model names, or 'all'.")
@click.option("--param", "params", multiple=True, metavar="MODEL.NAME=VALUE", help="Hold a hyperparameter at this value (not searched).")
@split_flags
@tuning_flags
@click.option("--targets", help="Event types that count as relevant (default: all but remove_from_cart and search).")
@click.option("--include-seen", is_flag=True, help="Do not exclude items a user had in train from their recommendations.")
@json_result_options(f"<workspace>/{TUNING_FILE}, which `train --params-from` reads")
def command(workspace: Path, model_names: str, params: tuple[str, ...], split: str, test_fraction: float | None,
            cutoff: str | None, last_n: int, ratio: float, by: str, seed: int, metric: str, max_trials: int | None,
            targets: str | None, include_seen: bool, as_json: str | None, json_out: Path | None) -> None:
    """Search each model's tuning space on a validation split carved from the train side of the chosen split."""
    from shoprec.data.store import load_events_dataset
    from shoprec.evaluation.splits import make_split
    from shoprec.evaluation.tuning import parse_metric, tune_models

    request = json_request(as_json, json_out)
    settings = model_settings(model_names, params)
    _, metric_k = parse_metric(metric)
    options = split_options(split, test_fraction, cutoff, last_n, ratio, by, seed)
    dataset, _ = load_events_dataset(workspace)
    outer = make_split(dataset, split, **options)
    # Only the train side goes in: the test side's events cannot reach any trial.
    results = tune_models(settings, outer.train, split, options, metric=metric, ks=(metric_k,),
                          targets=parse_list(targets) or None, max_trials=max_trials, exclude_seen=not include_seen)
    path = request.path or Path(workspace) / TUNING_FILE
    extra = {"split": {"method": outer.info["method"], "options": outer.info["options"]}}
    save_tuning(path, results, extra=extra)
    if request.print:  # this run's choices (the file may hold earlier runs' too), and nothing else on stdout
        click.echo(dumps({name: {**result.to_dict(), **extra} for name, result in results.items()}))
        progress.note(f"tuning: {path}")
        return
    print_tuning(results)
    click.echo(f"tuning: {path}")

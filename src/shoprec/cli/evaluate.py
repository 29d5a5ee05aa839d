"""`shoprec evaluate`: split the stored data, fit models on train, measure them on test.

With `--tune`, each model's key hyperparameters are first chosen on a validation split carved
from the split's train side (see `shoprec tune`), then the model is fitted with them on the whole
train side and measured on test. The chosen values go into the results JSON
(`results[model]["params"]`, and `tuning` with every trial) and into the report.

`--protocol item-to-item` measures "similar items" instead: one item in, the shopper's next
item in the session as the answer (shoprec.cli.evaluate_items, docs/evaluation.md).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shoprec import progress
from shoprec.cli import SPLITS, fusion_flags, run_options, split_flags, split_options, tuning_flags, workspace_option
from shoprec.cli.json_output import dumps, json_request, json_result_options
from shoprec.cli.options import parse_ks, parse_list
from shoprec.models.registry import create
from shoprec.tracking import Tracker, evaluation_record, mlflow_option
from shoprec.training.settings import model_settings

# The evaluation itself (pandas, SciPy, LightGBM) and rich are imported where they run, so that
# `evaluate --help` does not wait for them.
if TYPE_CHECKING:
    from rich.console import Console

    from shoprec.evaluation.runner import EvaluationResult
    from shoprec.evaluation.tuning import TuningResult
    from shoprec.ranking.fused import FusionRecommender

__all__ = ["SPLITS", "print_table", "run_evaluation", "split_options"]  # split_options: its old home, still importable
PRINTED_METRICS = ("ndcg", "recall", "precision", "map", "mrr", "hit_rate")


def run_evaluation(workspace: Path, model_names: str, params: tuple[str, ...], split: str, options: dict[str, Any],
                   ks: tuple[int, ...], targets: list[str] | None, exclude_seen: bool,
                   json_path: Path | None, report_path: Path | None, *, tune_metric: str | None = None,
                   max_trials: int | None = None, fusion: str = "all", fusion_members: str | None = None,
                   n_candidates: int | None = None, print_json: bool = False, stage: str = "engine",
                   diversity: str = "none") -> EvaluationResult:
    """Evaluate on the workspace's data and write the JSON and the report (default: a new run folder
    `<workspace>/reports/<run-id>/`, copied to `reports/evaluation.{json,html}` as the latest run's;
    shoprec.evaluation.report_runs). Where they went is in the result's `files`.

    With `tune_metric` (e.g. "ndcg@10"), each model is first tuned on a validation split carved
    from the split's train side, then fitted with the chosen values (see the module docstring).
    `n_candidates` is the candidates each fusion member contributes per user (None:
    shoprec.ranking.candidates.DEFAULT_N_CANDIDATES). With `print_json`, the JSON written is also
    printed on stdout (`--json`). `stage`: "engine" measures what the recommendation engine answers
    (exclusions, stock, `diversity`, the fallback chain), "model" each model's own top k.
    """
    from shoprec.data.store import load_events_dataset
    from shoprec.evaluation.report import write_report
    from shoprec.evaluation.runner import evaluate
    from shoprec.evaluation.splits import make_split
    from shoprec.evaluation.tuning import parse_metric, tune_models
    from shoprec.ranking.candidates import DEFAULT_N_CANDIDATES
    from shoprec.ranking.fused import fusion_name
    from shoprec.ranking.plan import choose_members, parse_methods
    from shoprec.ranking.plan import learn as learn_fusion

    if n_candidates is None:
        n_candidates = DEFAULT_N_CANDIDATES
    dataset, _ = load_events_dataset(workspace)
    settings = model_settings(model_names, params)
    methods = parse_methods(fusion)
    members = choose_members(list(settings), fusion_members) if methods else []
    for name, given in settings.items():
        create(name, **given)  # a bad name or value fails now, not after tuning the models before it
    the_split = make_split(dataset, split, **options)
    tuned: dict[str, TuningResult] = {}
    if tune_metric is not None:
        _, metric_k = parse_metric(tune_metric)
        # Only the train side goes in: no trial ever sees a test event.
        tuned = tune_models(settings, the_split.train, split, options, metric=tune_metric, ks=(metric_k,),
                            targets=targets, max_trials=max_trials, exclude_seen=exclude_seen)
        settings = {name: result.params for name, result in tuned.items()}
    from shoprec.ranking.rules import RuleSettings

    rules = RuleSettings(exclude_event_types=None if exclude_seen else (), diversity=diversity)
    models = {name: create(name, **given) for name, given in settings.items()}
    result = evaluate(models, the_split, ks=ks, target_event_types=targets, exclude_seen=exclude_seen, stage=stage,
                      rules=rules)
    fused: dict[str, FusionRecommender] = {}
    if len(members) >= 2:
        # Learned on a validation carve of the train side only; the members are the models just fitted on it.
        learning, seconds = learn_fusion(methods, settings, {name: models[name] for name in members}, the_split.train,
                                         split, options, targets=targets, exclude_seen=exclude_seen, n_candidates=n_candidates)
        fused = {fusion_name(method): entry for method, entry in learning.fusions.items()}
        result.merge(evaluate(fused, the_split, ks=ks, target_event_types=targets, exclude_seen=exclude_seen,
                              prefitted=list(fused), stage=stage, rules=rules, engine_models=models))
        for name in fused:
            result.results[name]["train_seconds"] = seconds  # validation fits and learning, shared by every method
        result.fusion = {**learning.to_dict(), "members": members, "best_on_validation": learning.best(),
                         "learning_seconds": seconds}
    elif methods and len(settings) >= 2:
        progress.note("fusion needs at least two member models besides random; skipped")
    if tuned:
        result.split["tuning"] = {"metric": tune_metric, "on": "validation carved from train, same protocol",
                                  "chosen": {name: tuning.params for name, tuning in tuned.items()}}
        for name, tuning in tuned.items():
            result.models[name] += f"  (tuned on validation: {tuning.metric} = {tuning.value:.4f}, {len(tuning.trials)} trials)"
    from shoprec.evaluation.background import REPORT, RESULTS
    from shoprec.evaluation.report_runs import new_run_dir, publish_latest

    run_dir = new_run_dir(workspace) if json_path is None or report_path is None else None
    json_path = json_path or run_dir / RESULTS  # type: ignore[operator]
    report_path = report_path or run_dir / REPORT  # type: ignore[operator]
    written = result.to_dict()
    for name, model in models.items():
        written["results"][name]["params"] = model.get_params()  # every hyperparameter, chosen or default
    for name, entry in fused.items():
        written["results"][name]["params"] = {**entry.get_params(), "learned_weights": entry.fusion_weights_}
    if tuned:
        written["tuning"] = {name: tuning.to_dict() for name, tuning in tuned.items()}
    text = dumps(written)
    Path(json_path).write_text(text + "\n", encoding="utf-8")
    write_report(result, report_path)
    result.files = {"json": Path(json_path), "report": Path(report_path)}
    if run_dir is not None:
        publish_latest(run_dir, [path.name for path in result.files.values() if path.parent == run_dir])
        result.files["run"] = run_dir
    if print_json:
        click.echo(text)
    return result


def print_table(result: EvaluationResult, console: Console | None = None) -> None:
    """One row per model: the accuracy metrics at each K and train seconds (the JSON and the
    report hold every metric, coverage, novelty and diversity included)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 200)
    split = result.split
    table = Table(title=f"{split.get('method', '')} split: {split.get('n_evaluated_users', '?')} users evaluated, "
                        f"{result.stage} stage")
    table.add_column("model")
    keys = [f"{m}@{k}" for k in result.ks for m in PRINTED_METRICS if any(f"{m}@{k}" in r for r in result.results.values())]
    for key in keys:
        table.add_column(key, justify="right")
    table.add_column("train s", justify="right")
    for name, metrics in result.results.items():
        table.add_row(name, *[_fmt(metrics.get(key)) for key in keys], _fmt(metrics.get("train_seconds"), 2))
    console.print(table)


def _fmt(value: object, digits: int = 4) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"  # value != value: NaN


@click.command("evaluate")
@run_options
@workspace_option
@click.option("--protocol", type=click.Choice(["user", "item-to-item"]), default="user", show_default=True,
              help="user: each test shopper's recommendations from their train history; item-to-item: similar items, "
                   "one item in, the shopper's next item in the session as the answer (temporal split only; it refuses "
                   "--tune, --fusion*, --candidates, --stage, --diversity, --include-seen, --report; JSON only).")
@click.option("--models", "model_names", default=None,
              help="Comma-separated model names, or 'all' [default: all; item-to-item: popularity,itemknn,content,similar_items].")
@click.option("--param", "params", multiple=True, metavar="MODEL.NAME=VALUE", help="A hyperparameter for one model.")
@split_flags
@click.option("--k", "k_text", default="10,20", show_default=True, help="Cut-offs, comma-separated.")
@click.option("--targets", help="Event types that count as relevant (default: all but remove_from_cart, search and return); "
                             "item-to-item: those that make pairs.")
@click.option("--include-seen", is_flag=True, help="Do not exclude items a user had in train from their recommendations.")
@click.option("--stage", type=click.Choice(["engine", "model"]), default="engine", show_default=True,
              help="engine: what a shopper is shown (exclusions, stock, diversity, fallbacks); model: each model's own top k.")
@click.option("--diversity", type=click.Choice(["none", "cap", "mmr"]), default="none", show_default=True,
              help="With --stage engine: the diversity re-rank the engine applies.")
@json_result_options("<workspace>/reports/<run-id>/evaluation.json, copied to reports/evaluation.json")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML report here (default: <workspace>/reports/<run-id>/evaluation.html, copied to reports/evaluation.html).")
@click.option("--tune", is_flag=True, help="Choose each model's key hyperparameters on a validation split carved from train first.")
@tuning_flags
@fusion_flags
@click.option("--gap-minutes", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="item-to-item: inactivity that ends a session (so does a change of the shop's session id).")
@click.option("--max-pairs", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="item-to-item: measure a seeded sample of at most this many pairs.")
@click.option("--pair-seed", type=int, default=42, show_default=True, help="item-to-item: the seed of that sample.")
@mlflow_option
@click.pass_context
def command(ctx: click.Context, workspace: Path, protocol: str, model_names: str | None, params: tuple[str, ...],
            split: str, test_fraction: float | None, cutoff: str | None, last_n: int, ratio: float, by: str, seed: int, k_text: str, targets: str | None,
            include_seen: bool, as_json: str | None, json_out: Path | None, report_path: Path | None, tune: bool,
            metric: str, max_trials: int | None, fusion: str, fusion_members: str | None, n_candidates: int,
            stage: str = "engine", diversity: str = "none", gap_minutes: float = 30.0, max_pairs: int = 20_000,
            pair_seed: int = 42, mlflow_uri: str | None = None) -> None:
    """Measure models offline: precision, recall, MAP, NDCG, MRR, hit rate, coverage, novelty, diversity."""
    from shoprec.cli.evaluate_items import check_protocol_options

    check_protocol_options(ctx, protocol, split)
    request = json_request(as_json, json_out)
    tracker = Tracker.open(mlflow_uri)  # before any work: a missing extra or a bad URI fails now
    options = split_options(split, test_fraction, cutoff, last_n, ratio, by, seed)
    if protocol == "item-to-item":
        _item_to_item(workspace, model_names, params, options, parse_ks(k_text), parse_list(targets) or None,
                      gap_minutes, max_pairs, pair_seed, request.path, request.print, tracker)
        return
    result = run_evaluation(workspace, model_names or "all", params, split, options, parse_ks(k_text),
                            parse_list(targets) or None, not include_seen, request.path, report_path,
                            tune_metric=metric if tune else None, max_trials=max_trials, fusion=fusion,
                            fusion_members=fusion_members, n_candidates=n_candidates, print_json=request.print,
                            stage=stage, diversity=diversity)
    json_path, report_path = result.files["json"], result.files["report"]
    if tracker is not None:  # the JSON as written: the run's params and metrics are its values
        import json

        document = json.loads(Path(json_path).read_text(encoding="utf-8"))
        tracker.log("evaluate", evaluation_record(document, [json_path, report_path]))
    if request.print:  # stdout holds the JSON alone
        progress.note(f"json: {json_path}, report: {report_path}")
        return
    print_table(result)
    if result.fusion:
        click.echo(f"best on validation: {result.fusion['best_on_validation']}")
        for method, weights in result.fusion.get("weights", {}).items():
            click.echo(f"learned {method} weights: {', '.join(f'{k}={v:.3f}' for k, v in weights.items())}")
    for name, chosen in result.split.get("tuning", {}).get("chosen", {}).items():
        click.echo(f"tuned {name}: {', '.join(f'{k}={v}' for k, v in chosen.items()) or '(defaults)'}")
    click.echo(f"json: {json_path}")
    click.echo(f"report: {report_path}")
    if "run" in result.files:
        click.echo(f"latest: {result.files['run'].parent / report_path.name} (the storefront's /report page)")


def _item_to_item(workspace: Path, model_names: str | None, params: tuple[str, ...], options: dict[str, Any],
                  ks: tuple[int, ...], targets: list[str] | None, gap_minutes: float, max_pairs: int, seed: int,
                  json_path: Path | None, print_json: bool, tracker: Tracker | None) -> None:
    from shoprec.cli.evaluate_items import print_item_tables, run_item_to_item

    result = run_item_to_item(workspace, model_names, params, options, ks, targets, gap_minutes=gap_minutes,
                              max_pairs=max_pairs, seed=seed, json_path=json_path, print_json=print_json)
    written = result.files["json"]
    if tracker is not None:
        import json

        record = evaluation_record(json.loads(written.read_text(encoding="utf-8")), [written])
        record.params["protocol"] = "item-to-item"
        tracker.log("evaluate", record)
    if print_json:
        progress.note(f"json: {written}")
        return
    print_item_tables(result)
    click.echo(f"json: {written}")

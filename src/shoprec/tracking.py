"""Optional MLflow tracking of `shoprec train` and `shoprec evaluate` (`--mlflow URI`, or $SHOPREC_MLFLOW_URI).

Each command logs one run, after its work is done, into the experiment $SHOPREC_MLFLOW_EXPERIMENT
(default `shoprec`): params (models and their hyperparameters, the split and its options...),
metrics (validation and test numbers), tags (bundle version, data counts) and artifacts (the
command's JSON, the evaluation report, the bundle manifest). The values are the command's own JSON
output, renamed where MLflow's rules want it: `ndcg@10` becomes `ndcg_at_10`, and a model's number
is `MODEL/NAME` (`itemknn/ndcg_at_10`); a model's hyperparameter is `MODEL.NAME`.

MLflow is the `mlflow` extra (`mlflow-skinny`: a tracking server over HTTP, or a folder). It is
imported only when `--mlflow` is given; without it, `--mlflow` is one clear error before any work.
A folder (`file:///path`, or a plain path) is MLflow's file store, which MLflow 3 keeps only behind
MLFLOW_ALLOW_FILE_STORE: naming one with `--mlflow` sets that (unless already set).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from shoprec import progress
from shoprec.errors import ConfigError, ShoprecError

URI_ENV = "SHOPREC_MLFLOW_URI"
EXPERIMENT_ENV = "SHOPREC_MLFLOW_EXPERIMENT"
DEFAULT_EXPERIMENT = "shoprec"
INSTALL = "pip install 'shoprec[mlflow]'"
F = TypeVar("F", bound=Callable[..., Any])


def mlflow_option(func: F) -> F:
    """`--mlflow URI` (default $SHOPREC_MLFLOW_URI), read by `Tracker.open`."""
    return click.option("--mlflow", "mlflow_uri", metavar="URI", envvar=URI_ENV, show_envvar=True,
                        help="Log this run to MLflow: a tracking server (http://host:5000) or a folder "
                             f"(file:///path/mlruns). Needs the mlflow extra: {INSTALL}.")(func)


@dataclass
class Record:
    """What one run logs."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)  # artifact file name -> JSON document
    files: list[Path] = field(default_factory=list)  # artifacts copied as they are


class Tracker:
    """An MLflow experiment to log runs into (`open` it before the command's work, so that a missing
    extra or a bad URI fails early; `log` a run after it)."""

    def __init__(self, client: Any, experiment_id: str, uri: str) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.uri = uri
        self.started_ms = int(time.time() * 1000)

    @classmethod
    def open(cls, uri: str | None, experiment: str | None = None) -> Tracker | None:
        """The tracker for `uri`; None when `uri` is None or empty (no tracking asked for)."""
        if not uri:
            return None
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise ConfigError(f"--mlflow needs MLflow, which is not installed: {INSTALL}") from exc
        if is_file_store(uri):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        name = experiment or os.environ.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT
        # A server that does not answer is an error in seconds here, not after MLflow's minutes of
        # retries (which logging the run at the end keeps). The user's own settings win.
        with _mlflow_errors(uri), _env_default(MLFLOW_HTTP_REQUEST_MAX_RETRIES="1", MLFLOW_HTTP_REQUEST_TIMEOUT="20"):
            client = MlflowClient(tracking_uri=uri)
            found = client.get_experiment_by_name(name)
            experiment_id = found.experiment_id if found is not None else client.create_experiment(name)
        return cls(client, experiment_id, uri)

    def log(self, run_name: str, record: Record) -> str:
        """Log `record` as a finished run named `run_name`, started when the tracker was opened; its id."""
        from mlflow.entities import Metric, Param, RunTag

        with _mlflow_errors(self.uri):
            run = self.client.create_run(self.experiment_id, start_time=self.started_ms, run_name=run_name)
            run_id = run.info.run_id
            try:
                now = int(time.time() * 1000)
                metrics = [Metric(key, value, now, 0) for key, value in record.metrics.items()]
                params = [Param(key, value) for key, value in record.params.items()]
                tags = [RunTag(key, value) for key, value in record.tags.items()]
                for metric_chunk in _chunks(metrics, 1000):  # MLflow's limits per batch
                    self.client.log_batch(run_id, metrics=metric_chunk)
                for param_chunk in _chunks(params, 100):
                    self.client.log_batch(run_id, params=param_chunk)
                for tag_chunk in _chunks(tags, 100):
                    self.client.log_batch(run_id, tags=tag_chunk)
                for name, document in record.documents.items():
                    self.client.log_dict(run_id, document, name)
                for path in record.files:
                    if Path(path).is_file():
                        self.client.log_artifact(run_id, str(path))
            except BaseException:
                self.client.set_terminated(run_id, "FAILED")
                raise
            self.client.set_terminated(run_id, "FINISHED")
        progress.note(f"MLflow: run {run_id} in experiment {self.experiment_id} at {self.uri}")
        return str(run_id)


def train_record(summary: Mapping[str, Any], models: Sequence[str], *, split: str | None = None,
                 split_options: Mapping[str, Any] | None = None, fusion: str | None = None,
                 engine: str = "local") -> Record:
    """The run of `shoprec train`, from the summary `train --json` prints."""
    record = Record()
    record.params["models"] = ",".join(models)
    record.params["engine"] = engine
    for model, chosen in summary.get("params", {}).items():
        record.params.update(_flat(chosen, f"{model}."))
    if split is not None:  # the validation split fusion learns on
        record.params["split"] = split
        record.params.update(_flat(split_options or {}, "split."))
    if fusion is not None:
        record.params["fusion"] = fusion
    for entry, value in summary.get("validation_ndcg@10", {}).items():
        _put_metric(record.metrics, f"{entry}/validation_ndcg@10", value)
    for entry, value in summary.get("train_seconds", {}).items():
        _put_metric(record.metrics, f"{entry}/train_seconds", value)
    record.tags.update({"shoprec.command": "train", "shoprec.bundle": Path(summary["bundle"]).name,
                        "shoprec.default_model": str(summary.get("default_model"))})
    record.tags.update(_data_tags(summary.get("data", {}), "shoprec.data."))
    record.documents["train.json"] = dict(summary)
    manifest = Path(summary["bundle"]) / "manifest.json"
    record.files.append(manifest)
    return record


def evaluation_record(document: Mapping[str, Any], files: Iterable[Path] = ()) -> Record:
    """The run of `shoprec evaluate`, from the JSON it writes (and prints with --json)."""
    record = Record(files=list(files))
    results: Mapping[str, Mapping[str, Any]] = document.get("results", {})
    split: Mapping[str, Any] = document.get("split", {})
    record.params["models"] = ",".join(results)
    for model, numbers in results.items():
        record.params.update(_flat(numbers.get("params", {}), f"{model}."))
        for name, value in numbers.items():
            _put_metric(record.metrics, f"{model}/{name}", value)
    for model, numbers in document.get("model_stage", {}).items():
        for name, value in numbers.items():
            _put_metric(record.metrics, f"{model}/model_stage/{name}", value)
    record.params["split"] = str(split.get("method"))
    record.params.update(_flat(split.get("options", {}), "split."))
    for key in ("ks", "target_event_types", "exclude_seen", "stage"):
        if key in split:
            record.params[key] = _param(split[key])
    tuning = split.get("tuning")
    if tuning:
        record.params["tuning.metric"] = str(tuning.get("metric"))
    record.tags["shoprec.command"] = "evaluate"
    dataset: Mapping[str, Any] = document.get("dataset", {})
    record.tags.update(_data_tags(dataset, "shoprec.data."))
    for side in ("train", "test"):
        record.tags.update(_data_tags(dataset.get(side, {}), f"shoprec.data.{side}."))
    for key in ("n_test_users", "n_evaluated_users", "n_skipped_users", "n_cold_users"):
        if key in split:
            record.tags[f"shoprec.split.{key}"] = str(split[key])
    best = document.get("fusion", {}).get("best_on_validation")
    if best:
        record.tags["shoprec.fusion.best_on_validation"] = str(best)
    return record


def is_file_store(uri: str) -> bool:
    """Whether `uri` names MLflow's file store (a folder) rather than a server or a database."""
    if uri == "databricks":
        return False
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", uri)
    return scheme is None or scheme.group(1).lower() == "file" or len(scheme.group(1)) == 1  # C:\\ on Windows


def metric_name(name: str) -> str:
    """A name MLflow takes: `@` spelled `_at_`, any other character it refuses replaced with `_`."""
    return re.sub(r"[^\w\-. :/]", "_", name.replace("@", "_at_"))


def _put_metric(metrics: dict[str, float], name: str, value: Any) -> None:
    """Numbers only: None (a metric NaN in the JSON), booleans, texts and nested values are left out."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return
    metrics[metric_name(name)] = float(value)


def _flat(values: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Nested mappings as `prefix.key.sub` params."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[metric_name(f"{prefix}{key}")] = _param(value)
    return out


def _param(value: Any) -> str:
    """A param's text: a string as it is, anything else as JSON (`true`, `null`, `[10, 20]`)."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _data_tags(data: Mapping[str, Any], prefix: str) -> dict[str, str]:
    return {f"{prefix}{key}": str(data[key]) for key in ("users", "items", "events", "first_event", "last_event")
            if key in data}


@contextmanager
def _env_default(**values: str) -> Iterator[None]:
    """Environment variables set for the block, those the user did not set."""
    added = [name for name in values if name not in os.environ]
    os.environ.update({name: values[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    return (items[i:i + size] for i in range(0, len(items), size))


class _mlflow_errors:
    """MLflow's own errors (a refused value, an unreachable server) as one ShoprecError line."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, ShoprecError) or not isinstance(exc, Exception):
            return
        if type(exc).__module__.split(".")[0] in ("mlflow", "requests", "urllib3") or isinstance(exc, OSError):
            message = getattr(exc, "message", None) or str(exc)
            raise ShoprecError(f"MLflow at {self.uri}: {message}") from exc

"""shoprec.tracking: `--mlflow URI` on train and evaluate, one run each in a local MLflow file store, whose params and
metrics are the command's own JSON output; without the extra, one clear error before any work."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store
from shoprec.errors import ConfigError
from shoprec.tracking import is_file_store, metric_name


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    store = Store(tmp_path / "ws")
    try:
        generate_into_store(store, 80, 40, 1500, 3, "en", 30, "2024-09-01")
    finally:
        store.close()
    return tmp_path / "ws"


def _runs(uri: str, command: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("shoprec")
    assert experiment is not None
    return [run for run in client.search_runs([experiment.experiment_id]) if run.data.tags["shoprec.command"] == command]


def _param(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def test_train_and_evaluate_log_a_run_each_with_their_json_values(workspace: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow", reason="MLflow is the mlflow extra (pip install 'shoprec[mlflow]'); in dev too")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # --mlflow sets it for a folder: undone after
    monkeypatch.delenv("SHOPREC_MLFLOW_EXPERIMENT", raising=False)
    uri = (tmp_path / "mlruns").as_uri()
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", "-q", "--workspace", str(workspace), "--models", "popularity,itemknn",
                                  "--param", "itemknn.neighbours=15", "--fusion", "rrf", "--json", "--mlflow", uri])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    [run] = _runs(uri, "train")
    assert run.info.status == "FINISHED" and run.info.run_name == "train"
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["models"] == "popularity,itemknn" and params["fusion"] == "rrf" and params["split"] == "temporal"
    assert params["itemknn.neighbours"] == "15" and params["split.test_fraction"] == "0.2"
    assert summary["validation_ndcg@10"]  # two members and rrf: measured on validation
    for entry, value in summary["validation_ndcg@10"].items():
        assert metrics[f"{entry}/validation_ndcg_at_10"] == value
    for entry, value in summary["train_seconds"].items():
        assert metrics[f"{entry}/train_seconds"] == value
    assert tags["shoprec.bundle"] == Path(summary["bundle"]).name
    assert tags["shoprec.default_model"] == summary["default_model"]
    assert tags["shoprec.data.events"] == str(summary["data"]["events"]) and tags["shoprec.data.users"] == str(summary["data"]["users"])
    client = MlflowClient(tracking_uri=uri)
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"train.json", "manifest.json"}

    # The experiment from $SHOPREC_MLFLOW_URI, as a plain folder path (the file store too).
    monkeypatch.setenv("SHOPREC_MLFLOW_URI", str(tmp_path / "mlruns"))
    evaluated = runner.invoke(cli, ["evaluate", "-q", "--workspace", str(workspace), "--models", "popularity,itemknn",
                                    "--fusion", "none", "--k", "5,10", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    document = json.loads(evaluated.stdout)
    [run] = _runs(uri, "evaluate")
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["models"] == "popularity,itemknn" and params["split"] == document["split"]["method"]
    assert params["ks"] == "[5, 10]" and params["stage"] == "engine"
    numbers = 0
    for model, results in document["results"].items():
        for key, value in results["params"].items():
            assert params[f"{model}.{key}"] == _param(value)
        for key, value in results.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert metrics[f"{model}/{metric_name(key)}"] == value
                numbers += 1
            elif value is None:
                assert f"{model}/{metric_name(key)}" not in metrics  # a NaN metric is left out
    assert numbers >= 2 * 2 * 9  # two models, two cut-offs, nine metrics each (and the seconds)
    assert metrics["itemknn/ndcg_at_10"] == document["results"]["itemknn"]["ndcg@10"]
    for model, results in document["model_stage"].items():
        for key, value in results.items():
            if isinstance(value, float):
                assert metrics[f"{model}/model_stage/{metric_name(key)}"] == value
    assert tags["shoprec.data.events"] == str(document["dataset"]["events"])
    assert tags["shoprec.data.test.events"] == str(document["dataset"]["test"]["events"])
    artifacts = {a.path for a in MlflowClient(tracking_uri=uri).list_artifacts(run.info.run_id)}
    assert artifacts == {"evaluation.json", "evaluation.html"}


def test_without_the_extra_mlflow_is_one_clear_error_before_any_work(workspace: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow...` raises ImportError
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    for command in ("train", "evaluate"):
        result = CliRunner().invoke(cli, [command, "-q", "--workspace", str(workspace), "--models", "popularity",
                                          "--mlflow", (tmp_path / "mlruns").as_uri()])
        assert isinstance(result.exception, ConfigError), result.output
        assert "pip install 'shoprec[mlflow]'" in str(result.exception)
    assert not (workspace / "bundles").exists() and not (workspace / "reports").exists()  # nothing ran


def test_which_uris_are_a_file_store() -> None:
    assert is_file_store("file:///tmp/mlruns") and is_file_store("./mlruns") and is_file_store("/abs/mlruns")
    assert not is_file_store("http://localhost:5000") and not is_file_store("sqlite:///mlflow.db")
    assert not is_file_store("databricks")
    assert metric_name("ndcg@10") == "ndcg_at_10" and metric_name("fusion:rrf/hit_rate@5") == "fusion:rrf/hit_rate_at_5"

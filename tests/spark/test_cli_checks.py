"""What `shoprec train --engine spark` refuses, and the error without pyspark (no Spark started here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoprec.cli import cli
from shoprec.errors import ConfigError
from shoprec.spark import require_pyspark


def train(workspace: Path, *args: str) -> BaseException | None:
    result = CliRunner().invoke(cli, ["train", "--workspace", str(workspace), "--engine", "spark", *args])
    assert result.exit_code != 0
    return result.exception


def test_models_spark_cannot_train_are_refused_with_those_it_can(tmp_path: Path) -> None:
    error = train(tmp_path, "--models", "ials,ease,sasrec")
    assert isinstance(error, ConfigError)
    assert "cannot train ease, sasrec" in str(error)
    assert "trains ials, itemknn, itemknn_bm25, popularity" in str(error)


def test_tuning_is_refused_with_the_way_to_tune_for_spark(tmp_path: Path) -> None:
    error = train(tmp_path, "--models", "ials", "--tune")
    assert isinstance(error, ConfigError) and "--params-from" in str(error)


def test_default_model_must_be_one_spark_trains(tmp_path: Path) -> None:
    error = train(tmp_path, "--models", "ials", "--default-model", "popularity")
    assert isinstance(error, ConfigError) and "--default-model popularity" in str(error)


def test_without_pyspark_the_error_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now fails as if it were missing
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[spark\]'"):
        require_pyspark()
    error = train(tmp_path, "--models", "popularity")
    assert isinstance(error, ConfigError) and "pip install -e '.[spark]'" in str(error)


def test_spark_settings_are_key_value_pairs(tmp_path: Path) -> None:
    from shoprec.cli.train_spark import parse_conf

    assert parse_conf(("spark.driver.memory=8g", " spark.sql.shuffle.partitions = 64 ")) == {
        "spark.driver.memory": "8g", "spark.sql.shuffle.partitions": "64"}
    error = train(tmp_path, "--models", "ials", "--spark-conf", "spark.driver.memory")
    assert isinstance(error, ConfigError) and "KEY=VALUE" in str(error) and "'spark.driver.memory'" in str(error)


def test_a_run_gets_a_checkpoint_folder_in_the_workspace_and_leaves_nothing_there(tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    from shoprec.spark.train import checkpoints

    class Context:  # what checkpoints() uses of a SparkContext; like Spark, a folder of its own inside
        folder: str | None = None

        def getCheckpointDir(self) -> str | None:  # noqa: N802 - Spark's name
            return self.folder

        def setCheckpointDir(self, path: str) -> None:  # noqa: N802 - Spark's name
            self.folder = f"file:{path}/run-0001"
            Path(path, "run-0001").mkdir(parents=True)

    class Session:
        sparkContext = Context()

    session = Session()
    with checkpoints(session, tmp_path):  # type: ignore[arg-type]
        assert session.sparkContext.folder == f"file:{tmp_path}/tmp/spark-checkpoints/run-0001"
        (tmp_path / "tmp" / "spark-checkpoints" / "run-0001" / "rdd-1").write_text("lineage")
    assert list((tmp_path / "tmp" / "spark-checkpoints").iterdir()) == []
    with checkpoints(session, tmp_path / "elsewhere"):  # a session that has a folder keeps it
        assert session.sparkContext.folder.endswith("spark-checkpoints/run-0001")
    assert not (tmp_path / "elsewhere").exists()

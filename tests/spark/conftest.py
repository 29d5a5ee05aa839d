"""Spark in local mode for the tests of shoprec.spark: one session (local[2], 4 shuffle partitions,
no UI) and one small synthetic shop, shared by every test here. Skipped, saying why, without pyspark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoprec.cli.generate import generate_into_store
from shoprec.data.store import Store

SKIP_REASON = "pyspark is not installed: pip install -e '.[spark]' (the dev extra includes it)"
# Small enough for seconds per Spark job on two cores, large enough for ALS to beat popularity.
SHOP = {"users": 800, "items": 300, "events": 30_000, "seed": 7, "lang": "en", "days": 60, "start": "2024-09-01"}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The shared local SparkSession (stopped at the end of the run)."""
    pytest.importorskip("pyspark", reason=SKIP_REASON)
    from shoprec.spark.session import build_session

    session = build_session("local[2]", {"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
                                         "spark.driver.memory": "1g"})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def shop_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the synthetic shop SHOP (tests must not change it)."""
    workspace = tmp_path_factory.mktemp("spark-shop")
    store = Store(workspace)
    try:
        generate_into_store(store, **SHOP)
    finally:
        store.close()
    return workspace

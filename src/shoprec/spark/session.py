"""The SparkSession that `shoprec train --engine spark` runs on, from `--master` and a few settings."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from pyspark.sql import SparkSession

from shoprec.errors import ConfigError

APP_NAME = "shoprec train"
# Times are read and bucketed (hour of day, weekday) in UTC, as the local engine does, whatever
# the machine's time zone.
DEFAULT_CONFIG: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    # Per-item results (scores, neighbours) come back to the driver as Arrow batches.
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# In local mode the driver is the executor too; Spark's default heap (1g) ran out in item-kNN's
# co-occurrence aggregation at 10 million events (docs/benchmarks.md). `--spark-conf` overrides it.
DRIVER_MEMORY = "spark.driver.memory"
LOCAL_DRIVER_MEMORY = "4g"
# ALS's RDD lineage is serialised recursively: without a checkpoint folder (a test's session, a
# caller's own) 15 iterations overflowed the default thread stack in task serialisation.
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
LOCAL_THREAD_STACK = "-Xss64m"
# Set by spark-submit (and pyspark shells) when the JVM is already started: the master and
# settings given to spark-submit then apply, not --master.
SUBMITTED = "PYSPARK_GATEWAY_PORT"


def build_session(master: str | None = "local[*]", config: Mapping[str, str] | None = None) -> SparkSession:
    """A SparkSession on `master` (`local[N]`, `spark://host:7077`, `yarn`, ...) with `config` on top
    of DEFAULT_CONFIG. Under spark-submit, spark-submit's master wins and `master` is ignored."""
    builder = SparkSession.builder.appName(APP_NAME)
    settings = {**DEFAULT_CONFIG, **(config or {})}
    if master and SUBMITTED not in os.environ:
        builder = builder.master(master)
        if master.startswith("local"):
            settings = {DRIVER_MEMORY: LOCAL_DRIVER_MEMORY, DRIVER_JAVA_OPTIONS: LOCAL_THREAD_STACK, **settings}
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j and pyspark raise several kinds; all mean Spark did not start
        raise ConfigError(
            f"could not start Spark with master {master!r}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r} "
            "(Spark needs Java 17 or later on PATH or in JAVA_HOME)"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    _size_local_shuffles(session, config or {})
    return session


def _size_local_shuffles(session: SparkSession, config: Mapping[str, str]) -> None:
    """In local mode, two shuffle partitions per core unless configured: Spark's default of 200 made
    every shuffle on a 100,000-event shop on 2 cores take seconds (training 4x slower in all)."""
    key = "spark.sql.shuffle.partitions"
    context = session.sparkContext
    if (context.master or "").startswith("local") and key not in config and not context.getConf().contains(key):
        session.conf.set(key, str(2 * context.defaultParallelism))


@contextmanager
def spark_session(master: str | None = "local[*]", config: Mapping[str, str] | None = None) -> Iterator[SparkSession]:
    """A session for one training run: an already active one (a notebook's, a test's) is used and
    left running; one started here is stopped at the end."""
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    session = build_session(master, config)
    try:
        yield session
    finally:
        session.stop()

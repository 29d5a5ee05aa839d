"""`shoprec train --engine spark`: fit the models Spark trains and write the usual bundle.

The store is read once (shoprec.spark.prepare), the interaction table built once and kept in
Spark's cache, then each model is fitted on Spark and turned into the local engine's class, and
the cold-start context popularity is counted on Spark as well. The bundle is written by
`shoprec.bundle.write_bundle`, as the local engine writes it. Fusion entries are not learned (they
need every member fitted again on a validation split, which is local work): the caller says so.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from shoprec.bundle import new_bundle_folder, write_bundle
from shoprec.data.store import Store
from shoprec.errors import ConfigError
from shoprec.models.base import Recommender
from shoprec.models.ials import IALSRecommender
from shoprec.models.itemknn import ItemKNNRecommender
from shoprec.models.popularity import PopularityRecommender
from shoprec.models.registry import create
from shoprec.models.similar_items import SimilarItemsRecommender
from shoprec.ranking.cold_start import ContextPopularity
from shoprec.ranking.engine import CONTEXT_POPULARITY, SIMILAR_ITEMS
from shoprec.retrieval.indexes import publish_indexes
from shoprec.spark import SPARK_MODELS, check_spark_models
from shoprec.spark.als import fit_ials
from shoprec.spark.counts import fit_context_popularity, fit_itemknn, fit_popularity
from shoprec.spark.prepare import SparkSnapshot, interactions, read_store
from shoprec.spark.session import spark_session
from shoprec.spark.similar import fit_similar_items


def fit_on_spark(model: Recommender, snapshot: SparkSnapshot, table: DataFrame,
                 catalogue: Callable[[], pd.DataFrame] | None = None, fitted_models: Iterable[Recommender] = ()) -> Recommender:
    """`model` fitted on Spark from the snapshot's events or its interaction table `table`
    (`catalogue` gives the store's items table, for the models that read item content;
    `fitted_models`, those fitted before, whose state a model may share)."""
    if isinstance(model, SimilarItemsRecommender):
        if catalogue is None:
            raise ConfigError("similar_items on Spark needs the catalogue (the store's items table)")
        return fit_similar_items(snapshot, table, catalogue(), model, fitted_models)
    if isinstance(model, IALSRecommender):
        return fit_ials(snapshot, table, model)
    if isinstance(model, ItemKNNRecommender):
        return fit_itemknn(snapshot, table, model)
    if isinstance(model, PopularityRecommender):
        return fit_popularity(snapshot, model)
    raise ConfigError(f"--engine spark cannot train a {type(model).__name__}; it trains {', '.join(SPARK_MODELS)}")


def train_bundle(spark: SparkSession, workspace: Path, settings: Mapping[str, Mapping[str, Any]],
                 default_model: str | None = None, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fit the models named in `settings` (name -> hyperparameters) on Spark from the workspace's
    store and write a new current bundle (`metrics` goes into its manifest); returns the summary
    `shoprec train` prints."""
    check_spark_models(list(settings))
    models = {name: create(name, **params) for name, params in settings.items()}
    if SIMILAR_ITEMS not in models:  # as local training: what item pages answer with; not a default
        models[SIMILAR_ITEMS] = create(SIMILAR_ITEMS)
    snapshot, store_version = read_store(spark, workspace)
    table = interactions(snapshot).persist()
    seconds: dict[str, float] = {}
    bundle_models: dict[str, Recommender] = {}
    # Similar items after the others: it borrows a fitted item-kNN's neighbours when the settings match.
    ordered = sorted(models.items(), key=lambda entry: isinstance(entry[1], SimilarItemsRecommender))
    for name, model in [*ordered, (CONTEXT_POPULARITY, ContextPopularity())]:
        started = time.perf_counter()
        bundle_models[name] = (fit_context_popularity(snapshot, model) if isinstance(model, ContextPopularity)
                               else fit_on_spark(model, snapshot, table, lambda: _catalogue(workspace),
                                                 list(bundle_models.values())))
        seconds[name] = time.perf_counter() - started
    table.unpersist()
    snapshot.events.unpersist()
    preferred = default_model or ("popularity" if "popularity" in models else next(iter(models)))
    engine = {"engine": "spark", "spark_master": spark.sparkContext.master, "spark_version": spark.version}
    folder = new_bundle_folder(workspace)
    path = write_bundle(workspace, bundle_models, snapshot, default_model=preferred, train_seconds=seconds,
                        data_snapshot={"store_manifest_version": store_version, **engine}, metrics=metrics,
                        folder=folder, ann=publish_indexes(folder, bundle_models))
    return {"bundle": str(path), "default_model": preferred, "data": snapshot.summary(), **engine,
            "train_seconds": {k: round(v, 3) for k, v in seconds.items()},
            "params": {name: dict(params) for name, params in settings.items()}}


def _catalogue(workspace: Path) -> pd.DataFrame:
    store = Store(workspace)
    try:
        return store.items()
    finally:
        store.close()


def run(workspace: Path, settings: Mapping[str, Mapping[str, Any]], *, master: str | None = "local[*]",
        default_model: str | None = None, metrics: dict[str, Any] | None = None,
        config: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`train_bundle` on a session for `master` (stopped afterwards unless one was already active)."""
    check_spark_models(list(settings))
    with spark_session(master, config) as spark, checkpoints(spark, workspace):
        return train_bundle(spark, workspace, settings, default_model, metrics)


@contextmanager
def checkpoints(spark: SparkSession, workspace: Path) -> Iterator[None]:
    """A checkpoint folder for the run, unless the session has one: ALS cuts its RDD lineage there
    every few iterations. Without it, 15 iterations on 10 million events ended in a
    StackOverflowError deserialising the lineage. Under `<workspace>/tmp/spark-checkpoints` (every
    executor reads the workspace on a cluster, docs/spark.md); this run's files are removed after it."""
    context = spark.sparkContext
    if context.getCheckpointDir() is not None:
        yield
        return
    context.setCheckpointDir(str(Path(workspace) / "tmp" / "spark-checkpoints"))
    try:
        yield
    finally:
        run_folder = context.getCheckpointDir()  # Spark adds a folder of its own per context
        if run_folder:
            shutil.rmtree(run_folder.removeprefix("file:"), ignore_errors=True)
